"""Gift cards are vouchers: sold at face value in any channel, issued as a
card when paid (no stock moves), booked as a liability (not revenue, no VAT)
and redeemed in any channel. A card bought online pays at the Paris till."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from omniretail.accounting.models import JournalLine
from omniretail.catalog.models import TaxClass
from omniretail.catalog.services import VariantSpec, product_create
from omniretail.channels.pos.services import SaleLine, Tender, pos_sale_record
from omniretail.channels.shop.services import (
    CheckoutData,
    cart_create,
    cart_line_set,
    checkout_place,
)
from omniretail.core.access import SYSTEM
from omniretail.inventory.models import StockMove
from omniretail.loyalty.models import GiftCard
from omniretail.orders.models import Order
from omniretail.verify import verify_all
from tests.conftest import stock_up

pytestmark = pytest.mark.django_db

ADDRESS = {
    "name": "Paul",
    "line1": "1 rue de Rivoli",
    "postcode": "75001",
    "city": "Paris",
    "country": "FR",
}


@pytest.fixture(autouse=True)
def _gateway(settings):
    settings.OMNI_GATEWAY = "test"


@pytest.fixture
def voucher(db):
    exempt, _ = TaxClass.objects.get_or_create(
        code="exempt", defaults={"name": "Outside the scope of VAT", "rate": Decimal("0")}
    )
    product = product_create(
        code="gift-card",
        name="Gift card",
        tax_class=exempt,
        variants=[VariantSpec("GC-25", "25.00", Decimal("25.00"))],
        kind="gift_card",
    )
    return product.variants.get()


def booked(order: Order) -> dict[str, Decimal]:
    result: dict[str, Decimal] = {}
    for line in JournalLine.objects.filter(
        entry__reference_type="order", entry__reference_id=str(order.pk)
    ).select_related("account"):
        result[line.account.code] = result.get(line.account.code, Decimal(0)) + (
            line.debit - line.credit
        )
    return result


def test_a_gift_card_bought_online_pays_at_the_till(
    web_shop, voucher, mailoutbox, django_capture_on_commit_callbacks
):
    shop = web_shop.shop
    stock_up(shop, {shop.mug: 4})
    cart = cart_create(channel=web_shop.web)
    cart_line_set(cart=cart, sku_id=voucher.pk, quantity=1)
    with django_capture_on_commit_callbacks(execute=True):
        order = checkout_place(
            cart=cart,
            data=CheckoutData(
                email="paul@example.com",
                first_name="Paul",
                last_name="",
                fulfilment="ship",
                card_token="tok_visa",
                address=ADDRESS,
                shipping_method="standard",
            ),
        )
    # 25.00 card + 4.90 delivery; the card is delivered at once, by e-mail.
    assert order.total_gross == Decimal("29.90")
    line = order.lines.get()
    assert line.quantity_fulfilled == 1
    assert not StockMove.objects.filter(sku=voucher).exists()
    card = GiftCard.objects.get()
    assert (card.balance, card.initial_value) == (Decimal("25.00"), Decimal("25.00"))
    mail = next(m for m in mailoutbox if "gift card" in m.subject.lower())
    code = next(ln.split("—")[0].strip() for ln in mail.body.splitlines() if "—" in ln)
    assert code.replace("-", "").replace(" ", "").endswith(card.last4)
    # The invoice books the card as a liability, not as sales, with no VAT on it.
    books = booked(order)
    assert books.get("2300") == Decimal("-25.00")

    # At the Paris till, Paul pays two mugs (25.00) with it.
    sale = pos_sale_record(
        terminal=shop.terminal,
        client_uuid=uuid.uuid4(),
        lines=[SaleLine(2, sku="MUG-GR")],
        tenders=[Tender("gift_card", Decimal("25.00"), code=code)],
        actor=SYSTEM,
    )
    card.refresh_from_db()
    assert card.balance == Decimal("0.00")
    assert booked(sale.order)["2300"] == Decimal("25.00")
    problems, _ = verify_all()
    assert problems == []


def test_a_gift_card_sold_at_the_till_is_issued_and_booked_as_a_liability(shop, voucher):
    result = pos_sale_record(
        terminal=shop.terminal,
        client_uuid=uuid.uuid4(),
        lines=[SaleLine(2, sku="GC-25")],
        tenders=[Tender("cash", Decimal("50.00"))],
        actor=SYSTEM,
    )
    assert len(result.gift_cards) == 2
    assert {c["amount"] for c in result.gift_cards} == {"25.00"}
    assert GiftCard.objects.count() == 2
    assert not StockMove.objects.filter(sku=voucher).exists()
    books = booked(result.order)
    assert (books["1000"], books["2300"]) == (Decimal("50.00"), Decimal("-50.00"))
    assert "4000" not in books
    assert verify_all()[0] == []
