"""A web order booked, paid and shipped through the real API and services,
to be brought back at the till (shared by the API and browser tests)."""

from __future__ import annotations

from decimal import Decimal

from django.test import Client

from omniretail.core.access import SYSTEM
from omniretail.core.apikeys import api_key_issue
from omniretail.core.models import Channel
from omniretail.core.services import channel_create
from omniretail.fulfilment.models import Shipment
from omniretail.fulfilment.shipping import (
    pickup_ready,
    shipment_pack,
    shipment_ship,
    shipments_create,
)
from omniretail.inventory.models import ChannelLocation
from omniretail.orders.models import Order
from omniretail.payments.models import Payment
from omniretail.payments.services import card_authorise
from tests.conftest import Shop, stock_up


def web_channel(shop: Shop) -> str:
    """A web shop selling from the warehouse; returns its API key."""
    web = channel_create(company=shop.company, code="web", name="Web shop", kind="web")
    ChannelLocation.objects.create(channel=web, location=shop.warehouse, priority=1)
    return api_key_issue(name="web shop", channel=web, scopes=["orders:write"]).token


def web_order_shipped(
    shop: Shop, key: str, *, external_id: str, lines: list[tuple[str, int]]
) -> tuple[Order, Payment]:
    """Booked through POST /api/v1/orders, paid by card (test gateway,
    captured) and shipped from the warehouse."""
    stock_up(shop, {shop.shirt_m: 5, shop.mug: 5, shop.candle: 5}, location=shop.warehouse)
    r = Client().post(
        "/api/v1/orders",
        {
            "external_id": external_id,
            "customer": {"email": "lea@example.com", "first_name": "Léa", "last_name": "Martin"},
            "lines": [{"sku": sku, "quantity": q} for sku, q in lines],
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
        headers={"Authorization": f"Bearer {key}"},
    )
    assert r.status_code == 201, r.content
    order = Order.objects.get(pk=r.json()["id"])
    payment = card_authorise(
        order_id=order.pk,
        amount=order.total_gross,
        token="tok_visa",
        actor=SYSTEM,
        idempotency_key=f"web-{external_id}",
        capture=True,
    )
    for parcel in shipments_create(order=order, actor=SYSTEM):
        shipment_pack(shipment=parcel, actor=SYSTEM)
        shipment_ship(shipment=parcel, carrier="La Poste", tracking_number="6A123", actor=SYSTEM)
    order.refresh_from_db()
    assert order.status == "fulfilled"
    assert payment.amount == order.total_gross != Decimal(0)
    return order, payment


def pickup_waiting(shop: Shop, key: str, *, external_id: str) -> tuple[Order, str, str]:
    """A web order for pick-up in Paris, picked and put behind the counter:
    (order, shipment number, the customer's collection code)."""
    ChannelLocation.objects.get_or_create(
        channel=Channel.objects.get(code="web"), location=shop.floor, defaults={"priority": 2}
    )
    stock_up(shop, {shop.candle: 4, shop.mug: 3})
    r = Client().post(
        "/api/v1/orders",
        {
            "external_id": external_id,
            "customer": {"email": "marc@example.com", "first_name": "Marc", "last_name": "Petit"},
            "lines": [{"sku": "CAN-FIG", "quantity": 2}, {"sku": "MUG-GR", "quantity": 1}],
            "fulfilment": "pickup",
            "pickup_store": shop.store.code,
            "payment_status": "paid",
        },
        content_type="application/json",
        headers={"Authorization": f"Bearer {key}"},
    )
    assert r.status_code == 201, r.content
    order = Order.objects.get(pk=r.json()["id"])
    [bag] = shipments_create(order=order, actor=SYSTEM)
    bag = pickup_ready(shipment=bag, actor=SYSTEM)
    return order, bag.number, Shipment.objects.get(pk=bag.pk).collection_code
