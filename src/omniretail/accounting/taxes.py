"""Taxes on documents: the lines, the tax summary and the totals of an
invoice or credit note, and the rate of a tax class at a destination.

The arithmetic (`document_lines`, `credit_lines`) is pure; `tax_rate_for`
reads `RegionalTaxRate`.

Rounding (`OMNI_TAX_ROUNDING`, read by `tax_rounding()`):
- `line` (default): each line's tax is rounded (half-even, core.money's
  tax point), the document's tax is the sum of its lines'.
- `total`: the tax of each rate is computed once on the sum of that rate's
  lines and rounded once; it is then spread over the lines with
  core.money.allocate so the lines still add up to the summary exactly.
Prices are as listed: gross when Company.prices_include_tax (EU retail),
net otherwise (US); the other amount is derived.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from django.conf import settings

from omniretail.accounting.models import RegionalTaxRate
from omniretail.catalog.models import TaxClass
from omniretail.core.errors import ValidationFailed
from omniretail.core.money import Money, allocate, tax_from_gross, tax_on_net

Rounding = Literal["line", "total"]
ZERO = Decimal(0)


def tax_rounding() -> Rounding:
    value = getattr(settings, "OMNI_TAX_ROUNDING", None) or os.environ.get(
        "OMNI_TAX_ROUNDING", "line"
    )
    if value not in ("line", "total"):
        raise ValidationFailed(
            f"OMNI_TAX_ROUNDING is {value!r}; set it to 'line' or 'total'.",
            field="OMNI_TAX_ROUNDING",
        )
    return value  # type: ignore[return-value]


def money_text(value: Decimal) -> str:
    return format(value, "f")


def rate_text(value: Decimal) -> str:
    return format(value.quantize(Decimal("0.0001")), "f")


@dataclass(frozen=True)
class LineIn:
    """One line to put on a document. `amounts` = (net, tax, gross) when they
    are already known (a receipt's line, the rest of a partly invoiced line)."""

    description: str
    quantity: int
    unit_price: Decimal  # as listed: gross when prices include tax, else net
    tax_rate: Decimal
    sku: str = ""
    order_line_id: int | None = None
    discount: Decimal = ZERO  # taken off the extended price, as listed
    amounts: tuple[Decimal, Decimal, Decimal] | None = None


@dataclass(frozen=True)
class DocumentAmounts:
    lines: list[dict[str, Any]]
    tax_summary: list[dict[str, str]]
    net: Decimal
    tax: Decimal
    gross: Decimal


def _split(extended: Money, rate: Decimal, include: bool) -> tuple[Money, Money, Money]:
    if include:
        tax = tax_from_gross(extended, rate)
        return extended - tax, tax, extended
    tax = tax_on_net(extended, rate)
    return extended, tax, extended + tax


def document_lines(
    lines: Sequence[LineIn], *, currency: str, prices_include_tax: bool, rounding: Rounding
) -> DocumentAmounts:
    """Extend, tax and sum the lines of a document (see the module docstring)."""
    computed: list[tuple[Decimal, Decimal, Decimal]] = []
    extended: list[Money] = []
    for line in lines:
        ext = Money(line.unit_price, currency) * line.quantity - Money(line.discount, currency)
        ext = ext.round("line")
        extended.append(ext)
        if line.amounts is not None:
            computed.append(line.amounts)
        else:
            parts = _split(ext, line.tax_rate, prices_include_tax)
            computed.append((parts[0].amount, parts[1].amount, parts[2].amount))
    if rounding == "total":
        by_rate: dict[Decimal, list[int]] = {}
        for i, line in enumerate(lines):
            if line.amounts is None:
                by_rate.setdefault(line.tax_rate, []).append(i)
        for rate, indexes in by_rate.items():
            base = sum((extended[i] for i in indexes), Money.zero(currency))
            _, group_tax, _ = _split(base, rate, prices_include_tax)
            shares = allocate(group_tax, [extended[i].amount for i in indexes])
            for i, share in zip(indexes, shares, strict=True):
                amount = extended[i].amount
                if prices_include_tax:
                    computed[i] = (amount - share.amount, share.amount, amount)
                else:
                    computed[i] = (amount, share.amount, amount + share.amount)
    rows: list[dict[str, Any]] = []
    summary: dict[str, list[Decimal]] = {}
    for no, (line, (net, tax, gross)) in enumerate(zip(lines, computed, strict=True), start=1):
        rows.append(
            {
                "line_no": no,
                "order_line_id": line.order_line_id,
                "sku": line.sku,
                "description": line.description,
                "quantity": line.quantity,
                "unit_price": money_text(line.unit_price),
                "discount": money_text(Money(line.discount, currency).round("line").amount),
                "tax_rate": rate_text(line.tax_rate),
                "net": money_text(net),
                "tax": money_text(tax),
                "gross": money_text(gross),
            }
        )
        bucket = summary.setdefault(rate_text(line.tax_rate), [ZERO, ZERO, ZERO])
        bucket[0] += net
        bucket[1] += tax
        bucket[2] += gross
    return DocumentAmounts(
        lines=rows,
        tax_summary=summary_rows(summary),
        net=sum((r[0] for r in computed), ZERO),
        tax=sum((r[1] for r in computed), ZERO),
        gross=sum((r[2] for r in computed), ZERO),
    )


def summary_rows(summary: dict[str, list[Decimal]]) -> list[dict[str, str]]:
    return [
        {"rate": rate, "base": money_text(v[0]), "tax": money_text(v[1]), "gross": money_text(v[2])}
        for rate, v in sorted(summary.items())
    ]


@dataclass(frozen=True)
class CreditRequest:
    """Credit part of a document line (its `line_no`): a number of units, or
    a gross amount (a price reduction)."""

    line_no: int
    quantity: int = 0
    gross: Decimal | None = None


def credit_lines(
    source_lines: list[dict[str, Any]],
    credited_before: list[dict[str, Any]],
    requests: Sequence[CreditRequest],
    *,
    currency: str,
) -> DocumentAmounts:
    """The lines of a credit note against a document's lines, never more than
    was on the line minus what earlier credit notes took (units and money).
    Crediting the last units of a line takes exactly what is left of it."""
    by_no = {int(row["line_no"]): row for row in source_lines}
    taken: dict[int, list[Decimal]] = {}
    for row in credited_before:
        entry = taken.setdefault(int(row["source_line_no"]), [ZERO, ZERO, ZERO, ZERO])
        entry[0] += Decimal(row["quantity"])
        for k, key in enumerate(("net", "tax", "gross"), start=1):
            entry[k] += Decimal(row[key])
    out: list[LineIn] = []
    source_nos: list[int] = []
    for i, req in enumerate(requests):
        field = f"lines[{i}]"
        found = by_no.get(req.line_no)
        if found is None:
            raise ValidationFailed(
                f"{field}: the document has no line {req.line_no}; use one of {sorted(by_no)}.",
                field=field,
            )
        row = found
        qty, net, tax, gross = (Decimal(row[k]) for k in ("quantity", "net", "tax", "gross"))
        q0, n0, t0, g0 = taken.get(req.line_no, [ZERO, ZERO, ZERO, ZERO])
        left_qty, left = qty - q0, (net - n0, tax - t0, gross - g0)
        rate = Decimal(row["tax_rate"])
        if req.gross is not None:
            amount = Money(req.gross, currency).round("line")
            if amount.amount <= 0 or amount.amount > left[2]:
                raise ValidationFailed(
                    f"{field}: credit between 0.01 and {money_text(left[2])} {currency} on line "
                    f"{req.line_no} (what is left of it after earlier credit notes).",
                    field=field,
                )
            # What is left of a line, credited whole, takes its units with it.
            whole = amount.amount == left[2]
            if whole:
                amounts = left
            else:
                t = tax_from_gross(amount, rate)
                amounts = ((amount - t).amount, t.amount, amount.amount)
            out.append(
                LineIn(
                    row["description"] if whole else f"{row['description']} (price reduction)",
                    int(left_qty) if whole else 0,
                    Decimal(row["unit_price"]) if whole else ZERO,
                    rate,
                    sku=row.get("sku", ""),
                    order_line_id=row.get("order_line_id"),
                    amounts=amounts,
                )
            )
        else:
            if req.quantity <= 0 or req.quantity > left_qty:
                raise ValidationFailed(
                    f"{field}: credit 1 to {left_qty} unit(s) of line {req.line_no} (what is left "
                    "of it after earlier credit notes).",
                    field=field,
                )
            if req.quantity == left_qty:
                amounts = left
            else:
                share = Decimal(req.quantity) / qty
                g = Money(gross * share, currency).round("line")
                t = Money(tax * share, currency).round("tax")
                amounts = ((g - t).amount, t.amount, g.amount)
            out.append(
                LineIn(
                    row["description"],
                    req.quantity,
                    Decimal(row["unit_price"]),
                    rate,
                    sku=row.get("sku", ""),
                    order_line_id=row.get("order_line_id"),
                    discount=ZERO,
                    amounts=amounts,
                )
            )
        source_nos.append(req.line_no)
    result = document_lines(out, currency=currency, prices_include_tax=True, rounding="line")
    for row, no in zip(result.lines, source_nos, strict=True):
        row["source_line_no"] = no
    return result


def tax_rate_for(
    *, tax_class_id: int, country: str, region: str = "", at: dt.date | None = None
) -> Decimal:
    """The rate of a tax class at a destination on a date: the region's own
    rate, else the country's, else the tax class's rate."""
    at = at or dt.date.today()
    rows = RegionalTaxRate.objects.filter(
        tax_class_id=tax_class_id,
        country=(country or "").upper(),
        region__in=[(region or "").upper(), ""],
        valid_from__lte=at,
    ).order_by("-valid_from")
    best: dict[str, Decimal] = {}
    for row in rows:
        best.setdefault(row.region, row.rate)
    if region and region.upper() in best:
        return best[region.upper()]
    if "" in best:
        return best[""]
    return TaxClass.objects.values_list("rate", flat=True).get(pk=tax_class_id)
