"""Pure order rules: the status graph and line arithmetic. No Django."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from omniretail.core.money import Money, tax_from_gross, tax_on_net
from omniretail.pricing.engine_types import PricingResult

PENDING_PAYMENT = "pending_payment"
CONFIRMED = "confirmed"
ALLOCATED = "allocated"
PARTLY_FULFILLED = "partly_fulfilled"
FULFILLED = "fulfilled"
COMPLETED = "completed"
ON_HOLD = "on_hold"
CANCELLED = "cancelled"

# The order status graph, kept as data: status -> statuses it may move to.
TRANSITIONS: dict[str, frozenset[str]] = {
    PENDING_PAYMENT: frozenset({CONFIRMED, ON_HOLD, CANCELLED}),
    # A backordered order ships what it holds before the rest arrives.
    CONFIRMED: frozenset({ALLOCATED, PARTLY_FULFILLED, ON_HOLD, CANCELLED}),
    ALLOCATED: frozenset({PARTLY_FULFILLED, FULFILLED, ON_HOLD, CANCELLED}),
    # Back to allocated / partly fulfilled when a parcel comes back undelivered.
    PARTLY_FULFILLED: frozenset({FULFILLED, ALLOCATED, ON_HOLD}),
    FULFILLED: frozenset({COMPLETED, PARTLY_FULFILLED, ALLOCATED}),
    ON_HOLD: frozenset({PENDING_PAYMENT, CONFIRMED, ALLOCATED, CANCELLED}),
    COMPLETED: frozenset(),
    CANCELLED: frozenset(),
}


def transition_allowed(current: str, target: str) -> bool:
    return target in TRANSITIONS.get(current, frozenset())


@dataclass(frozen=True)
class LineInput:
    sku_id: int
    quantity: int
    unit_price: Decimal  # as listed: gross when prices include tax, else net
    tax_rate: Decimal


@dataclass(frozen=True)
class PricedLine:
    sku_id: int
    quantity: int
    unit_price: Money
    tax_rate: Decimal
    net: Money
    tax: Money
    gross: Money
    list_price: Money | None = None  # the regular unit price, when the engine priced it
    discount: Money | None = None  # taken off the line (in its tax mode)
    discounts: tuple[dict[str, Any], ...] = ()  # each discount: amount, reason, promotion, code


@dataclass(frozen=True)
class PricingNote:
    """What the pricing engine applied to a whole order, kept on the order."""

    discount_total: Decimal = Decimal(0)
    promotions: tuple[dict[str, Any], ...] = ()
    coupon_codes: tuple[str, ...] = ()
    campaign_code: str = ""
    source_code: str = ""
    attribution_via: str = ""


@dataclass(frozen=True)
class Totals:
    net: Money
    tax: Money
    gross: Money
    tax_summary: dict[str, tuple[Money, Money]]  # rate -> (net, tax)


def lines_price(
    lines: list[LineInput], *, currency: str, prices_include_tax: bool
) -> tuple[list[PricedLine], Totals]:
    """Extend, tax and total lines; each line is rounded at the line point and
    tax per line, so the document's lines always add up to its totals."""
    priced: list[PricedLine] = []
    for line in lines:
        unit = Money(line.unit_price, currency)
        extended = (unit * line.quantity).round("line")
        if prices_include_tax:
            tax = tax_from_gross(extended, line.tax_rate)
            gross, net = extended, extended - tax
        else:
            tax = tax_on_net(extended, line.tax_rate)
            net, gross = extended, extended + tax
        priced.append(PricedLine(line.sku_id, line.quantity, unit, line.tax_rate, net, tax, gross))
    zero = Money.zero(currency)
    summary: dict[str, tuple[Money, Money]] = {}
    for p in priced:
        key = format(p.tax_rate.normalize(), "f")
        net, tax = summary.get(key, (zero, zero))
        summary[key] = (net + p.net, tax + p.tax)
    totals = Totals(
        net=sum((p.net for p in priced), zero),
        tax=sum((p.tax for p in priced), zero),
        gross=sum((p.gross for p in priced), zero),
        tax_summary=summary,
    )
    return priced, totals


def priced_from_engine(result: PricingResult) -> tuple[list[PricedLine], Totals, PricingNote]:
    """The pricing engine's result as an order's lines and totals: every
    channel prices with the one engine and books what it said."""
    currency = result.currency
    priced = [
        PricedLine(
            sku_id=line.variant_id,
            quantity=line.quantity,
            unit_price=Money(line.unit_price, currency),
            tax_rate=line.tax_rate,
            net=Money(line.net, currency),
            tax=Money(line.tax, currency),
            gross=Money(line.gross, currency),
            list_price=Money(line.list_price, currency),
            discount=Money(line.discount_total, currency),
            discounts=tuple(
                {
                    "amount": format(d.amount, "f"),
                    "reason": d.reason,
                    "promotion_id": d.promotion_id,
                    "code": d.code,
                }
                for d in line.discounts
            ),
        )
        for line in result.lines
    ]
    summary = {
        format(row.rate.normalize(), "f"): (Money(row.base, currency), Money(row.tax, currency))
        for row in result.tax_summary
    }
    totals = Totals(
        net=Money(result.totals.net, currency),
        tax=Money(result.totals.tax, currency),
        gross=Money(result.totals.gross, currency),
        tax_summary=summary,
    )
    campaign = result.campaign
    note = PricingNote(
        discount_total=result.totals.discount_total,
        promotions=tuple(
            {
                "promotion_id": a.promotion_id,
                "code": a.code,
                "name": a.name,
                "amount": format(a.amount, "f"),
                "coupon_code": a.coupon_code,
                "campaign": a.campaign,
            }
            for a in result.applied
        ),
        coupon_codes=tuple(result.coupons_applied),
        campaign_code=campaign.code if campaign else "",
        source_code=(campaign.source_code or "") if campaign else "",
        attribution_via=campaign.via if campaign else "",
    )
    return priced, totals, note
