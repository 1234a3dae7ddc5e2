"""One customer, one balance, in every channel: Léa earns points at the Paris
till, spends them (and a gift card bought for her in the store) on the web
shop, and when she returns the shirt from the store sale the points it
earned go back. Every journal entry balances and `omni verify` is clean."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from omniretail.accounting.models import JournalLine
from omniretail.channels.pos.services import SaleLine, Tender, pos_sale_record
from omniretail.channels.shop.services import (
    CheckoutData,
    cart_create,
    cart_line_set,
    checkout_place,
)
from omniretail.core.access import SYSTEM
from omniretail.core.errors import ValidationFailed
from omniretail.customers.models import Customer
from omniretail.loyalty.domain import Reference
from omniretail.loyalty.models import EarningRule, GiftCard, LoyaltyAccount, LoyaltyProgram
from omniretail.loyalty.services import giftcard_issue
from omniretail.orders.returns import ReturnRequestLine, return_accept
from omniretail.payments.models import Payment
from omniretail.verify import verify_all
from tests.conftest import stock_up

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _gateway(settings):
    settings.OMNI_GATEWAY = "test"


def balance(customer) -> int:
    return LoyaltyAccount.objects.get(customer=customer).balance


def test_points_earned_in_store_are_spent_online_and_a_return_takes_them_back(web_shop):
    shop = web_shop.shop
    program = LoyaltyProgram.objects.create(
        code="club", name="Club", currency="EUR", point_value=Decimal("0.01")
    )
    EarningRule.objects.create(program=program, points_per_unit=Decimal("10"))
    lea = Customer.objects.create(first_name="Léa", email="lea@example.com")
    stock_up(shop, {shop.shirt_m: 2})

    # Saturday at the Paris till: a shirt (49.90, net 41.58) → 415 points.
    sale = pos_sale_record(
        terminal=shop.terminal,
        client_uuid=uuid.uuid4(),
        lines=[SaleLine(1, sku="LS-M")],
        tenders=[Tender("cash", Decimal("50"))],
        actor=SYSTEM,
        customer_id=lea.pk,
    ).order
    assert balance(lea) == 415
    # A friend buys her a 10.00 gift card (a promotional one here, for the test).
    card, code = giftcard_issue(
        amount=Decimal("10.00"),
        currency="EUR",
        reference=Reference("promo", "birthday"),
        actor=SYSTEM,
        sold=False,
        reason="birthday",
    )

    # Sunday online: two mugs (25.00) + standard delivery (4.90) = 29.90:
    # 4.00 in points (400 points), 10.00 on the gift card, 15.90 on the card.
    cart = cart_create(channel=web_shop.web, customer_id=lea.pk)
    cart_line_set(cart=cart, sku_id=shop.mug.pk, quantity=2)
    data = CheckoutData(
        email="lea@example.com",
        first_name="Léa",
        last_name="",
        fulfilment="ship",
        card_token="tok_visa",
        address={
            "name": "Léa",
            "line1": "5 rue de la Paix",
            "postcode": "75002",
            "city": "Paris",
            "country": "FR",
        },
        shipping_method="standard",
        points_amount=Decimal("4.00"),
        gift_card_code=code,
        gift_card_amount=Decimal("10.00"),
    )
    # Points belong to an account: a guest checkout may not spend them.
    with pytest.raises(ValidationFailed) as guest:
        checkout_place(cart=cart, data=data, customer_id=None)
    assert guest.value.field == "points_amount"
    order = checkout_place(cart=cart, data=data, customer_id=lea.pk)
    assert order.total_gross == Decimal("29.90")
    paid = {p.tender: p.amount for p in Payment.objects.filter(order=order)}
    assert paid == {
        "loyalty": Decimal("4.00"),
        "gift_card": Decimal("10.00"),
        "card": Decimal("15.90"),
    }
    assert GiftCard.objects.get(pk=card.pk).balance == Decimal("0.00")
    assert balance(lea) == 415 - 400
    # The web order's non-card tenders are booked: the liabilities go down.
    web_books = {
        (line.account.code, line.debit)
        for line in JournalLine.objects.filter(
            entry__reference_type="order", entry__reference_id=str(order.pk)
        ).select_related("account")
        if line.debit
    }
    assert {("2320", Decimal("4.00")), ("2300", Decimal("10.00"))} <= web_books

    # Monday: the shirt comes back to the Paris store: its 415 points go back,
    # but Léa spent 400 of them, so 15 are taken and 400 stay as a shortfall.
    return_accept(
        order=sale,
        lines=[ReturnRequestLine(sale.lines.get().pk, 1, reason="too small")],
        location=shop.floor,
        channel=shop.pos_channel,
        actor=SYSTEM,
    )
    assert balance(lea) == 0
    problems, _ = verify_all()
    assert problems == []
