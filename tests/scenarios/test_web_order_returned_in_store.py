"""A web order returned in a store: Léa orders a shirt and two mugs online,
the warehouse ships them, and she brings the shirt and one mug back to the
Paris store. The goods go back on the Paris shelf, she takes store credit,
shipping stays paid, and every promise still holds."""

from __future__ import annotations

from decimal import Decimal

import pytest

from omniretail.channels.notifications import on_refund_requested
from omniretail.core.access import SYSTEM, Actor
from omniretail.core.apikeys import api_key_issue
from omniretail.core.errors import ValidationFailed
from omniretail.core.models import OutboxEvent
from omniretail.core.services import channel_create
from omniretail.inventory.models import ChannelLocation, Reservation, StockLevel, StockMove
from omniretail.inventory.services import reservations_consume
from omniretail.orders.models import Order, OrderActivity
from omniretail.orders.returns import ReturnRequestLine, return_accept
from omniretail.orders.services import LINE_DEMAND, order_lines_fulfilled
from omniretail.verify import verify_all
from tests.conftest import stock_up

pytestmark = pytest.mark.django_db


def _level(variant, location) -> int:
    return StockLevel.objects.get(sku=variant, location=location).on_hand


def test_a_web_order_returned_at_the_paris_counter(client, shop, mailoutbox):
    # The web shop sells from the warehouse, then from Paris.
    web = channel_create(company=shop.company, code="web", name="Web shop", kind="web")
    ChannelLocation.objects.create(channel=web, location=shop.warehouse, priority=1)
    ChannelLocation.objects.create(channel=web, location=shop.floor, priority=2, safety_buffer=1)
    web_key = api_key_issue(name="web shop", channel=web, scopes=["orders:write"]).token
    stock_up(shop, {shop.shirt_m: 4, shop.mug: 6}, location=shop.warehouse)
    stock_up(shop, {shop.shirt_m: 2})

    # Monday evening — Léa orders online: a shirt in M and two mugs, 4.90 shipping, paid.
    r = client.post(
        "/api/v1/orders",
        {
            "external_id": "W-5001",
            "customer": {"email": "lea@example.com", "first_name": "Léa", "last_name": "Martin"},
            "lines": [{"sku": "LS-M", "quantity": 1}, {"sku": "MUG-GR", "quantity": 2}],
            "shipping_address": {
                "name": "Léa Martin",
                "line1": "5 rue de la Paix",
                "postcode": "75002",
                "city": "Paris",
                "country": "FR",
            },
            "shipping_price": "4.90",
            "payment_status": "paid",
        },
        content_type="application/json",
        headers={"Authorization": f"Bearer {web_key}"},
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert (body["status"], body["total_gross"]) == ("allocated", "79.80")  # 49.90 + 25 + 4.90
    order = Order.objects.get(pk=body["id"])
    shirt, mugs = order.lines.get(sku=shop.shirt_m), order.lines.get(sku=shop.mug)

    # Tuesday — the warehouse ships the parcel: its holds leave for the customer.
    holds = Reservation.objects.filter(
        demand_type=LINE_DEMAND, demand_id__in=[str(shirt.pk), str(mugs.pk)], status="active"
    )
    assert sorted(holds.values_list("location__code", "quantity")) == [
        ("wh-main", 1),
        ("wh-main", 2),
    ]
    assert (
        reservations_consume(
            reservation_ids=list(holds.values_list("pk", flat=True)),
            actor=SYSTEM,
            reference_type="order",
            reference_id=str(order.pk),
        )
        == 3
    )
    order = order_lines_fulfilled(
        order=order, quantities={shirt.pk: 1, mugs.pk: 2}, actor=SYSTEM, reason="shipped"
    )
    assert order.status == "fulfilled"
    assert (_level(shop.shirt_m, shop.warehouse), _level(shop.mug, shop.warehouse)) == (3, 4)

    # Saturday — Léa brings the shirt (too small) and one mug back to the Paris store.
    cashier = Actor(label="user:amelie", roles={"cashier": frozenset({shop.store.pk})})
    ret = return_accept(
        order=order,
        lines=[
            ReturnRequestLine(shirt.pk, 1, "restock", "too small"),
            ReturnRequestLine(mugs.pk, 1, "restock", "one is enough"),
        ],
        location=shop.floor,
        channel=shop.pos_channel,
        actor=cashier,
        refund_method="store_credit",
        reason="returned in store",
    )

    # The goods are back on the Paris shelf; the warehouse is untouched.
    assert (_level(shop.shirt_m, shop.floor), _level(shop.mug, shop.floor)) == (3, 1)
    assert (_level(shop.shirt_m, shop.warehouse), _level(shop.mug, shop.warehouse)) == (3, 4)
    assert sorted(
        StockMove.objects.filter(reference_type="return", reference_id=ret.number).values_list(
            "sku__sku", "from_location__code", "to_location__code", "quantity"
        )
    ) == [
        ("LS-M", "virtual-customer", "st-paris", 1),
        ("MUG-GR", "virtual-customer", "st-paris", 1),
    ]

    # The refund: the goods only (49.90 + 12.50), never the 4.90 shipping, as store credit.
    assert (ret.number, ret.refund_amount, ret.store_id, ret.channel_id) == (
        "RET-000001",
        Decimal("62.40"),
        shop.store.pk,
        shop.pos_channel.pk,
    )
    assert [(rl.order_line_id, rl.refund_amount) for rl in ret.lines.order_by("pk")] == [
        (shirt.pk, Decimal("49.90")),
        (mugs.pk, Decimal("12.50")),
    ]
    refund = OutboxEvent.objects.get(name="refund.requested")
    assert _without_who(refund.payload) == {
        "order_id": order.pk,
        "amount": "62.40",
        "currency": "EUR",
        "reason": "return RET-000001: returned in store",
        "method": "store_credit",
        "return_id": ret.pk,
    }
    shirt.refresh_from_db()
    mugs.refresh_from_db()
    assert (shirt.quantity_returned, mugs.quantity_returned) == (1, 1)
    order.refresh_from_db()
    assert order.status == "fulfilled"  # the order stays as it was; its lines say what came back

    # The timeline tells the story, and Léa gets her e-mail.
    assert list(
        OrderActivity.objects.filter(order=order, kind="return").values_list("message", flat=True)
    ) == ["RET-000001: 2 item(s) back at Paris floor; 62.40 EUR (store credit): returned in store"]
    on_refund_requested(refund)
    assert len(mailoutbox) == 1
    assert mailoutbox[0].subject == "Acme Home & Apparel: your refund of 62.40 EUR for order W-5001"
    assert "62.40 EUR is added to your store credit" in mailoutbox[0].body

    # The shirt cannot come back twice.
    with pytest.raises(ValidationFailed) as again:
        return_accept(
            order=order,
            lines=[ReturnRequestLine(shirt.pk, 1)],
            location=shop.floor,
            channel=shop.pos_channel,
            actor=cashier,
        )
    assert again.value.field == "lines[0].quantity"
    assert "0 can still be returned (1 handed over or shipped, 1 returned already)" in (
        again.value.message
    )

    problems, _ = verify_all()
    assert problems == []


def _without_who(payload: dict) -> dict:
    """The refund request without who asked for it and where (not the point here)."""
    who = ("requested_by_user_id", "requested_by_key", "terminal_id")
    who += ("approved_by_user_id", "at_store_id")
    return {k: v for k, v in payload.items() if k not in who}
