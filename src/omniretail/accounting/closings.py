"""Daily, monthly and yearly closings with perpetual grand totals.

A closing sums the fiscal documents issued in its period (local dates):
receipts + invoices − credit notes, by tender and by tax rate. Invoices made
from a receipt and replacement invoices (and the credit notes they come
with) are left out: the sale is counted once, on its first document. By
tender, receipts count their payments; invoices are counted as "invoiced"
and credit notes as "credit_notes" (negative).

Rules:
- one closing per period and scope (the company, or one store): a unique
  constraint. `closing_run` on a closed period returns the closing it has
  (idempotent); it never writes a second one.
- only a period that is over can be closed (not today, not this month).
- a month needs its days: closing a month first closes, in order, every day
  of it that is not closed yet; a year closes its missing months the same
  way. The month's totals are the sum of its days', the year's of its months'.
- the grand total is perpetual per period kind and scope: the previous
  closing of the chain's grand total + this period's total (in the order
  the closings were posted).
- numbered on the gapless series `close-<period>[-<store>]`
  (CLOSE-DAY-000001, CLOSE-MONTH-PARIS-000001), chained by hash like the
  documents, never changed.
"""

from __future__ import annotations

import calendar
import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from omniretail.accounting.models import Closing, CreditNote, Invoice, Receipt
from omniretail.core.access import SYSTEM, Actor, require
from omniretail.core.errors import Conflict, ValidationFailed
from omniretail.core.models import Company, NumberSeries, Store
from omniretail.core.series import series_get_or_create, series_take

ZERO = Decimal(0)
PERIODS = ("day", "month", "year")


def period_bounds(period: str, day: dt.date) -> tuple[dt.date, dt.date]:
    """First and last day of the period containing `day`."""
    if period == "day":
        return day, day
    if period == "month":
        last = calendar.monthrange(day.year, day.month)[1]
        return day.replace(day=1), day.replace(day=last)
    if period == "year":
        return dt.date(day.year, 1, 1), dt.date(day.year, 12, 31)
    raise ValidationFailed(
        f"period: {period!r} is not a period; use day, month or year.", field="period"
    )


def _scope(store: Store | None) -> str:
    return "company" if store is None else f"store:{store.code}"


def _series(period: str, store: Store | None) -> NumberSeries:
    if store is None:
        return series_get_or_create(code=f"close-{period}", prefix=f"CLOSE-{period.upper()}-")
    return series_get_or_create(
        code=f"close-{period}-{store.code}",
        prefix=f"CLOSE-{period.upper()}-{store.code.upper()}-",
    )


def _local_range(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    tz = timezone.get_current_timezone()
    return (
        dt.datetime.combine(start, dt.time.min, tzinfo=tz),
        dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=tz),
    )


class _Totals:
    def __init__(self) -> None:
        self.documents: dict[str, int] = {"receipts": 0, "invoices": 0, "credit_notes": 0}
        self.by_tender: dict[str, Decimal] = {}
        self.by_rate: dict[str, list[Decimal]] = {}
        self.total = ZERO

    def tender(self, name: str, amount: Decimal) -> None:
        self.by_tender[name] = self.by_tender.get(name, ZERO) + amount

    def rate(self, rate: str, base: Decimal, tax: Decimal, sign: int = 1) -> None:
        key = format(Decimal(rate).quantize(Decimal("0.0001")), "f")
        bucket = self.by_rate.setdefault(key, [ZERO, ZERO, ZERO])
        bucket[0] += sign * base
        bucket[1] += sign * tax
        bucket[2] += sign * (base + tax)

    def add_closing(self, closing: Closing) -> None:
        for key, count in closing.documents.items():
            self.documents[key] = self.documents.get(key, 0) + int(count)
        for name, amount in closing.by_tender.items():
            self.tender(name, Decimal(amount))
        for row in closing.by_tax_rate:
            self.rate(row["rate"], Decimal(row["base"]), Decimal(row["tax"]))
        self.total += closing.total_gross

    def as_fields(self) -> dict[str, Any]:
        return {
            "documents": dict(sorted(self.documents.items())),
            "by_tender": {k: format(v, "f") for k, v in sorted(self.by_tender.items())},
            "by_tax_rate": [
                {
                    "rate": rate,
                    "base": format(v[0], "f"),
                    "tax": format(v[1], "f"),
                    "gross": format(v[2], "f"),
                }
                for rate, v in sorted(self.by_rate.items())
            ],
            "total_gross": self.total,
        }


def _documents_totals(start: dt.date, end: dt.date, store: Store | None) -> _Totals:
    since, until = _local_range(start, end)
    where: dict[str, Any] = {"issued_at__gte": since, "issued_at__lt": until}
    if store is not None:
        where["store"] = store
    totals = _Totals()
    for r in Receipt.objects.filter(**where).only("total_gross", "payments", "tax_summary"):
        totals.documents["receipts"] += 1
        totals.total += r.total_gross
        for p in r.payments:
            totals.tender(p["tender"], Decimal(p["amount"]))
        for s in r.tax_summary:
            totals.rate(s["rate"], Decimal(s["net"]), Decimal(s["tax"]))
    invoices = Invoice.objects.filter(**where, books_revenue=True)
    for inv in invoices.only("total_gross", "tax_summary"):
        totals.documents["invoices"] += 1
        totals.total += inv.total_gross
        totals.tender("invoiced", inv.total_gross)
        for s in inv.tax_summary:
            totals.rate(s["rate"], Decimal(s["base"]), Decimal(s["tax"]))
    notes = CreditNote.objects.filter(**where, books_revenue=True)
    for cn in notes.only("total_gross", "tax_summary"):
        totals.documents["credit_notes"] += 1
        totals.total -= cn.total_gross
        totals.tender("credit_notes", -cn.total_gross)
        for s in cn.tax_summary:
            totals.rate(s["rate"], Decimal(s["base"]), Decimal(s["tax"]), sign=-1)
    return totals


def _currency() -> str:
    return Company.objects.values_list("currency", flat=True).order_by("pk").first() or "EUR"


def _close(period: str, day: dt.date, store: Store | None) -> tuple[Closing, bool]:
    start, end = period_bounds(period, day)
    scope = _scope(store)
    existing = Closing.objects.filter(period=period, period_start=start, scope=scope).first()
    if existing is not None:
        return existing, False
    if end >= timezone.localdate():
        raise Conflict(
            f"The {period} {start.isoformat()} is not over yet; close it from "
            f"{(end + dt.timedelta(days=1)).isoformat()} on.",
            field="date",
        )
    if period == "day":
        totals = _documents_totals(start, end, store)
    else:
        child = "day" if period == "month" else "month"
        totals = _Totals()
        cursor = start
        while cursor <= end:
            sub, _ = _close(child, cursor, store)
            totals.add_closing(sub)
            cursor = period_bounds(child, cursor)[1] + dt.timedelta(days=1)
    series = _series(period, store)
    # Lock the chain first: its head gives the grand total to carry on.
    NumberSeries.objects.select_for_update().filter(pk=series.pk).first()
    again = Closing.objects.filter(period=period, period_start=start, scope=scope).first()
    if again is not None:
        return again, False
    last = Closing.objects.filter(series=series).order_by("-number").first()
    fields = totals.as_fields()
    closing = Closing(
        series=series,
        period=period,
        period_start=start,
        period_end=end,
        scope=scope,
        store=store,
        issued_at=timezone.now(),
        currency=_currency(),
        documents=fields["documents"],
        by_tender=fields["by_tender"],
        by_tax_rate=fields["by_tax_rate"],
        total_gross=fields["total_gross"],
        grand_total=(last.grand_total if last else ZERO) + fields["total_gross"],
    )

    def fields_for(number: int, full_number: str, previous_hash: str) -> dict[str, Any]:
        closing.number, closing.full_number = number, full_number
        return closing.hash_fields()

    numbered = series_take(series_id=series.pk, fields_for=fields_for)
    closing.previous_hash, closing.hash = numbered.previous_hash, numbered.hash
    closing.save()
    return closing, True


def closing_run(
    *, period: str, date: dt.date, store: Store | None = None, actor: Actor = SYSTEM
) -> Closing:
    """Close the day, month or year containing `date` for the company (or
    one store); see the module docstring for the rules."""
    if period not in PERIODS:
        period_bounds(period, date)  # raises the field error
    require(actor, "books.export")
    with transaction.atomic():
        return _close(period, date, store)[0]


def closings_yesterday() -> int:
    """Periodic: close yesterday (and its month and year when it ended them)
    for the company and each active store. Returns how many were written."""
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    periods = ["day"]
    if (yesterday + dt.timedelta(days=1)).day == 1:
        periods.append("month")
        if yesterday.month == 12:
            periods.append("year")
    written = 0
    scopes: list[Store | None] = [None, *Store.objects.filter(active=True).order_by("pk")]
    for store in scopes:
        for period in periods:
            start = period_bounds(period, yesterday)[0]
            if Closing.objects.filter(
                period=period, period_start=start, scope=_scope(store)
            ).exists():
                continue
            with transaction.atomic():
                written += _close(period, yesterday, store)[1]
    return written
