"""The journal exports, parsed back: the generic CSV with the csv module and
the QuickBooks IIF with a small parser. Every entry comes back exactly, and
every IIF transaction sums to zero."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal

import pytest
from django.utils import timezone

from omniretail.accounting.domain import CASH, OWNER_EQUITY, Posting
from omniretail.accounting.export import CSV_COLUMNS, journal_csv, journal_iif
from omniretail.accounting.models import JournalEntry, JournalLine
from omniretail.accounting.services import journal_post
from omniretail.core.access import SYSTEM
from omniretail.core.errors import PermissionDenied, ValidationFailed
from tests.accounting.conftest import FEB_1, FEB_28, D, actor

pytestmark = pytest.mark.django_db

ACCOUNTANT = actor("accountant")


def expected_lines(date_from, date_to, store_ids=None):
    """What the books hold, read plainly through the ORM, per entry id."""
    lines = JournalLine.objects.filter(
        entry__date__gte=date_from, entry__date__lte=date_to
    ).select_related("entry__channel", "entry__store", "account")
    if store_ids is not None:
        lines = lines.filter(entry__store_id__in=store_ids)
    result = defaultdict(list)
    for line in lines.order_by("entry_id", "id"):
        result[line.entry_id].append(line)
    return result


def parse_csv(lines: Iterator[str]) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO("".join(lines), newline="")))


# --- A small IIF parser: what QuickBooks does with the file, in a few lines -----------------


def parse_iif(text: str) -> list[dict]:
    """Transactions as {"trns": {...}, "spl": [{...}, ...]} keyed by the
    !TRNS/!SPL header columns; refuses anything out of the layout."""
    headers: dict[str, list[str]] = {}
    transactions: list[dict] = []
    current: dict | None = None
    assert text.endswith("\r\n")
    for number, raw in enumerate(text.split("\r\n")[:-1], start=1):
        fields = raw.split("\t")
        kind = fields[0]
        if kind.startswith("!"):
            assert not transactions, f"line {number}: header after data"
            assert current is None, f"line {number}: header inside a transaction"
            headers[kind[1:]] = fields[1:]
            continue
        if kind == "TRNS":
            assert current is None, f"line {number}: TRNS before the previous ENDTRNS"
            current = {"trns": dict(zip(headers["TRNS"], fields[1:], strict=True)), "spl": []}
        elif kind == "SPL":
            assert current is not None, f"line {number}: SPL outside a transaction"
            current["spl"].append(dict(zip(headers["SPL"], fields[1:], strict=True)))
        elif kind == "ENDTRNS":
            assert current is not None, f"line {number}: ENDTRNS without TRNS"
            assert fields == ["ENDTRNS"]
            transactions.append(current)
            current = None
        else:
            raise AssertionError(f"line {number}: unknown record {kind!r}")
    assert current is None, "the last transaction has no ENDTRNS"
    assert list(headers) == ["TRNS", "SPL", "ENDTRNS"]
    return transactions


# --- CSV ----------------------------------------------------------------------------------


def test_csv_reproduces_every_entry_exactly(books):
    produced = journal_csv(actor=ACCOUNTANT, date_from=FEB_1, date_to=FEB_28)
    assert isinstance(produced, Iterator)  # streamed, not one string
    text_lines = list(produced)
    assert text_lines[0] == ",".join(CSV_COLUMNS) + "\r\n"
    rows = parse_csv(iter(text_lines))
    assert len(text_lines) == len(rows) + 1  # one text line per journal line
    expected = expected_lines(FEB_1, FEB_28)
    assert len(rows) == sum(len(v) for v in expected.values()) == 14

    by_entry = defaultdict(list)
    for row in rows:
        by_entry[int(row["entry_id"])].append(row)
    assert set(by_entry) == set(expected)
    for entry_id, lines in expected.items():
        entry = lines[0].entry
        got = by_entry[entry_id]
        assert [
            (
                r["date"],
                r["reference_type"],
                r["reference_id"],
                r["description"],
                r["channel_code"],
                r["store_code"],
                r["currency"],
                r["posted_at"],
            )
            for r in got
        ] == [
            (
                entry.date.isoformat(),
                entry.reference_type,
                entry.reference_id,
                entry.description,
                entry.channel.code if entry.channel else "",
                entry.store.code if entry.store else "",
                "EUR",
                timezone.localtime(entry.created_at).isoformat(timespec="seconds"),
            )
        ] * len(lines)
        assert [
            (r["account_code"], r["account_name"], Decimal(r["debit"]), Decimal(r["credit"]))
            for r in got
        ] == [(li.account.code, li.account.name, li.debit, li.credit) for li in lines]
        # two places, always
        assert all(len(r["debit"].split(".")[1]) == 2 for r in got)
        assert sum(Decimal(r["debit"]) for r in got) == sum(Decimal(r["credit"]) for r in got)

    web_sale = by_entry[books.entries["web-sale"].pk]
    assert [(r["account_code"], r["debit"], r["credit"]) for r in web_sale] == [
        ("1100", "120.00", "0.00"),
        ("4000", "0.00", "100.00"),
        ("2100", "0.00", "20.00"),
        ("5000", "40.00", "0.00"),
        ("1300", "0.00", "40.00"),
    ]
    # ordered by booking date: the Lyon sale (10 Feb) comes between the web entries
    assert [int(r["entry_id"]) for r in rows][::1][0] == books.entries["web-sale"].pk
    dates = [r["date"] for r in rows]
    assert dates == sorted(dates)


def test_csv_of_one_store(books):
    paris = books.paris.store
    rows = parse_csv(
        journal_csv(actor=ACCOUNTANT, date_from=FEB_1, date_to=FEB_28, store_id=paris.pk)
    )
    assert {r["entry_id"] for r in rows} == {str(books.entries["paris-sale"].pk)}
    assert {r["store_code"] for r in rows} == {"paris"}


def test_csv_keeps_formulas_out_of_spreadsheets(shop):
    journal_post(
        date=FEB_1,
        description='=HYPERLINK("http://evil.test","click"), "quoted", comma',
        reference_type="manual",
        reference_id="-1+1",
        currency="EUR",
        postings=[Posting(CASH, debit=D("1.00")), Posting(OWNER_EQUITY, credit=D("1.00"))],
    )
    rows = parse_csv(journal_csv(actor=ACCOUNTANT, date_from=FEB_1, date_to=FEB_1))
    assert {r["description"] for r in rows} == {
        '\'=HYPERLINK("http://evil.test","click"), "quoted", comma'
    }
    assert {r["reference_id"] for r in rows} == {"'-1+1"}


def test_an_empty_range_is_a_header_alone(books):
    day = dt.date(2024, 6, 1)
    assert list(journal_csv(actor=ACCOUNTANT, date_from=day, date_to=day)) == [
        ",".join(CSV_COLUMNS) + "\r\n"
    ]
    assert "".join(journal_iif(actor=ACCOUNTANT, date_from=day, date_to=day)) == (
        "!TRNS\tTRNSTYPE\tDATE\tACCNT\tAMOUNT\tDOCNUM\tMEMO\r\n"
        "!SPL\tTRNSTYPE\tDATE\tACCNT\tAMOUNT\tDOCNUM\tMEMO\r\n"
        "!ENDTRNS\r\n"
    )


# --- IIF ------------------------------------------------------------------------------------


def test_iif_reproduces_every_entry_and_every_transaction_balances(books):
    produced = journal_iif(actor=ACCOUNTANT, date_from=FEB_1, date_to=FEB_28)
    assert isinstance(produced, Iterator)
    text = "".join(produced)
    transactions = parse_iif(text)
    expected = expected_lines(FEB_1, FEB_28)
    assert len(transactions) == len(expected) == 4

    for t in transactions:
        records = [t["trns"], *t["spl"]]
        assert sum(Decimal(r["AMOUNT"]) for r in records) == 0
        assert {r["TRNSTYPE"] for r in records} == {"GENERAL JOURNAL"}
        (docnum,) = {r["DOCNUM"] for r in records}
        lines = expected[int(docnum)]
        entry = lines[0].entry
        assert {r["DATE"] for r in records} == {entry.date.strftime("%m/%d/%Y")}
        assert [(r["ACCNT"], Decimal(r["AMOUNT"])) for r in records] == [
            (li.account.name, li.debit - li.credit) for li in lines
        ]
        assert {r["MEMO"] for r in records} == {
            f"{entry.description} (manual {entry.reference_id})"
        }
        assert all(len(r["AMOUNT"].split(".")[1]) == 2 for r in records)

    web_sale = next(
        t for t in transactions if t["trns"]["DOCNUM"] == str(books.entries["web-sale"].pk)
    )
    assert web_sale["trns"] == {
        "TRNSTYPE": "GENERAL JOURNAL",
        "DATE": "02/03/2025",
        "ACCNT": "Card payments clearing",
        "AMOUNT": "120.00",
        "DOCNUM": str(books.entries["web-sale"].pk),
        "MEMO": "web-sale (manual web-sale)",
    }
    assert [(s["ACCNT"], s["AMOUNT"]) for s in web_sale["spl"]] == [
        ("Sales revenue", "-100.00"),
        ("Sales tax / VAT payable", "-20.00"),
        ("Cost of goods sold", "40.00"),
        ("Inventory", "-40.00"),
    ]


def test_iif_text_cannot_break_the_layout(shop):
    journal_post(
        date=FEB_1,
        description='Till\tshort "again"\r\nsee note',
        reference_type="manual",
        reference_id="n1",
        currency="EUR",
        postings=[Posting(CASH, credit=D("3.50")), Posting(OWNER_EQUITY, debit=D("3.50"))],
    )
    (t,) = parse_iif("".join(journal_iif(actor=ACCOUNTANT, date_from=FEB_1, date_to=FEB_1)))
    assert t["trns"]["MEMO"] == "Till short 'again'  see note (manual n1)"
    assert t["trns"]["AMOUNT"] == "-3.50"
    assert t["spl"][0]["AMOUNT"] == "3.50"


def test_a_real_till_sale_exported_both_ways(till_day):
    today = timezone.localdate()
    entry = JournalEntry.objects.get(reference_type="order", reference_id=str(till_day.pk))
    every = parse_csv(journal_csv(actor=SYSTEM, date_from=today, date_to=today))
    delivery = [r for r in every if r["entry_id"] != str(entry.pk)]
    assert sorted((r["account_code"], r["debit"], r["credit"]) for r in delivery) == [
        ("1300", "150.00", "0.00"),  # the morning's goods, received at 10.00 each
        ("2050", "0.00", "150.00"),
    ]
    rows = [r for r in every if r["entry_id"] == str(entry.pk)]
    assert sorted((r["account_code"], r["debit"], r["credit"]) for r in rows) == [
        ("1000", "74.90", "0.00"),
        ("1300", "0.00", "30.00"),
        ("2100", "0.00", "12.49"),
        ("4000", "0.00", "62.41"),
        ("5000", "30.00", "0.00"),
    ]
    assert {r["description"] for r in rows} == {"Sale R-PT1-000001"}
    assert {(r["channel_code"], r["store_code"], r["entry_id"]) for r in rows} == {
        ("pos-paris", "paris", str(entry.pk))
    }
    transactions = parse_iif("".join(journal_iif(actor=SYSTEM, date_from=today, date_to=today)))
    assert len(transactions) == 2
    for t in transactions:
        assert sum(Decimal(r["AMOUNT"]) for r in [t["trns"], *t["spl"]]) == 0
        assert t["trns"]["DATE"] == today.strftime("%m/%d/%Y")


def test_exports_are_for_accountants_and_admins_only(books):
    manager = actor("store_manager", books.paris.store.pk)
    for export in (journal_csv, journal_iif):
        with pytest.raises(PermissionDenied):
            export(actor=manager, date_from=FEB_1, date_to=FEB_28)
        with pytest.raises(ValidationFailed) as bad:
            export(actor=ACCOUNTANT, date_from=FEB_28, date_to=FEB_1)
        assert bad.value.field == "to"
    # an accountant of one store exports that store's entries only
    paris_accountant = actor("accountant", books.paris.store.pk)
    rows = parse_csv(journal_csv(actor=paris_accountant, date_from=FEB_1, date_to=FEB_28))
    assert {r["store_code"] for r in rows} == {"paris"}


def test_a_large_journal_is_read_in_chunks_with_one_query(
    books, monkeypatch, django_assert_num_queries
):
    """Chunk boundaries change nothing, and the lines come from one query
    however many entries there are (no query per entry)."""
    whole = list(journal_csv(actor=ACCOUNTANT, date_from=FEB_1, date_to=FEB_28))
    monkeypatch.setattr("omniretail.accounting.export.CHUNK", 3)
    with django_assert_num_queries(1):
        chunked = list(journal_csv(actor=ACCOUNTANT, date_from=FEB_1, date_to=FEB_28))
    assert chunked == whole
    with django_assert_num_queries(1):
        transactions = parse_iif(
            "".join(journal_iif(actor=ACCOUNTANT, date_from=FEB_1, date_to=FEB_28))
        )
    assert len(transactions) == 4
