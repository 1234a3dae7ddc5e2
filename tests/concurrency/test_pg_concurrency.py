"""Many tills and retries at once, on PostgreSQL (SQLite serialises writers, so
these only run with DATABASE_URL=postgres://...).

Each thread has its own database connection (Django's are per thread) and
closes it when done, so the test database can be flushed afterwards."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, transaction
from django.test import Client

from omniretail.accounting.models import Receipt
from omniretail.core.fiscal import ChainLink, chain_verify
from omniretail.core.models import IdempotencyKey, NumberSeries
from omniretail.core.series import Numbered, series_get_or_create, series_take
from omniretail.inventory.models import StockLevel, StockMove
from omniretail.orders.models import Order
from omniretail.verify import verify_all
from tests.conftest import stock_up

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def in_threads(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run work(0..count-1) in `count` threads released together; re-raise any error."""
    barrier = threading.Barrier(count, timeout=30)
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait()
            results[index] = work(index)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread is stuck (deadlock?)"
    if errors:
        raise errors[0]
    return results


def post_sale(client: Client, token: str, body: dict, key: str | None = None):
    headers = {"Authorization": f"Bearer {token}"}
    if key:
        headers["Idempotency-Key"] = key
    return client.post("/api/v1/pos/sales", body, content_type="application/json", headers=headers)


def sale_body(lines: list[dict], cash: str) -> dict:
    return {
        "client_uuid": str(uuid.uuid4()),
        "lines": lines,
        "tenders": [{"type": "cash", "amount": cash}],
    }


THREADS, SALES_PER_THREAD = 8, 25


def test_eight_threads_selling_on_one_terminal_get_contiguous_chained_receipts(shop):
    stock_up(shop, {shop.shirt_m: 200, shop.mug: 200, shop.candle: 100})
    # The same two SKUs in both orders: the stock rows are locked in pk order, so no deadlock.
    baskets = [
        ([{"sku": "LS-M", "quantity": 1}, {"sku": "MUG-GR", "quantity": 1}], "70.00"),
        ([{"sku": "MUG-GR", "quantity": 1}, {"sku": "LS-M", "quantity": 1}], "70.00"),
        ([{"sku": "CAN-FIG", "quantity": 1}], "20.00"),
    ]
    underpaid = ([{"sku": "MUG-GR", "quantity": 1}], "1.00")

    def till(_thread: int) -> Counter:
        client, statuses = Client(), Counter()
        for i in range(SALES_PER_THREAD):
            lines, cash = baskets[i % 3]
            r = post_sale(client, shop.terminal_token, sale_body(lines, cash))
            statuses[r.status_code] += 1
            if i % 5 == 0:  # a refused sale in between: it must not take a number
                r = post_sale(client, shop.terminal_token, sale_body(*underpaid))
                assert r.json()["error"]["field"] == "tenders"
                statuses[r.status_code] += 1
        return statuses

    statuses = sum(in_threads(THREADS, till), Counter())

    sold = THREADS * SALES_PER_THREAD
    assert statuses == {201: sold, 422: THREADS * 5}
    assert Order.objects.count() == sold

    receipts = list(Receipt.objects.filter(series=shop.terminal.receipt_series))
    assert sorted(r.number for r in receipts) == list(range(1, sold + 1))
    assert len({r.full_number for r in receipts}) == sold
    series = NumberSeries.objects.get(pk=shop.terminal.receipt_series_id)
    assert series.next_number == sold + 1
    last = max(receipts, key=lambda r: r.number)
    assert (last.full_number, series.head_hash) == (f"R-PT1-{sold:06d}", last.hash)

    # 17 two-item baskets (9 + 8) and 8 candles per thread.
    floor = {
        level.sku_id: level.on_hand for level in StockLevel.objects.filter(location=shop.floor)
    }
    assert floor == {
        shop.shirt_m.pk: 200 - 17 * THREADS,
        shop.mug.pk: 200 - 17 * THREADS,
        shop.candle.pk: 100 - 8 * THREADS,
    }
    for sku, on_hand in floor.items():
        moves_in = sum(
            StockMove.objects.filter(sku_id=sku, to_location=shop.floor).values_list(
                "quantity", flat=True
            )
        )
        moves_out = sum(
            StockMove.objects.filter(sku_id=sku, from_location=shop.floor).values_list(
                "quantity", flat=True
            )
        )
        assert on_hand == moves_in - moves_out

    problems, _ = verify_all()
    assert problems == []


def test_sixteen_retries_with_one_idempotency_key_make_one_sale(shop):
    stock_up(shop, {shop.mug: 10})
    body = sale_body([{"sku": "MUG-GR", "quantity": 2}], "30.00")
    key = str(uuid.uuid4())

    def retry(_thread: int) -> tuple[int, dict]:
        r = post_sale(Client(), shop.terminal_token, body, key)
        return r.status_code, r.json()

    responses = in_threads(16, retry)

    assert sorted(status for status, _ in responses) == [200] * 15 + [201]
    (first,) = [payload for status, payload in responses if status == 201]
    assert first["replayed"] is False
    assert first["receipt_number"] == "R-PT1-000001"
    for status, payload in responses:
        assert payload["replayed"] is (status == 200)
        assert {**payload, "replayed": False} == first
    assert Order.objects.count() == 1
    assert Receipt.objects.count() == 1
    assert IdempotencyKey.objects.get().key == key
    assert StockLevel.objects.get(sku=shop.mug, location=shop.floor).on_hand == 8
    problems, _ = verify_all()
    assert problems == []


class Rollback(Exception):
    pass


def test_series_take_from_sixteen_threads_with_rollbacks_stays_contiguous(db):
    series = series_get_or_create(code="concurrent", prefix="C-")
    takes_per_thread = 20
    committed: list[tuple[Numbered, dict]] = []
    lock = threading.Lock()

    def fields_for(number: int, full_number: str, previous_hash: str) -> dict:
        return {"number": number, "full_number": full_number}

    def writer(thread: int) -> int:
        rolled_back = 0
        for i in range(takes_per_thread):
            try:
                with transaction.atomic():
                    numbered = series_take(series_id=series.pk, fields_for=fields_for)
                    if (thread * takes_per_thread + i) % 10 == 0:
                        raise Rollback  # 10 %: the document failed after taking its number
                fields = fields_for(numbered.number, numbered.full_number, numbered.previous_hash)
                with lock:
                    committed.append((numbered, fields))
            except Rollback:
                rolled_back += 1
        return rolled_back

    rolled_back = sum(in_threads(16, writer))

    total = 16 * takes_per_thread
    assert rolled_back == total // 10
    kept = total - rolled_back
    committed.sort(key=lambda c: c[0].number)
    assert [n.number for n, _ in committed] == list(range(1, kept + 1))
    series.refresh_from_db()
    assert series.next_number == kept + 1
    links = [ChainLink(n.number, n.previous_hash, n.hash, fields) for n, fields in committed]
    assert chain_verify(links, expected_next=kept + 1, head_hash=series.head_hash) == []
