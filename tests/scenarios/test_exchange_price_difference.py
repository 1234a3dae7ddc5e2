"""Exchanges with a price difference at the Paris till: one customer swaps a
shirt for a bigger size and adds a candle (she pays the difference in cash),
another swaps a shirt for a mug (the store refunds the difference as store
credit). Stock, cash and numbering add up at the end of the day."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from omniretail.accounting.models import Receipt
from omniretail.channels.exchanges import exchange_at_till
from omniretail.channels.pos.services import Tender
from omniretail.core.access import Actor
from omniretail.core.models import OutboxEvent
from omniretail.customers.models import Customer
from omniretail.inventory.models import StockLevel
from omniretail.orders.models import Order, Return
from omniretail.orders.returns import ReturnRequestLine, exchange_quote
from omniretail.payments.models import Payment
from omniretail.verify import verify_all
from tests.conftest import stock_up

pytestmark = pytest.mark.django_db


def _sell(client, shop, lines, cash, customer_id=None):
    r = client.post(
        "/api/v1/pos/sales",
        {
            "client_uuid": str(uuid.uuid4()),
            "lines": lines,
            "tenders": [{"type": "cash", "amount": cash}],
            "customer_id": customer_id,
        },
        content_type="application/json",
        headers={"Authorization": f"Bearer {shop.terminal_token}"},
    )
    assert r.status_code == 201, r.content
    return Order.objects.get(pk=r.json()["order_id"])


def _levels(shop) -> tuple[int, ...]:
    return tuple(
        StockLevel.objects.get(sku=v, location=shop.floor).on_hand
        for v in (shop.shirt_m, shop.shirt_l, shop.mug, shop.candle)
    )


def test_exchanges_with_a_difference_either_way(client, shop):
    stock_up(shop, {shop.shirt_m: 4, shop.shirt_l: 2, shop.mug: 6, shop.candle: 2})
    cashier = Actor(label="user:amelie", roles={"cashier": frozenset({shop.store.pk})})

    # 10:00 — Claire buys a shirt in M; 11:30 — Marc buys a shirt in M and a mug.
    claire = _sell(client, shop, [{"sku": "LS-M", "quantity": 1}], "50")
    # Marc is a known customer (store credit goes on his account).
    marc_id = Customer.objects.create(first_name="Marc", email="marc@example.com").pk
    marc = _sell(
        client,
        shop,
        [{"sku": "LS-M", "quantity": 1}, {"sku": "MUG-GR", "quantity": 1}],
        "70",
        customer_id=marc_id,
    )
    assert (claire.total_gross, marc.total_gross) == (Decimal("49.90"), Decimal("62.40"))
    assert _levels(shop) == (2, 2, 5, 2)

    # 15:00 — Claire's shirt is too small: she takes the L and a fig candle.
    claire_shirt = [ReturnRequestLine(claire.lines.get().pk, 1, reason="too small")]
    quote = exchange_quote(
        order=claire,
        return_lines=claire_shirt,
        replacement_lines=[(shop.shirt_l.pk, 1), (shop.candle.pk, 1)],
    )
    assert (str(quote.refund_total), str(quote.replacement_total), str(quote.customer_pays)) == (
        "49.90 EUR",
        "67.90 EUR",
        "18.00 EUR",
    )
    first = exchange_at_till(
        terminal=shop.terminal,
        order=claire,
        return_lines=claire_shirt,
        replacement_lines=[(shop.shirt_l.pk, 1), (shop.candle.pk, 1)],
        tenders=[Tender("cash", Decimal("20"))],
        actor=cashier,
        client_uuid=uuid.uuid4(),
    )
    assert (str(first.amount_due), str(first.change)) == ("18.00 EUR", "2.00 EUR")
    assert first.returned.number == "RET-000001"

    # 16:20 — Marc would rather have a second mug than the shirt: the store owes him 37.40.
    second = exchange_at_till(
        terminal=shop.terminal,
        order=marc,
        return_lines=[ReturnRequestLine(marc.lines.get(sku=shop.shirt_m).pk, 1)],
        replacement_lines=[(shop.mug.pk, 1)],
        tenders=[],
        actor=cashier,
        client_uuid=uuid.uuid4(),
        refund_method="store_credit",
    )
    assert (str(second.amount_due), str(second.quote.store_refunds)) == ("0.00 EUR", "37.40 EUR")
    assert second.returned.number == "RET-000002"

    # Stock: both Ms back on the shelf; the L, the candle and a mug went out.
    assert _levels(shop) == (4, 1, 4, 1)

    # Money: Marc's 37.40 is requested as store credit on his original order; Claire owes nothing.
    refunds = [e.payload for e in OutboxEvent.objects.filter(name="refund.requested")]
    assert [(p["order_id"], p["amount"], p["method"]) for p in refunds] == [
        (marc.pk, "37.40", "store_credit")
    ]
    # Cash in the drawer: the two sales and Claire's difference.
    cash = sum(p.amount + p.rounding for p in Payment.objects.filter(tender="cash"))
    assert cash == Decimal("49.90") + Decimal("62.40") + Decimal("18.00")

    # Each exchange is a return (refunded as goods) plus a replacement carry-out order.
    assert list(Return.objects.order_by("number").values_list("number", "refund_method")) == [
        ("RET-000001", "exchange"),
        ("RET-000002", "exchange"),
    ]
    replacements = Order.objects.filter(external_id__startswith="exchange-").order_by("pk")
    assert [(o.external_id, o.total_gross, o.customer_id) for o in replacements] == [
        ("exchange-RET-000001", Decimal("67.90"), None),
        ("exchange-RET-000002", Decimal("12.50"), marc_id),
    ]
    # Receipts: the two sales, then each replacement as a till sale of its own.
    assert list(Receipt.objects.order_by("number").values_list("full_number", "order_id")) == [
        ("R-PT1-000001", claire.pk),
        ("R-PT1-000002", marc.pk),
        ("R-PT1-000003", replacements[0].pk),
        ("R-PT1-000004", replacements[1].pk),
    ]

    problems, _ = verify_all()
    assert problems == []
