"""Order intake from external channels: validated whole, booked once,
routed to the right locations with the reason recorded."""

from __future__ import annotations

import pytest

from omniretail.catalog.models import Product
from omniretail.core.models import OutboxEvent
from omniretail.customers.models import Customer
from omniretail.inventory.models import Reservation, StockLevel
from omniretail.orders.models import Order
from omniretail.verify import verify_all
from tests.conftest import stock_up

pytestmark = pytest.mark.django_db

ADDRESS = {
    "name": "Léa Martin",
    "line1": "5 rue de la Paix",
    "postcode": "75002",
    "city": "Paris",
    "country": "FR",
}


def _post(client, token, body, key=None):
    headers = {"Authorization": f"Bearer {token}"}
    if key:
        headers["Idempotency-Key"] = key
    return client.post("/api/v1/orders", body, content_type="application/json", headers=headers)


def _order(external_id="M-1001", lines=None, **extra):
    body = {
        "external_id": external_id,
        "customer": {"email": "Lea.Martin@example.com", "first_name": "Léa", "last_name": "Martin"},
        "lines": lines or [{"sku": "MUG-GR", "quantity": 2}],
        "shipping_address": ADDRESS,
        "shipping_price": "4.90",
        "payment_status": "paid",
    }
    body.update(extra)
    return body


def test_a_marketplace_order_sent_three_times_is_one_order(client, shop, marketplace_key):
    stock_up(shop, {shop.mug: 5}, location=shop.warehouse)
    first = _post(client, marketplace_key, _order())
    assert first.status_code == 201, first.content
    again = _post(client, marketplace_key, _order())
    third = _post(client, marketplace_key, _order(), key="retry-3")
    assert (again.status_code, third.status_code) == (200, 200)
    assert again.json()["id"] == third.json()["id"] == first.json()["id"]
    assert again.json()["replayed"] is True
    assert Order.objects.count() == 1
    assert StockLevel.objects.get(sku=shop.mug, location=shop.warehouse).reserved == 2
    assert OutboxEvent.objects.filter(name="order.placed").count() == 1
    body = first.json()
    assert (body["status"], body["payment_status"], body["channel"]) == ("allocated", "paid", "mkt")
    # 2 x 12.50 + 4.90 shipping, 20 % included: 4.17 + 0.82
    assert (body["total_gross"], body["total_tax"], body["shipping"]) == ("29.90", "4.99", "4.90")
    assert body["lines"][0]["held"] == 2
    assert body["routing"][0]["rule"] == "single_location"
    assert Customer.objects.get().email == "Lea.Martin@example.com"


def test_the_web_ships_from_the_store_when_the_warehouse_is_short(client, shop, web_key):
    stock_up(shop, {shop.mug: 1, shop.candle: 5}, location=shop.warehouse)
    stock_up(shop, {shop.mug: 4})
    r = _post(
        client,
        web_key,
        _order("W-1", [{"sku": "MUG-GR", "quantity": 3}, {"sku": "CAN-FIG", "quantity": 1}]),
    )
    assert r.status_code == 201, r.content
    routing = r.json()["routing"][0]
    # the store keeps 1 for walk-ins: 3 of its 4 mugs may go
    assert routing["rule"] == "fewest_shipments"
    assert sorted((p["location"], p["sku"], p["quantity"]) for p in routing["plan"]) == [
        ("st-paris", "MUG-GR", 3),
        ("wh-main", "CAN-FIG", 1),
    ]
    assert "split over" in routing["reason"]
    assert verify_all()[0] == []


def test_bad_fields_are_all_named_and_nothing_changes(client, shop, web_key):
    r = _post(
        client,
        web_key,
        {
            "external_id": "",
            "lines": [{"sku": "NOPE", "quantity": 1}, {"sku": "MUG-GR", "quantity": 0}],
            "shipping_address": {"name": "X", "country": "France"},
            "payment_status": "maybe",
            "customer": {"email": "not-an-email"},
        },
    )
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["error"]["errors"]}
    assert fields == {
        "external_id",
        "lines[0].sku",
        "lines[1].quantity",
        "shipping_address.line1",
        "shipping_address.postcode",
        "shipping_address.city",
        "shipping_address.country",
        "payment_status",
        "customer.email",
    }
    assert Order.objects.count() == Customer.objects.count() == 0


def test_out_of_stock_refuses_unless_the_product_takes_backorders(client, shop, web_key):
    stock_up(shop, {shop.mug: 1}, location=shop.warehouse)
    r = _post(client, web_key, _order("W-2", [{"sku": "MUG-GR", "quantity": 3}]))
    assert r.status_code == 409
    assert r.json()["error"]["short"] == [{"sku": "MUG-GR", "requested": 2, "short": 2}]
    assert Order.objects.count() == 0
    assert StockLevel.objects.get(sku=shop.mug, location=shop.warehouse).reserved == 0

    Product.objects.filter(pk=shop.mug.product_id).update(stock_policy="backorder")
    r = _post(client, web_key, _order("W-2", [{"sku": "MUG-GR", "quantity": 3}]))
    assert r.status_code == 201, r.content
    line = r.json()["lines"][0]
    assert (line["held"], line["backordered"]) == (1, 2)
    assert r.json()["status"] == "confirmed"  # not allocated while 2 wait for stock
    assert Reservation.objects.filter(status="backordered").get().quantity == 2


def test_a_key_sends_orders_only_for_its_channel(client, shop, web_key, marketplace):
    r = _post(client, web_key, _order(channel="mkt"))
    assert r.status_code == 403
    assert r.json()["error"]["field"] == "channel"


def test_a_backordered_order_is_allocated_when_its_stock_arrives(
    client, shop, web_key, django_capture_on_commit_callbacks
):
    Product.objects.filter(pk=shop.mug.product_id).update(stock_policy="backorder")
    stock_up(shop, {shop.mug: 1}, location=shop.warehouse)
    r = _post(client, web_key, _order("W-9", [{"sku": "MUG-GR", "quantity": 3}]))
    assert r.json()["status"] == "confirmed"
    with django_capture_on_commit_callbacks(execute=True):
        stock_up(shop, {shop.mug: 5}, location=shop.warehouse)
    order = Order.objects.get(external_id="W-9")
    assert order.status == "allocated"
    assert order.activities.last().message == "confirmed → allocated: backordered stock arrived"
    assert StockLevel.objects.get(sku=shop.mug, location=shop.warehouse).reserved == 3
    assert verify_all()[0] == []


def test_an_order_costs_the_same_statements_for_one_line_or_four(client, shop, web_key):
    """No query per line: what a channel's order costs does not grow with its
    lines (the figure `bench/order_intake.py` reports)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    stock_up(shop, {shop.mug: 20, shop.candle: 20, shop.shirt_m: 20, shop.shirt_l: 20})
    skus = [shop.mug.sku, shop.candle.sku, shop.shirt_m.sku, shop.shirt_l.sku]
    warm = _post(client, web_key, _order("Q-0", [{"sku": skus[0], "quantity": 1}]))
    assert warm.status_code == 201, warm.content
    counts = []
    for n, lines in enumerate(([skus[1]], skus), start=1):
        with CaptureQueriesContext(connection) as captured:
            r = _post(client, web_key, _order(f"Q-{n}", [{"sku": s, "quantity": 1} for s in lines]))
        assert r.status_code == 201, r.content
        assert [line["held"] for line in r.json()["lines"]] == [1] * len(lines)
        counts.append(len(captured.captured_queries))
    assert counts[0] == counts[1], counts
