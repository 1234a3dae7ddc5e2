"""Read-only reports from the journal: the trial balance and sales by channel.

Both are aggregate queries over journal lines (one GROUP BY each), so their
cost does not grow with Python work per entry. Store scoping follows
`books.read`: a store manager sees the entries of their stores only; entries
that belong to no store (company-wide postings) only roles over every store.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from django.db.models import DateField, DecimalField, F, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, TruncMonth

from omniretail.accounting.domain import COST_OF_GOODS_SOLD, SALES, SALES_DISCOUNTS, VAT_PAYABLE
from omniretail.accounting.models import JournalLine
from omniretail.core.access import Actor
from omniretail.core.errors import PermissionDenied, ValidationFailed

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
Grouping = Literal["day", "month"]


def books_scope(
    *, actor: Actor, permission: str, store_id: int | None = None
) -> frozenset[int] | None:
    """The stores whose entries the actor may see for `permission` (None = every
    entry, company-wide ones included), narrowed to `store_id` when given."""
    allowed = actor.store_ids(permission)
    if allowed is not None and not allowed:
        raise PermissionDenied(
            f"{actor.label} may not {permission}. Ask an administrator for the accountant "
            "role (or store manager for a store's figures).",
            code="forbidden",
        )
    if store_id is None:
        return allowed
    if allowed is not None and store_id not in allowed:
        raise PermissionDenied(
            f"{actor.label} may not {permission} in store #{store_id}; choose one of your "
            "own stores.",
            field="store",
            code="forbidden",
        )
    return frozenset({store_id})


def date_range_check(*, date_from: dt.date, date_to: dt.date) -> None:
    if date_to < date_from:
        raise ValidationFailed(
            f"The end date {date_to.isoformat()} is before the start date "
            f"{date_from.isoformat()}; swap them.",
            field="to",
        )


def journal_lines_scoped(*, store_ids: frozenset[int] | None) -> QuerySet[JournalLine]:
    lines = JournalLine.objects.all()
    if store_ids is not None:
        lines = lines.filter(entry__store_id__in=store_ids)
    return lines


def _cents(value: Decimal) -> Decimal:
    """Sums come back as the engine makes them (SQLite drops trailing zeros):
    amounts are shown and compared with two places."""
    return Decimal(value).quantize(CENT)


def _sum(column: str, condition: Q) -> Coalesce:
    money = DecimalField(max_digits=18, decimal_places=2)
    return Coalesce(Sum(column, filter=condition), Value(ZERO), output_field=money)


# --- Trial balance ----------------------------------------------------------------


@dataclass(frozen=True)
class TrialBalanceRow:
    code: str
    name: str
    type: str
    opening: Decimal  # debit positive, credit negative, before the range
    debits: Decimal  # movements within the range
    credits: Decimal
    closing: Decimal  # opening + debits - credits

    @property
    def closing_debit(self) -> Decimal:
        return self.closing if self.closing > 0 else ZERO

    @property
    def closing_credit(self) -> Decimal:
        return -self.closing if self.closing < 0 else ZERO


@dataclass(frozen=True)
class TrialBalance:
    date_from: dt.date
    date_to: dt.date
    rows: list[TrialBalanceRow]
    opening: Decimal
    debits: Decimal
    credits: Decimal
    closing_debit: Decimal
    closing_credit: Decimal

    @property
    def ties(self) -> bool:
        """Every entry balances, so the totals must: a False here is a bug to report."""
        return (
            self.debits == self.credits
            and self.closing_debit == self.closing_credit
            and self.opening == ZERO
        )


def trial_balance(
    *, actor: Actor, date_from: dt.date, date_to: dt.date, store_id: int | None = None
) -> TrialBalance:
    """Per account: the balance before `date_from`, debits and credits from
    `date_from` to `date_to` (both included), and the closing balance."""
    date_range_check(date_from=date_from, date_to=date_to)
    store_ids = books_scope(actor=actor, permission="books.read", store_id=store_id)
    before, within = Q(entry__date__lt=date_from), Q(entry__date__gte=date_from)
    grouped = (
        journal_lines_scoped(store_ids=store_ids)
        .filter(entry__date__lte=date_to)
        .values("account__code", "account__name", "account__type")
        .annotate(
            opening_debit=_sum("debit", before),
            opening_credit=_sum("credit", before),
            debits=_sum("debit", within),
            credits=_sum("credit", within),
        )
        .order_by("account__code")
    )
    rows = []
    for g in grouped:
        opening = _cents(g["opening_debit"]) - _cents(g["opening_credit"])
        debits, credits = _cents(g["debits"]), _cents(g["credits"])
        rows.append(
            TrialBalanceRow(
                code=g["account__code"],
                name=g["account__name"],
                type=g["account__type"],
                opening=opening,
                debits=debits,
                credits=credits,
                closing=opening + debits - credits,
            )
        )
    return TrialBalance(
        date_from=date_from,
        date_to=date_to,
        rows=rows,
        opening=sum((r.opening for r in rows), ZERO),
        debits=sum((r.debits for r in rows), ZERO),
        credits=sum((r.credits for r in rows), ZERO),
        closing_debit=sum((r.closing_debit for r in rows), ZERO),
        closing_credit=sum((r.closing_credit for r in rows), ZERO),
    )


# --- Sales by channel ---------------------------------------------------------------


@dataclass(frozen=True)
class SalesFigures:
    net_sales: Decimal = ZERO  # sales credits - debits, less discounts and refunds
    vat: Decimal = ZERO
    cogs: Decimal = ZERO

    @property
    def gross_margin(self) -> Decimal:
        return self.net_sales - self.cogs

    @property
    def gross_margin_pct(self) -> Decimal | None:
        if not self.net_sales:
            return None
        return (self.gross_margin * 100 / self.net_sales).quantize(Decimal("0.1"))

    def __add__(self, other: SalesFigures) -> SalesFigures:
        return SalesFigures(
            net_sales=self.net_sales + other.net_sales,
            vat=self.vat + other.vat,
            cogs=self.cogs + other.cogs,
        )


@dataclass(frozen=True)
class ChannelSales:
    channel_code: str  # "" for entries that belong to no channel
    channel_name: str
    periods: list[tuple[dt.date, SalesFigures]] = field(default_factory=list)
    total: SalesFigures = SalesFigures()


@dataclass(frozen=True)
class SalesByChannel:
    date_from: dt.date
    date_to: dt.date
    grouping: Grouping
    channels: list[ChannelSales]
    total: SalesFigures


def _figures(row: Mapping[str, Any]) -> SalesFigures:
    c = {key: _cents(value) for key, value in row.items() if key.endswith(("_cr", "_dr"))}
    return SalesFigures(
        net_sales=c["sales_cr"] - c["sales_dr"] - (c["disc_dr"] - c["disc_cr"]),
        vat=c["vat_cr"] - c["vat_dr"],
        cogs=c["cogs_dr"] - c["cogs_cr"],
    )


def sales_by_channel(
    *,
    actor: Actor,
    date_from: dt.date,
    date_to: dt.date,
    grouping: Grouping = "day",
    store_id: int | None = None,
) -> SalesByChannel:
    """Net sales, VAT, cost of goods sold and gross margin per channel and per
    day or month, read from the journal (what was booked, not what was ordered)."""
    date_range_check(date_from=date_from, date_to=date_to)
    if grouping not in ("day", "month"):
        raise ValidationFailed(f"Group by 'day' or 'month' (got {grouping!r}).", field="group")
    store_ids = books_scope(actor=actor, permission="books.read", store_id=store_id)
    period = (
        TruncMonth("entry__date", output_field=DateField())
        if grouping == "month"
        else F("entry__date")
    )
    codes = [SALES, SALES_DISCOUNTS, VAT_PAYABLE, COST_OF_GOODS_SOLD]
    grouped = (
        journal_lines_scoped(store_ids=store_ids)
        .filter(entry__date__gte=date_from, entry__date__lte=date_to, account__code__in=codes)
        .annotate(period=period)
        .values("entry__channel__code", "entry__channel__name", "period")
        .annotate(
            sales_cr=_sum("credit", Q(account__code=SALES)),
            sales_dr=_sum("debit", Q(account__code=SALES)),
            disc_dr=_sum("debit", Q(account__code=SALES_DISCOUNTS)),
            disc_cr=_sum("credit", Q(account__code=SALES_DISCOUNTS)),
            vat_cr=_sum("credit", Q(account__code=VAT_PAYABLE)),
            vat_dr=_sum("debit", Q(account__code=VAT_PAYABLE)),
            cogs_dr=_sum("debit", Q(account__code=COST_OF_GOODS_SOLD)),
            cogs_cr=_sum("credit", Q(account__code=COST_OF_GOODS_SOLD)),
        )
        .order_by("entry__channel__code", "period")
    )
    per_channel: dict[str, tuple[str, list[tuple[dt.date, SalesFigures]]]] = {}
    for row in grouped:
        code = row["entry__channel__code"] or ""
        name = row["entry__channel__name"] or "No channel"
        day = row["period"]
        if isinstance(day, dt.datetime):  # some backends hand a truncated date back as datetime
            day = day.date()
        per_channel.setdefault(code, (name, []))[1].append((day, _figures(row)))
    channels = [
        ChannelSales(
            channel_code=code,
            channel_name=name,
            periods=periods,
            total=_total(figures for _, figures in periods),
        )
        for code, (name, periods) in sorted(per_channel.items())
    ]
    return SalesByChannel(
        date_from=date_from,
        date_to=date_to,
        grouping=grouping,
        channels=channels,
        total=_total(c.total for c in channels),
    )


def _total(figures: Iterable[SalesFigures]) -> SalesFigures:
    result = SalesFigures()
    for f in figures:
        result = result + f
    return result
