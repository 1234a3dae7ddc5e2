"""Stock written off or found is booked at its moving average cost:
shrinkage (5100) against inventory (1300), in the same transaction."""

from __future__ import annotations

from decimal import Decimal

import pytest

from omniretail.accounting.models import JournalEntry
from omniretail.core.access import SYSTEM
from omniretail.inventory.services import StockLine, stock_receive
from omniretail.inventory.services.counts import count_open, count_post, count_record
from omniretail.verify import verify_all

pytestmark = pytest.mark.django_db


def _lines(entry: JournalEntry) -> set[tuple[str, Decimal, Decimal]]:
    return {(line.account.code, line.debit, line.credit) for line in entry.lines.all()}


def test_a_count_books_the_net_shrinkage(shop):
    stock_receive(
        location=shop.floor,
        lines=[
            StockLine(shop.mug.pk, 10, Decimal("4.00")),
            StockLine(shop.candle.pk, 4, Decimal("7.50")),
        ],
        actor=SYSTEM,
    )
    count = count_open(location=shop.floor, actor=SYSTEM, reason="monthly count")
    count_record(count=count, counted={shop.mug.pk: 7, shop.candle.pk: 5}, actor=SYSTEM)
    count_post(count=count, actor=SYSTEM, reason="monthly count")

    entry = JournalEntry.objects.get(reference_type="count", reference_id=count.number)
    # 3 mugs lost at 4.00 = 12.00; 1 candle found at 7.50: net shrinkage 4.50
    assert _lines(entry) == {
        ("5100", Decimal("4.50"), Decimal("0")),
        ("1300", Decimal("0"), Decimal("4.50")),
    }
    assert entry.store_id == shop.store.pk
    assert verify_all()[0] == []


def test_a_count_that_only_finds_stock_credits_shrinkage(shop):
    stock_receive(
        location=shop.floor, lines=[StockLine(shop.mug.pk, 2, Decimal("4.00"))], actor=SYSTEM
    )
    count = count_open(
        location=shop.floor, actor=SYSTEM, sku_ids=[shop.mug.pk], reason="spot check"
    )
    count_record(count=count, counted={shop.mug.pk: 3}, actor=SYSTEM)
    count_post(count=count, actor=SYSTEM, reason="spot check")
    entry = JournalEntry.objects.get(reference_type="count")
    assert _lines(entry) == {
        ("1300", Decimal("4.00"), Decimal("0")),
        ("5100", Decimal("0"), Decimal("4.00")),
    }
