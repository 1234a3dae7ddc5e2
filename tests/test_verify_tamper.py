"""`omni verify` finds tampering done behind the application's back.

A morning of three POS sales, then one raw SQL edit per test (as someone with
database access could do), and verify must name exactly what was broken."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from django.db import connection

from omniretail.accounting.models import Account, JournalEntry, Receipt
from omniretail.cli import main as omni
from omniretail.inventory.models import StockLevel
from omniretail.verify import verify_all
from tests.conftest import stock_up

pytestmark = pytest.mark.django_db

SERIES = "receipt-pt1"
PREVIOUS = "previous hash does not match the document before it"
ALTERED = "hash does not match its fields: altered after posting"


def _sell(client, shop, lines, cash):
    r = client.post(
        "/api/v1/pos/sales",
        {
            "client_uuid": str(uuid.uuid4()),
            "lines": lines,
            "tenders": [{"type": "cash", "amount": cash}],
        },
        content_type="application/json",
        headers={"Authorization": f"Bearer {shop.terminal_token}"},
    )
    assert r.status_code == 201, r.content
    return r.json()


@pytest.fixture
def morning(client, shop):
    """Three sales: R-PT1-000001 (74.90), R-PT1-000002 (18.00), R-PT1-000003 (12.50)."""
    stock_up(shop, {shop.shirt_m: 5, shop.mug: 10, shop.candle: 3})
    sales = [
        _sell(
            client, shop, [{"sku": "LS-M", "quantity": 1}, {"sku": "MUG-GR", "quantity": 2}], "80"
        ),
        _sell(client, shop, [{"sku": "CAN-FIG", "quantity": 1}], "20"),
        _sell(client, shop, [{"sku": "MUG-GR", "quantity": 1}], "20"),
    ]
    assert [s["total_gross"] for s in sales] == ["74.90", "18.00", "12.50"]
    problems, _ = verify_all()
    assert problems == []
    return sales


def receipt(number: int) -> Receipt:
    return Receipt.objects.get(series__code=SERIES, number=number)


def sql(statement: str, params: list) -> int:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.rowcount


def test_an_untouched_morning_verifies(morning):
    problems, summaries = verify_all()
    assert problems == []
    assert "receipts: 3 receipts in 1 series gapless, chains intact" in summaries
    assert "journal: 4 entries balanced" in summaries  # the delivery and 3 sales
    assert "reservations: 0 active holds match reserved levels" in summaries


def test_an_edited_receipt_total_is_found(morning):
    assert (
        sql(
            "UPDATE accounting_receipt SET total_gross = %s WHERE id = %s",
            [Decimal("1.00"), receipt(2).pk],
        )
        == 1
    )

    problems, _ = verify_all()

    assert problems == [f"receipts: series {SERIES}: R-PT1-000002: {ALTERED}"]


def test_a_deleted_last_receipt_is_found(morning):
    assert sql("DELETE FROM accounting_receipt WHERE id = %s", [receipt(3).pk]) == 1

    problems, _ = verify_all()

    assert problems == [
        f"receipts: series {SERIES}: {SERIES}: series counter expects next number 4 but the "
        "documents end at 2",
        f"receipts: series {SERIES}: {SERIES}: series head hash does not match the last "
        "document's hash",
    ]


def test_swapped_receipt_numbers_are_found(morning):
    first, second = receipt(1).pk, receipt(2).pk
    # Through a free number: (series, number) is unique.
    sql("UPDATE accounting_receipt SET number = 1000 WHERE id = %s", [first])
    sql("UPDATE accounting_receipt SET number = 1 WHERE id = %s", [second])
    sql("UPDATE accounting_receipt SET number = 2 WHERE id = %s", [first])

    problems, _ = verify_all()

    assert problems == [
        f"receipts: series {SERIES}: R-PT1-000001: {PREVIOUS}",
        f"receipts: series {SERIES}: R-PT1-000001: {ALTERED}",
        f"receipts: series {SERIES}: R-PT1-000002: {PREVIOUS}",
        f"receipts: series {SERIES}: R-PT1-000002: {ALTERED}",
        f"receipts: series {SERIES}: R-PT1-000003: {PREVIOUS}",
    ]


def test_an_edited_stock_level_is_found(morning, shop):
    level = StockLevel.objects.get(sku=shop.mug, location=shop.floor)
    assert level.on_hand == 7
    assert sql("UPDATE inventory_stocklevel SET on_hand = 12 WHERE id = %s", [level.pk]) == 1

    problems, _ = verify_all()

    assert problems == [
        f"stock: SKU #{shop.mug.pk} at location #{shop.floor.pk}: level says 12, moves sum to 7"
    ]


def test_an_unbalanced_journal_line_is_found_and_reported_in_cents(morning):
    entry = JournalEntry.objects.get(
        reference_type="order", reference_id=str(morning[0]["order_id"])
    )
    cash = Account.objects.get(code="1000")
    sql(
        "INSERT INTO accounting_journalline (entry_id, account_id, debit, credit) "
        "VALUES (%s, %s, %s, %s)",
        [entry.pk, cash.pk, Decimal("1.00"), Decimal("0.00")],
    )

    problems, _ = verify_all()

    order_id = morning[0]["order_id"]
    assert problems == [
        f"journal: entry #{entry.pk} (order {order_id}) debits 105.90 != credits 104.90"
    ]


def test_omni_verify_passes_on_an_untouched_morning(morning, capsys):
    assert omni(["verify"]) == 0
    out = capsys.readouterr().out
    assert "FAIL" not in out
    assert out.splitlines()[-1] == "omni verify: all promises hold"


def test_omni_verify_fails_and_prints_the_violation(morning, capsys):
    sql(
        "UPDATE accounting_receipt SET total_gross = %s WHERE id = %s",
        [Decimal("0.01"), receipt(1).pk],
    )

    assert omni(["verify", "--quiet"]) == 1

    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"FAIL  receipts: series {SERIES}: R-PT1-000001: {ALTERED}",
        "omni verify: 1 violation(s)",
    ]
