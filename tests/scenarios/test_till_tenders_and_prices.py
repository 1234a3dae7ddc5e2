"""A till that takes every tender and prices with the one engine: a weekend
promotion, a staff discount (and a manager's approval above the limit), a
split payment in cash and card, a gift card, points and store credit, and an
offline sale synced later — each booked to the right account."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from django.utils import timezone

from omniretail.accounting.models import JournalLine, Receipt
from omniretail.channels.pos.services import OfflineSale, SaleLine, Tender, pos_sale_record
from omniretail.core.access import SYSTEM, actor_for_user
from omniretail.core.errors import PermissionDenied, ValidationFailed
from omniretail.core.models import AuditLog, StaffMembership
from omniretail.customers.models import Customer
from omniretail.inventory.models import StockLevel
from omniretail.loyalty.domain import Reference
from omniretail.loyalty.models import EarningRule, LoyaltyAccount, LoyaltyProgram
from omniretail.loyalty.services import giftcard_issue, store_credit_issue
from omniretail.payments.models import CreditAccount, Payment
from omniretail.pricing.models import Promotion
from omniretail.verify import verify_all
from tests.conftest import Shop, stock_up


@pytest.fixture(autouse=True)
def _test_gateway(settings):
    settings.OMNI_GATEWAY = "test"
    settings.OMNI_CASHIER_MAX_DISCOUNT_PERCENT = "10"


@pytest.fixture
def stocked(shop: Shop) -> Shop:
    stock_up(shop, {shop.mug: 20, shop.candle: 20, shop.shirt_m: 10})
    return shop


def sell(shop: Shop, lines: list[SaleLine], tenders: list[Tender], **kw):
    return pos_sale_record(
        terminal=shop.terminal,
        client_uuid=kw.pop("client_uuid", uuid.uuid4()),
        lines=lines,
        tenders=tenders,
        actor=kw.pop("actor", SYSTEM),
        **kw,
    )


def booked(order_id: int) -> dict[str, Decimal]:
    """Debits minus credits per account code for the sale's journal entry."""
    result: dict[str, Decimal] = {}
    for line in JournalLine.objects.filter(
        entry__reference_type="order",
        entry__reference_id=str(order_id),
        entry__description__startswith="Sale",
    ).select_related("account"):
        result[line.account.code] = result.get(line.account.code, Decimal(0)) + (
            line.debit - line.credit
        )
    return result


def test_a_promotion_prices_the_sale_and_shows_on_the_receipt(stocked):
    promo = Promotion.objects.create(
        code="mugs-20", name="Mugs 20% off", kind="percent_off", value=Decimal("20")
    )
    promo.variants.add(stocked.mug)
    result = sell(stocked, [SaleLine(2, sku="MUG-GR")], [Tender("cash", Decimal("20.00"))])
    order = result.order
    # 2 × 12.50 = 25.00, 20 % off = 5.00 → 20.00 (VAT 20 % included: 3.33).
    assert (order.total_gross, order.total_tax, order.discount_total) == (
        Decimal("20.00"),
        Decimal("3.33"),
        Decimal("5.00"),
    )
    line = order.lines.get()
    assert (line.list_price, line.discount, line.gross) == (
        Decimal("12.50"),
        Decimal("5.00"),
        Decimal("20.00"),
    )
    assert line.discounts[0]["reason"]
    assert order.promotions[0]["code"] == "mugs-20"
    receipt_line = result.receipt.lines[0]
    assert (receipt_line["discount"], receipt_line["list_price"]) == ("5.00", "12.50")
    assert booked(order.pk) == {
        "1000": Decimal("20.00"),
        "4000": Decimal("-16.67"),
        "2100": Decimal("-3.33"),
    } | {k: v for k, v in booked(order.pk).items() if k in ("5000", "1300")}


def test_a_staff_discount_above_the_limit_needs_a_manager(stocked, django_user_model):
    # 15 % off a 12.50 mug: above the cashier's 10 %.
    line = SaleLine(1, sku="MUG-GR", discount_percent=Decimal("15"))
    with pytest.raises(PermissionDenied) as refused:
        sell(stocked, [line], [Tender("cash", Decimal("20"))])
    assert refused.value.field == "approved_by"
    assert not Receipt.objects.exists()
    manager = django_user_model.objects.create_user("mona", password="x")
    StaffMembership.objects.create(user=manager, store=stocked.store, role="store_manager")
    cashier = django_user_model.objects.create_user("carl", password="x")
    StaffMembership.objects.create(user=cashier, store=stocked.store, role="cashier")
    with pytest.raises(ValidationFailed) as no_reason:
        sell(
            stocked,
            [line],
            [Tender("cash", Decimal("20"))],
            discount_approved_by=manager.pk,
            actor=actor_for_user(cashier),
        )
    assert no_reason.value.field == "discount_reason"
    result = sell(
        stocked,
        [line],
        [Tender("cash", Decimal("20"))],
        discount_approved_by=manager.pk,
        discount_reason="scratched box",
        cashier_id=cashier.pk,
        actor=actor_for_user(cashier),
    )
    # 12.50 − 1.875 → the discount is 1.88, the line 10.62.
    assert result.order.total_gross == Decimal("10.62")
    assert result.order.cashier_label == "carl"
    log = AuditLog.objects.get(action="sale.discount")
    assert (log.reason, log.data["approved_by"]) == ("scratched box", "user:mona")


def test_within_the_limit_a_cashier_gives_an_order_discount_spread_over_lines(stocked):
    result = sell(
        stocked,
        [SaleLine(1, sku="MUG-GR"), SaleLine(1, sku="CAN-FIG")],
        [Tender("cash", Decimal("30"))],
        order_discount=Decimal("3.00"),  # of 30.50: under 10 %
    )
    lines = list(result.order.lines.order_by("line_no"))
    assert sum(ln.discount for ln in lines) == Decimal("3.00")
    assert result.order.total_gross == Decimal("27.50")


def test_split_cash_and_card_each_booked_to_its_account(stocked):
    result = sell(
        stocked,
        [SaleLine(1, sku="MUG-GR"), SaleLine(1, sku="CAN-FIG")],  # 30.50
        [Tender("card", Decimal("20.00"), token="tok_visa"), Tender("cash", Decimal("20.00"))],
    )
    assert result.change.amount == Decimal("9.50")
    card = Payment.objects.get(order=result.order, tender="card")
    assert (card.amount, card.status, card.card_last4) == (Decimal("20.00"), "captured", "4242")
    cash = Payment.objects.get(order=result.order, tender="cash")
    assert (cash.amount, cash.tendered, cash.change) == (
        Decimal("10.50"),
        Decimal("20.00"),
        Decimal("9.50"),
    )
    books = booked(result.order.pk)
    assert (books["1000"], books["1100"]) == (Decimal("10.50"), Decimal("20.00"))
    assert {p["tender"] for p in result.receipt.payments} == {"card", "cash"}


def test_a_declined_card_changes_nothing(stocked):
    with pytest.raises(Exception) as declined:
        sell(
            stocked,
            [SaleLine(1, sku="MUG-GR")],
            [Tender("card", Decimal("12.50"), token="tok_chargeDeclined")],
        )
    assert getattr(declined.value, "field", "") == "tenders[0].token"
    assert not Receipt.objects.exists()
    assert StockLevel.objects.get(sku=stocked.mug, location=stocked.floor).on_hand == 20


def test_gift_card_points_and_store_credit_pay_a_sale_and_earn_points(stocked):
    program = LoyaltyProgram.objects.create(
        code="club", name="Club", currency="EUR", point_value=Decimal("0.01")
    )
    EarningRule.objects.create(program=program, points_per_unit=Decimal("1"))
    anna = Customer.objects.create(first_name="Anna", email="anna@example.com")
    card, code = giftcard_issue(
        amount=Decimal("10.00"),
        currency="EUR",
        reference=Reference("promo", "gc-1"),
        actor=SYSTEM,
        sold=False,
        reason="welcome",
    )
    store_credit_issue(
        customer=anna,
        amount=Decimal("5.00"),
        currency="EUR",
        source="refund",
        reference=Reference("refund", "r-1"),
        actor=SYSTEM,
    )
    # First sale earns points: 12.50 gross is 10.42 net → 10 points.
    first = sell(
        stocked,
        [SaleLine(1, sku="MUG-GR")],
        [Tender("cash", Decimal("12.50"))],
        customer_id=anna.pk,
    )
    account = LoyaltyAccount.objects.get(customer=anna)
    assert account.balance == 10
    assert first.order.customer_id == anna.pk
    # Second sale: 30.50 paid 10.00 gift card + 5.00 store credit + 0.10 points + cash.
    second = sell(
        stocked,
        [SaleLine(1, sku="MUG-GR"), SaleLine(1, sku="CAN-FIG")],
        [
            Tender("gift_card", Decimal("10.00"), code=code),
            Tender("store_credit", Decimal("5.00")),
            Tender("loyalty", Decimal("0.10")),
            Tender("cash", Decimal("15.40")),
        ],
        customer_id=anna.pk,
    )
    card.refresh_from_db()
    assert card.balance == Decimal("0.00")
    books = booked(second.order.pk)
    assert (books["2300"], books["2310"], books["2320"], books["1000"]) == (
        Decimal("10.00"),
        Decimal("5.00"),
        Decimal("0.10"),
        Decimal("15.40"),
    )
    # Points on what was not paid with points: the net (10.42 mug at 20 % + 17.06
    # candle at 5.5 %) 27.48 × 30.40 / 30.50 = 27.39 → 27 points.
    assert second.order.total_net == Decimal("27.48")
    account.refresh_from_db()
    assert account.balance == 10 - 10 + 27
    problems, _ = verify_all()
    assert problems == []


def test_store_credit_or_points_need_the_customer(stocked):
    with pytest.raises(ValidationFailed) as err:
        sell(stocked, [SaleLine(1, sku="MUG-GR")], [Tender("store_credit", Decimal("12.50"))])
    assert err.value.field == "tenders[0].type"


def test_on_account_within_the_credit_limit(stocked):
    trade = Customer.objects.create(first_name="Trade", email="trade@example.com")
    CreditAccount.objects.create(customer=trade, currency="EUR", credit_limit=Decimal("30.00"))
    sell(
        stocked,
        [SaleLine(2, sku="MUG-GR")],
        [Tender("on_account", Decimal("25.00"))],
        customer_id=trade.pk,
    )
    with pytest.raises(ValidationFailed) as over:
        sell(
            stocked,
            [SaleLine(1, sku="MUG-GR")],
            [Tender("on_account", Decimal("12.50"))],
            customer_id=trade.pk,
        )
    assert over.value.field == "tenders[0].amount"
    assert "5.00" in over.value.message
    assert CreditAccount.objects.get(customer=trade).balance == Decimal("25.00")


def test_an_offline_sale_is_stored_once_even_below_zero_and_flagged(stocked):
    online = sell(stocked, [SaleLine(1, sku="MUG-GR")], [Tender("cash", Decimal("12.50"))])
    sold_at = timezone.now() - dt.timedelta(minutes=30)
    sale_id = uuid.uuid4()
    offline = OfflineSale(
        receipt_number=online.receipt.number + 1,
        previous_hash=online.receipt.hash,
        hash="a" * 64,
        sold_at=sold_at,
    )
    # 25 candles sold offline, 20 on the shelf.
    first = sell(
        stocked,
        [SaleLine(25, sku="CAN-FIG")],
        [Tender("cash", Decimal("450.00"))],
        client_uuid=sale_id,
        offline=offline,
    )
    again = sell(
        stocked,
        [SaleLine(25, sku="CAN-FIG")],
        [Tender("cash", Decimal("450.00"))],
        client_uuid=sale_id,
        offline=offline,
    )
    assert again.replayed
    assert again.order.pk == first.order.pk
    order = first.order
    assert order.placed_at == sold_at
    assert first.receipt.number == online.receipt.number + 1
    assert order.device_receipt["hash"] == "a" * 64
    assert any("sold offline" in f for f in order.review_flags)
    assert any("stock below zero" in f for f in order.review_flags)
    assert StockLevel.objects.get(sku=stocked.candle, location=stocked.floor).on_hand == -5
    # The next offline sale chains on the device's hash; a wrong one is flagged.
    broken = sell(
        stocked,
        [SaleLine(1, sku="MUG-GR")],
        [Tender("cash", Decimal("12.50"))],
        offline=OfflineSale(first.receipt.number + 1, "b" * 64, "c" * 64, timezone.now()),
    )
    assert any("chain" in f for f in broken.order.review_flags)
    chained = sell(
        stocked,
        [SaleLine(1, sku="MUG-GR")],
        [Tender("cash", Decimal("12.50"))],
        offline=OfflineSale(broken.receipt.number + 1, "c" * 64, "d" * 64, timezone.now()),
    )
    assert not any("chain" in f for f in chained.order.review_flags)


def test_an_offline_gift_card_sale_is_kept_when_the_card_ran_out_meanwhile(stocked):
    card, code = giftcard_issue(
        amount=Decimal("20.00"),
        currency="EUR",
        reference=Reference("promo", "gc-offline"),
        actor=SYSTEM,
        sold=False,
        reason="contest",
    )
    # Online, at another till: 15.00 of the card is spent.
    sell(stocked, [SaleLine(1, sku="MUG-GR")], [Tender("gift_card", Decimal("12.50"), code=code)])
    sell(
        stocked,
        [SaleLine(1, sku="MUG-GR")],
        [Tender("gift_card", Decimal("2.50"), code=code), Tender("cash", Decimal("10.00"))],
    )
    # Offline, earlier, the till took 12.50 on it: only 5.00 is left when it syncs.
    last = Receipt.objects.order_by("-number").first()
    result = sell(
        stocked,
        [SaleLine(1, sku="MUG-GR")],
        [Tender("gift_card", Decimal("12.50"), code=code)],
        offline=OfflineSale(last.number + 1, last.hash, "e" * 64, timezone.now()),
    )
    card.refresh_from_db()
    assert card.balance == Decimal("0.00")
    paid = {p.tender: p.amount for p in result.order.payments.all()}
    assert paid == {"gift_card": Decimal("5.00"), "offline_short": Decimal("7.50")}
    assert any("short by 7.50" in f for f in result.order.review_flags)
    assert booked(result.order.pk)["6400"] == Decimal("7.50")
    problems, _ = verify_all()
    assert problems == []
