"""A store's morning: receive stock, sell three items for cash with change,
refuse a bad sale, and check stock, receipt numbers, hash chain and verify."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from django.core.management import call_command

from omniretail.accounting.models import JournalEntry, Receipt
from omniretail.core.fiscal import GENESIS_HASH, chain_hash
from omniretail.core.models import OutboxEvent
from omniretail.inventory.models import StockLevel, StockMove
from omniretail.orders.models import Order
from omniretail.verify import verify_all
from tests.conftest import stock_up

pytestmark = pytest.mark.django_db


def _sell(client, shop, lines, tenders, client_uuid=None):
    return client.post(
        "/api/v1/pos/sales",
        {
            "client_uuid": str(client_uuid or uuid.uuid4()),
            "lines": lines,
            "tenders": tenders,
        },
        content_type="application/json",
        headers={"Authorization": f"Bearer {shop.terminal_token}"},
    )


def _level(variant, location):
    return StockLevel.objects.get(sku=variant, location=location).on_hand


def test_a_store_morning(client, shop):
    # 08:30 — the delivery arrives at the store.
    stock_up(shop, {shop.shirt_m: 5, shop.mug: 10, shop.candle: 3})
    assert _level(shop.shirt_m, shop.floor) == 5

    # 09:05 — first customer: a shirt scanned by barcode, two mugs by SKU; pays 80 in cash.
    r = _sell(
        client,
        shop,
        [{"barcode": shop.shirt_m.barcode, "quantity": 1}, {"sku": "MUG-GR", "quantity": 2}],
        [{"type": "cash", "amount": "80.00"}],
    )
    assert r.status_code == 201, r.content
    first = r.json()
    assert first["total_gross"] == "74.90"  # 49.90 + 2 x 12.50
    assert first["change"] == "5.10"
    assert first["total_tax"] == "12.49"  # 20 % contained, per line: 8.32 + 4.17
    assert first["total_net"] == "62.41"
    assert first["receipt_number"] == "R-PT1-000001"
    assert first["receipt_previous_hash"] == GENESIS_HASH
    assert first["channel"] == "pos-paris"

    # 09:40 — a candle paid with a 20 note.
    r = _sell(client, shop, [{"sku": "CAN-FIG", "quantity": 1}], [{"type": "cash", "amount": "20"}])
    assert r.status_code == 201, r.content
    second = r.json()
    assert (second["total_gross"], second["change"]) == ("18.00", "2.00")
    assert second["receipt_number"] == "R-PT1-000002"
    assert second["receipt_previous_hash"] == first["receipt_hash"]

    # 10:15 — a bad sale: an unknown barcode, a negative quantity and too little cash.
    before = (Order.objects.count(), StockMove.objects.count(), Receipt.objects.count())
    r = _sell(
        client,
        shop,
        [{"barcode": "2000000000008", "quantity": 1}, {"sku": "MUG-GR", "quantity": -1}],
        [{"type": "cash", "amount": "5"}],
    )
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["field"] == "lines[0].quantity" or error["field"].startswith("lines[")
    fields = {e["field"] for e in error["errors"]}
    assert fields == {"lines[0].barcode", "lines[1].quantity"}
    r = _sell(client, shop, [{"sku": "MUG-GR", "quantity": 1}], [{"type": "cash", "amount": "5"}])
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "tenders"
    assert "take 7.50 EUR more" in r.json()["error"]["message"]
    assert (Order.objects.count(), StockMove.objects.count(), Receipt.objects.count()) == before

    # Stock: store → customer moves for exactly what was sold.
    assert _level(shop.shirt_m, shop.floor) == 4
    assert _level(shop.mug, shop.floor) == 8
    assert _level(shop.candle, shop.floor) == 2
    assert StockMove.objects.filter(reference_type="order").count() == 3

    # Receipts: contiguous, chained, and each hash recomputes from its fields.
    receipts = list(Receipt.objects.order_by("number"))
    assert [r.number for r in receipts] == [1, 2]
    assert receipts[0].hash == chain_hash(GENESIS_HASH, receipts[0].hash_fields())
    assert receipts[1].hash == chain_hash(receipts[0].hash, receipts[1].hash_fields())
    shop.terminal.receipt_series.refresh_from_db()
    assert shop.terminal.receipt_series.next_number == 3

    # Books: one balanced entry per sale; cash = what stayed in the drawer.
    entries = JournalEntry.objects.filter(reference_type="order")
    assert entries.count() == 2
    first_entry = {
        (line.account.code, line.debit, line.credit)
        for line in entries.get(reference_id=str(first["order_id"])).lines.all()
    }
    assert first_entry == {
        ("1000", Decimal("74.90"), Decimal("0")),
        ("4000", Decimal("0"), Decimal("62.41")),
        ("2100", Decimal("0"), Decimal("12.49")),
        # cost of goods sold at the moving average cost of the delivery (3 x 10.00)
        ("5000", Decimal("30.00"), Decimal("0")),
        ("1300", Decimal("0"), Decimal("30.00")),
    }

    # Events: one per sale in the outbox, delivered after commit.
    assert OutboxEvent.objects.filter(name="sale.completed").count() == 2

    # And the promises hold.
    problems, _ = verify_all()
    assert problems == []
    call_command("check")
