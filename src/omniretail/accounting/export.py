"""Journal exports for the accountant's software, streamed line by line.

- `journal_csv`: a generic CSV, one row per journal line (columns in
  docs/accounting-export.md).
- `journal_iif`: QuickBooks Desktop IIF, one GENERAL JOURNAL transaction per
  entry (a TRNS line, SPL lines, ENDTRNS), tab-separated.

Each returns an iterator of text lines (with their line ends) read from the
database in chunks, so a year of journal never sits in memory as one string.
Permissions and the date range are checked when the function is called, before
the first line is produced: a refused export writes nothing.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone

from omniretail.accounting.reports import books_scope, date_range_check, journal_lines_scoped
from omniretail.core.access import Actor
from omniretail.core.audit import audit_record

CENT = Decimal("0.01")
CHUNK = 2000
CSV_COLUMNS = (
    "entry_id",
    "date",
    "posted_at",
    "reference_type",
    "reference_id",
    "description",
    "channel_code",
    "store_code",
    "account_code",
    "account_name",
    "debit",
    "credit",
    "currency",
)
IIF_COLUMNS = ("TRNSTYPE", "DATE", "ACCNT", "AMOUNT", "DOCNUM", "MEMO")
IIF_TRNSTYPE = "GENERAL JOURNAL"
IIF_ENCODING = "cp1252"  # QuickBooks Desktop reads IIF as Windows ("ANSI") text
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class ExportLine:
    entry_id: int
    date: dt.date  # the entry's booking date (a day in the company's time zone)
    posted_at: dt.datetime  # when it was posted, in the company's time zone
    reference_type: str
    reference_id: str
    description: str
    channel_code: str
    store_code: str
    account_code: str
    account_name: str
    debit: Decimal
    credit: Decimal
    currency: str


def journal_export_lines(
    *, actor: Actor, date_from: dt.date, date_to: dt.date, store_id: int | None = None
) -> Iterator[ExportLine]:
    """Every journal line booked from `date_from` to `date_to` (both included)
    in the stores the actor may export, ordered by date, entry and line."""
    date_range_check(date_from=date_from, date_to=date_to)
    store_ids = books_scope(actor=actor, permission="books.export", store_id=store_id)
    rows = (
        journal_lines_scoped(store_ids=store_ids)
        .filter(entry__date__gte=date_from, entry__date__lte=date_to)
        .order_by("entry__date", "entry_id", "id")
        .values_list(
            "entry_id",
            "entry__date",
            "entry__created_at",
            "entry__reference_type",
            "entry__reference_id",
            "entry__description",
            "entry__channel__code",
            "entry__store__code",
            "account__code",
            "account__name",
            "debit",
            "credit",
            "entry__currency",
        )
    )
    zone = timezone.get_current_timezone()

    def produce() -> Iterator[ExportLine]:
        for row in rows.iterator(chunk_size=CHUNK):
            yield ExportLine(
                entry_id=row[0],
                date=row[1],
                posted_at=timezone.localtime(row[2], zone),
                reference_type=row[3],
                reference_id=row[4],
                description=row[5],
                channel_code=row[6] or "",
                store_code=row[7] or "",
                account_code=row[8],
                account_name=row[9],
                debit=row[10].quantize(CENT),
                credit=row[11].quantize(CENT),
                currency=row[12],
            )

    return produce()


# --- Generic CSV ------------------------------------------------------------------------


class _Echo:
    """A file-like object that hands back what csv.writer writes, so each row
    becomes one string for the stream."""

    def write(self, value: str) -> str:
        return value


def _cell(text: str) -> str:
    """A spreadsheet runs a cell starting with = + - @ as a formula; a leading
    apostrophe keeps such a description plain text (OWASP's CSV injection advice)."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _amount(value: Decimal) -> str:
    return format(value.quantize(CENT), "f")


def csv_row(line: ExportLine) -> list[str]:
    return [
        str(line.entry_id),
        line.date.isoformat(),
        line.posted_at.isoformat(timespec="seconds"),
        _cell(line.reference_type),
        _cell(line.reference_id),
        _cell(line.description),
        _cell(line.channel_code),
        _cell(line.store_code),
        _cell(line.account_code),
        _cell(line.account_name),
        _amount(line.debit),
        _amount(line.credit),
        line.currency,
    ]


def journal_csv(
    *, actor: Actor, date_from: dt.date, date_to: dt.date, store_id: int | None = None
) -> Iterator[str]:
    """The journal as CSV text lines (RFC 4180: comma, double quotes, CRLF), header first."""
    lines = journal_export_lines(
        actor=actor, date_from=date_from, date_to=date_to, store_id=store_id
    )
    writer = csv.writer(_Echo())

    def produce() -> Iterator[str]:
        yield writer.writerow(CSV_COLUMNS)
        for line in lines:
            yield writer.writerow(csv_row(line))

    return produce()


# --- QuickBooks Desktop IIF ---------------------------------------------------------------


def _iif_text(text: str) -> str:
    """IIF has no escaping: a tab or line break would split the record and a
    double quote starts a quoted field, so they become a space and a single quote."""
    for bad in ("\t", "\r", "\n"):
        text = text.replace(bad, " ")
    return text.replace('"', "'").strip()


def _iif_record(kind: str, line: ExportLine) -> str:
    amount = line.debit - line.credit  # QuickBooks: debits positive, credits negative
    memo = f"{line.description} ({line.reference_type} {line.reference_id})"
    fields = [
        kind,
        IIF_TRNSTYPE,
        line.date.strftime("%m/%d/%Y"),
        _iif_text(line.account_name),
        _amount(amount),
        str(line.entry_id),
        _iif_text(memo),
    ]
    return "\t".join(fields) + "\r\n"


def iif_header() -> list[str]:
    return [
        "\t".join(("!TRNS", *IIF_COLUMNS)) + "\r\n",
        "\t".join(("!SPL", *IIF_COLUMNS)) + "\r\n",
        "!ENDTRNS\r\n",
    ]


def journal_iif(
    *, actor: Actor, date_from: dt.date, date_to: dt.date, store_id: int | None = None
) -> Iterator[str]:
    """The journal as a QuickBooks Desktop IIF general journal import: the
    !TRNS/!SPL/!ENDTRNS header, then per entry its first line as TRNS, the
    others as SPL, and ENDTRNS. The amounts of one transaction sum to zero."""
    lines = journal_export_lines(
        actor=actor, date_from=date_from, date_to=date_to, store_id=store_id
    )

    def produce() -> Iterator[str]:
        yield from iif_header()
        current: int | None = None
        for line in lines:
            if line.entry_id != current:
                if current is not None:
                    yield "ENDTRNS\r\n"
                current = line.entry_id
                yield _iif_record("TRNS", line)
            else:
                yield _iif_record("SPL", line)
        if current is not None:
            yield "ENDTRNS\r\n"

    return produce()


EXPORT_FORMATS = {"csv": journal_csv, "iif": journal_iif}


def journal_export_audit(
    *, actor: Actor, fmt: str, date_from: dt.date, date_to: dt.date, store_id: int | None
) -> None:
    """Who took the books out, when, which days and stores."""
    audit_record(
        actor=actor,
        action="books.export",
        object_type="journal",
        object_id=f"{date_from.isoformat()}..{date_to.isoformat()}",
        store_id=store_id,
        data={"format": fmt, "from": date_from.isoformat(), "to": date_to.isoformat()},
    )
