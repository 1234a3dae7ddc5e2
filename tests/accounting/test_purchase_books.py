"""Goods received from suppliers enter the books at their purchase cost
(Dr 1300 inventory / Cr 2050 goods received not invoiced) in the receipt's
transaction, so the journal's inventory follows the stock ledger."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from omniretail.accounting.models import JournalEntry, JournalLine
from omniretail.accounting.verify import inventory_ledger_value, verify_inventory_account
from omniretail.channels.pos.services import SaleLine, Tender, pos_sale_record
from omniretail.core.access import SYSTEM
from omniretail.inventory.models import StockLevel
from omniretail.inventory.services import ReceiveLine, stock_receive

pytestmark = pytest.mark.django_db
D = Decimal


def _lines(entry: JournalEntry) -> list[tuple[str, str, str]]:
    return sorted(
        (ln.account.code, str(ln.debit), str(ln.credit))
        for ln in JournalLine.objects.filter(entry=entry).select_related("account")
    )


def test_a_delivery_books_its_goods_at_their_purchase_cost(shop):
    stock_receive(
        location=shop.floor,
        lines=[ReceiveLine(shop.mug.pk, 4, D("2.50")), ReceiveLine(shop.candle.pk, 3, D("4.10"))],
        actor=SYSTEM,
        reference="DN-881",
    )
    entry = JournalEntry.objects.get(reference_type="delivery", reference_id="DN-881")
    assert entry.store_id == shop.store.pk
    assert entry.description == "Goods received from suppliers: delivery DN-881"
    assert _lines(entry) == [("1300", "22.30", "0.00"), ("2050", "0.00", "22.30")]


def test_a_delivery_at_no_cost_books_nothing(shop):
    stock_receive(
        location=shop.floor,
        lines=[ReceiveLine(shop.mug.pk, 2, D("0"))],
        actor=SYSTEM,
        reference="DN-FREE",
    )
    assert StockLevel.objects.get(sku=shop.mug, location=shop.floor).on_hand == 2
    assert not JournalEntry.objects.filter(reference_id="DN-FREE").exists()


def test_the_journals_inventory_follows_the_stock_ledger_through_receipts_and_sales(shop):
    stock_receive(
        location=shop.floor,
        lines=[ReceiveLine(shop.mug.pk, 10, D("3.00"))],
        actor=SYSTEM,
        reference="DN-1",
    )
    stock_receive(
        location=shop.floor,
        lines=[ReceiveLine(shop.mug.pk, 10, D("4.00"))],
        actor=SYSTEM,
        reference="DN-2",
    )
    pos_sale_record(
        terminal=shop.terminal,
        client_uuid=uuid.uuid4(),
        lines=[SaleLine(5, sku="MUG-GR")],
        tenders=[Tender("cash", D("200"))],
        actor=SYSTEM,
    )
    # 30.00 + 40.00 in, 5 out at the 3.50 average.
    assert inventory_ledger_value() == D("52.50")
    problems, summary = verify_inventory_account()
    assert problems == []
    assert summary.startswith("inventory: 1300 in 3 entries matches the stock ledger")
