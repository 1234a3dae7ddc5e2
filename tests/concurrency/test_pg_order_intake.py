"""Order intake under contention, on PostgreSQL (SQLite serialises writers, so
these only run with DATABASE_URL=postgres://...).

Promise 3 of ARCHITECTURE.md: every intake is idempotent. Twenty clients that
send the same order at the same instant — with one Idempotency-Key, or with
none but the same (channel, external id) — book exactly one order and hold
its stock once. Every worker thread has its own test client and database
connection, and closes the connection when done so the test database can be
flushed afterwards."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pytest
from django.db import connection
from django.db.models import F
from django.test import Client

from omniretail.core.apikeys import api_key_issue
from omniretail.core.models import IdempotencyKey, OutboxEvent
from omniretail.core.services import channel_create
from omniretail.customers.models import Customer
from omniretail.inventory.models import ChannelLocation, Reservation, StockLevel
from omniretail.orders.models import Order, OrderLine
from omniretail.verify import verify_all
from tests.conftest import stock_up

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

CLIENTS = 20
BODY = {
    "external_id": "M-RACE-1",
    "customer": {"email": "race@example.com", "first_name": "Rémi", "last_name": "Course"},
    "lines": [{"sku": "MUG-GR", "quantity": 2}, {"sku": "CAN-FIG", "quantity": 1}],
    "shipping_address": {
        "name": "Rémi Course",
        "line1": "1 quai du Port",
        "postcode": "13002",
        "city": "Marseille",
        "country": "FR",
    },
    "shipping_price": "4.90",
    "payment_status": "paid",
}


@pytest.fixture
def marketplace_key(shop) -> str:
    channel = channel_create(
        company=shop.company, code="mkt", name="Marketplace", kind="marketplace"
    )
    ChannelLocation.objects.create(channel=channel, location=shop.warehouse, priority=1)
    stock_up(shop, {shop.mug: 10, shop.candle: 10}, location=shop.warehouse)
    return api_key_issue(
        name="marketplace connector", channel=channel, scopes=["orders:write", "orders:read"]
    ).token


def send_all_at_once(token: str, idempotency_key: str | None) -> list[tuple[int, dict[str, Any]]]:
    """POST the same order from CLIENTS threads released together."""
    barrier = threading.Barrier(CLIENTS, timeout=30)
    results: list[tuple[int, dict[str, Any]]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    headers = {"Authorization": f"Bearer {token}"}
    if idempotency_key:
        headers["Idempotency-Key"] = idempotency_key

    def send() -> None:
        client = Client()
        try:
            barrier.wait()
            response = client.post(
                "/api/v1/orders", BODY, content_type="application/json", headers=headers
            )
            with lock:
                results.append((response.status_code, response.json()))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a client is stuck (deadlock?)"
    if errors:
        raise errors[0]
    return results


def assert_booked_once(shop, results: list[tuple[int, dict[str, Any]]]) -> None:
    assert len(results) == CLIENTS
    statuses = Counter(status for status, _ in results)
    assert statuses == {201: 1, 200: CLIENTS - 1}, [b for s, b in results if s not in (200, 201)]
    bodies = [{k: v for k, v in body.items() if k != "replayed"} for _, body in results]
    assert all(body == bodies[0] for body in bodies)
    first = next(body for status, body in results if status == 201)
    assert first["replayed"] is False
    assert all(body["replayed"] is True for status, body in results if status == 200)

    order = Order.objects.get()
    assert first["id"] == order.pk
    assert (first["status"], first["total_gross"]) == (
        "allocated",
        "47.90",
    )  # 2 x 12.50 + 18.00 + 4.90
    assert OrderLine.objects.count() == 2
    assert Customer.objects.count() == 1
    assert OutboxEvent.objects.filter(name="order.placed").count() == 1
    # One set of holds: one per line, for the lines' quantities.
    held = sorted(Reservation.objects.filter(status="active").values_list("sku__sku", "quantity"))
    assert held == [("CAN-FIG", 1), ("MUG-GR", 2)]
    levels = dict(
        StockLevel.objects.filter(location=shop.warehouse).values_list("sku__sku", "reserved")
    )
    assert levels == {"MUG-GR": 2, "CAN-FIG": 1}
    assert not StockLevel.objects.filter(reserved__gt=F("on_hand")).exists()
    assert verify_all()[0] == []


def test_twenty_clients_with_one_idempotency_key_book_one_order(shop, marketplace_key):
    results = send_all_at_once(marketplace_key, "retry-me-7f3a")
    assert_booked_once(shop, results)
    claim = IdempotencyKey.objects.get()
    assert (claim.key, claim.response_status) == ("retry-me-7f3a", 201)


def test_twenty_clients_with_one_external_id_and_no_key_book_one_order(shop, marketplace_key):
    results = send_all_at_once(marketplace_key, None)
    assert_booked_once(shop, results)
    assert IdempotencyKey.objects.count() == 0


def test_orders_naming_the_same_skus_in_opposite_orders_never_deadlock(shop, marketplace_key):
    stock_up(shop, {shop.mug: 100, shop.candle: 100, shop.shirt_m: 100}, location=shop.warehouse)
    skus = ["MUG-GR", "CAN-FIG", "LS-M"]
    threads_n, orders_each = 10, 4
    barrier = threading.Barrier(threads_n, timeout=30)
    statuses: Counter[int] = Counter()
    lock = threading.Lock()

    def send(index: int) -> None:
        client = Client(raise_request_exception=False)
        try:
            barrier.wait()
            for n in range(orders_each):
                names = skus if (index + n) % 2 else list(reversed(skus))
                body = {
                    **BODY,
                    "external_id": f"M-{index}-{n}",
                    "lines": [{"sku": sku, "quantity": 1} for sku in names],
                }
                response = client.post(
                    "/api/v1/orders",
                    body,
                    content_type="application/json",
                    headers={"Authorization": f"Bearer {marketplace_key}"},
                )
                with lock:
                    statuses[response.status_code] += 1
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(i,)) for i in range(threads_n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert statuses == {201: threads_n * orders_each}
    assert Order.objects.count() == threads_n * orders_each
    assert verify_all()[0] == []
