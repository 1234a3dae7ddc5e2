"""Refunds carried out with the return that asks for them: back on the
tenders the sale was paid with (card through the gateway, cash from the
drawer, the gift card's own balance), or as store credit; a cashier above the
refund limit needs a manager; the points the goods earned go back; the
receipt gets a credit note and the books balance."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from omniretail.accounting.models import CreditNote, JournalLine
from omniretail.channels.pos.services import SaleLine, Tender, pos_sale_record
from omniretail.core.access import SYSTEM, actor_for_user
from omniretail.core.errors import PermissionDenied
from omniretail.core.models import StaffMembership
from omniretail.customers.models import Customer
from omniretail.loyalty.domain import Reference
from omniretail.loyalty.models import (
    EarningRule,
    LoyaltyAccount,
    LoyaltyProgram,
    StoreCreditAccount,
)
from omniretail.loyalty.services import giftcard_issue
from omniretail.orders.returns import ReturnRequestLine, return_accept
from omniretail.payments.models import DrawerSession, Payment, Refund
from omniretail.verify import verify_all
from tests.conftest import Shop, stock_up


@pytest.fixture(autouse=True)
def _limits(settings):
    settings.OMNI_GATEWAY = "test"
    settings.OMNI_CASHIER_REFUND_LIMIT = "50.00"


@pytest.fixture
def stocked(shop: Shop) -> Shop:
    stock_up(shop, {shop.shirt_m: 5, shop.mug: 10, shop.candle: 5})
    return shop


@pytest.fixture
def lea(db) -> Customer:
    return Customer.objects.create(first_name="Léa", email="lea@example.com")


def sell(shop, lines, tenders, customer=None):
    return pos_sale_record(
        terminal=shop.terminal,
        client_uuid=uuid.uuid4(),
        lines=lines,
        tenders=tenders,
        actor=SYSTEM,
        customer_id=customer.pk if customer else None,
    ).order


def give_back(shop, order, variant, quantity, actor=SYSTEM, method="original", approver=None):
    return return_accept(
        order=order,
        lines=[ReturnRequestLine(order.lines.get(sku=variant).pk, quantity, reason="changed mind")],
        location=shop.floor,
        channel=shop.pos_channel,
        actor=actor,
        refund_method=method,
        approved_by_user_id=approver.pk if approver else None,
    )


def refund_entry(order) -> dict[str, Decimal]:
    result: dict[str, Decimal] = {}
    for line in JournalLine.objects.filter(
        entry__reference_type="refund", entry__description__contains=f"#{order.pk}"
    ).select_related("account"):
        code = line.account.code
        result[code] = result.get(code, Decimal(0)) + line.debit - line.credit
    return result


def test_a_split_sale_is_refunded_on_its_card_and_in_cash(stocked, lea):
    program = LoyaltyProgram.objects.create(
        code="club", name="Club", currency="EUR", point_value=Decimal("0.01")
    )
    EarningRule.objects.create(program=program, points_per_unit=Decimal("1"))
    # Shirt 49.90 + mug 12.50 = 62.40: 40.00 on the card, 22.40 in cash.
    sale = sell(
        stocked,
        [SaleLine(1, sku="LS-M"), SaleLine(1, sku="MUG-GR")],
        [Tender("card", Decimal("40.00"), token="tok_visa"), Tender("cash", Decimal("22.40"))],
        customer=lea,
    )
    assert LoyaltyAccount.objects.get(customer=lea).balance == 52  # 52.00 net

    # The shirt comes back: 49.90, split like the payment (40.00 : 22.40).
    ret = give_back(stocked, sale, stocked.shirt_m, 1)
    refunds = {r.tender: r for r in Refund.objects.filter(payment__order=sale)}
    assert (refunds["card"].amount, refunds["card"].status) == (Decimal("31.99"), "succeeded")
    assert (refunds["cash"].amount, refunds["cash"].status) == (Decimal("17.91"), "succeeded")
    assert refunds["cash"].drawer_session == DrawerSession.objects.get(status="open")
    assert Payment.objects.get(order=sale, tender="card").refunded_amount == Decimal("31.99")
    # The receipt gets a credit note for the shirt; the books reverse it.
    note = CreditNote.objects.get(receipt__order=sale)
    assert (note.total_gross, note.total_tax) == (Decimal("49.90"), Decimal("8.32"))
    assert refund_entry(sale) == {
        "4100": Decimal("41.58"),
        "2100": Decimal("8.32"),
        "1100": Decimal("-31.99"),
        "1000": Decimal("-17.91"),
    }
    # 49.90 of 62.40 refunded: 52 × 49.90 / 62.40 = 41.58 → 42 points go back.
    assert LoyaltyAccount.objects.get(customer=lea).balance == 52 - 42
    assert ret.refund_amount == Decimal("49.90")
    problems, _ = verify_all()
    assert problems == []


def test_a_cashier_above_the_refund_limit_needs_a_manager(stocked, django_user_model):
    cashier = django_user_model.objects.create_user("carl", password="x")
    StaffMembership.objects.create(user=cashier, store=stocked.store, role="cashier")
    manager = django_user_model.objects.create_user("mona", password="x")
    StaffMembership.objects.create(user=manager, store=stocked.store, role="store_manager")
    sale = sell(stocked, [SaleLine(2, sku="LS-M")], [Tender("cash", Decimal("100"))])
    with pytest.raises(PermissionDenied) as refused:
        give_back(stocked, sale, stocked.shirt_m, 2, actor=actor_for_user(cashier))
    assert refused.value.field == "approved_by"
    assert not Refund.objects.exists()
    assert sale.returns.count() == 0  # the return rolled back with the refund
    give_back(stocked, sale, stocked.shirt_m, 2, actor=actor_for_user(cashier), approver=manager)
    refund = Refund.objects.get()
    assert (refund.amount, refund.approved_by_id) == (Decimal("99.80"), manager.pk)


def test_a_gift_card_payment_goes_back_on_the_card(stocked):
    card, code = giftcard_issue(
        amount=Decimal("30.00"),
        currency="EUR",
        reference=Reference("promo", "gc"),
        actor=SYSTEM,
        sold=False,
        reason="contest",
    )
    sale = sell(
        stocked, [SaleLine(2, sku="MUG-GR")], [Tender("gift_card", Decimal("25"), code=code)]
    )
    card.refresh_from_db()
    assert card.balance == Decimal("5.00")
    give_back(stocked, sale, stocked.mug, 1)
    card.refresh_from_db()
    assert card.balance == Decimal("17.50")
    assert Refund.objects.get().status == "succeeded"
    assert refund_entry(sale)["2300"] == Decimal("-12.50")
    assert verify_all()[0] == []


def test_store_credit_goes_on_the_customers_account(stocked, lea):
    sale = sell(stocked, [SaleLine(1, sku="CAN-FIG")], [Tender("cash", Decimal("20"))], lea)
    give_back(stocked, sale, stocked.candle, 1, method="store_credit")
    assert StoreCreditAccount.objects.get(customer=lea).balance == Decimal("18.00")
    assert not Refund.objects.exists()  # no tender gave money back
    assert refund_entry(sale)["2310"] == Decimal("-18.00")
    assert verify_all()[0] == []
