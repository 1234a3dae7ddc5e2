"""Read-only report queries: who may see what, and the campaign report.

Every figure comes from aggregate queries (GROUP BY in the database). The one
exception is the split of discounts per promotion: it lives in the orders'
`promotions` JSON list, which SQLite and PostgreSQL cannot unnest with one
portable query, so it is summed in Python over the filtered orders only,
streamed (`values()` + `iterator()`), and only orders that applied one.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import (
    CharField,
    Count,
    DecimalField,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from omniretail.core.access import Actor
from omniretail.core.errors import PermissionDenied, ValidationFailed
from omniretail.orders.domain import CANCELLED
from omniretail.orders.models import Order
from omniretail.pricing.models import Campaign, CouponRedemption

# Reports show revenue and margins: the audience of the books (store managers
# for their stores, accountants and admins), not cashiers.
REPORTS_PERMISSION = "books.read"
ZERO = Decimal("0.00")
CENT = Decimal("0.01")
MAX_RANGE_DAYS = 366
NO_CAMPAIGN = "No campaign"


def reports_scope(*, actor: Actor) -> frozenset[int] | None:
    """The stores whose orders the actor may report on (None = every order,
    store-less online orders included). Refuses an actor without the role."""
    store_ids = actor.store_ids(REPORTS_PERMISSION)
    if store_ids is not None and not store_ids:
        raise PermissionDenied(
            f"{actor.label} may not read reports. Ask an administrator for the store manager "
            "role (your stores' figures) or the accountant role (every store).",
            code="forbidden",
        )
    return store_ids


def orders_in_scope(*, store_ids: frozenset[int] | None) -> QuerySet[Order]:
    """Orders the scope covers: a store manager sees their stores' orders only,
    never orders that belong to no store (shipped from a warehouse)."""
    orders = Order.objects.all()
    if store_ids is not None:
        orders = orders.filter(store_id__in=store_ids)
    return orders


def day_start(day: dt.date) -> dt.datetime:
    """Midnight of a local day, aware: bounds on placed_at use its index."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def report_range_check(*, date_from: dt.date, date_to: dt.date) -> None:
    if date_to < date_from:
        raise ValidationFailed(
            f"to: the end date {date_to.isoformat()} is before the start date "
            f"{date_from.isoformat()}; swap them.",
            field="to",
        )
    if (date_to - date_from).days >= MAX_RANGE_DAYS:
        raise ValidationFailed(
            f"to: a report covers at most {MAX_RANGE_DAYS} days; shorten the range.",
            field="to",
        )


def cents(value: Decimal | int | None) -> Decimal:
    """Sums come back as each engine makes them (SQLite drops trailing zeros)."""
    return Decimal(value or 0).quantize(CENT)


def average(total: Decimal, count: int) -> Decimal:
    if not count:
        return ZERO
    return (total / count).quantize(CENT, rounding=ROUND_HALF_UP)


# --- The campaign report ------------------------------------------------------------


@dataclass(frozen=True)
class PromotionDiscount:
    """What one promotion gave in a campaign row: on how many orders, how much."""

    code: str
    name: str
    orders: int
    amount: Decimal


@dataclass(frozen=True)
class CampaignFigures:
    orders: int = 0
    revenue_net: Decimal = ZERO
    revenue_gross: Decimal = ZERO
    discount: Decimal = ZERO  # sum of the orders' discount_total (promotions and staff)
    promotion_discount: Decimal = ZERO  # of which promotions (the rest: staff discounts)
    coupon_redemptions: int = 0
    via_source_code: int = 0  # orders attributed by a source code
    via_promotion: int = 0  # orders attributed by a promotion of the campaign

    @property
    def average_order_gross(self) -> Decimal:
        return average(self.revenue_gross, self.orders)

    @property
    def average_order_net(self) -> Decimal:
        return average(self.revenue_net, self.orders)

    @property
    def other_discount(self) -> Decimal:
        """Discounts given by staff (manual line or order discounts), not by a promotion."""
        return self.discount - self.promotion_discount

    def __add__(self, other: CampaignFigures) -> CampaignFigures:
        return CampaignFigures(
            orders=self.orders + other.orders,
            revenue_net=self.revenue_net + other.revenue_net,
            revenue_gross=self.revenue_gross + other.revenue_gross,
            discount=self.discount + other.discount,
            promotion_discount=self.promotion_discount + other.promotion_discount,
            coupon_redemptions=self.coupon_redemptions + other.coupon_redemptions,
            via_source_code=self.via_source_code + other.via_source_code,
            via_promotion=self.via_promotion + other.via_promotion,
        )


@dataclass(frozen=True)
class CampaignChannelRow:
    channel_code: str
    channel_name: str
    currency: str
    figures: CampaignFigures
    promotions: tuple[PromotionDiscount, ...]


@dataclass(frozen=True)
class CampaignSection:
    code: str  # "" for orders no campaign claims
    name: str
    currency: str
    channels: tuple[CampaignChannelRow, ...]
    total: CampaignFigures
    promotions: tuple[PromotionDiscount, ...]  # summed over the channels


@dataclass(frozen=True)
class CampaignReport:
    date_from: dt.date
    date_to: dt.date
    campaigns: tuple[CampaignSection, ...]
    cancelled_orders: int  # left out of every figure above


def _redemptions_per_order() -> Coalesce:
    """Coupon redemptions of the outer order (pricing points at orders by type
    and a text id: pricing knows nothing of orders)."""
    count = (
        CouponRedemption.objects.filter(
            order_type="order", order_id=Cast(OuterRef("pk"), output_field=CharField())
        )
        .order_by()
        .values("order_type")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(count, output_field=IntegerField()), Value(0))


def _money_sum(column: str) -> Coalesce:
    return Coalesce(
        Sum(column),
        Value(ZERO),
        output_field=DecimalField(max_digits=18, decimal_places=2),
    )


GroupKey = tuple[str, str, str]  # campaign code, channel code, currency


def _promotion_split(
    orders: QuerySet[Order],
) -> dict[GroupKey, dict[str, tuple[str, int, Decimal]]]:
    """Per (campaign, channel, currency) and promotion code: name, orders, amount."""
    split: dict[GroupKey, dict[str, tuple[str, int, Decimal]]] = defaultdict(dict)
    applied = (
        orders.filter(discount_total__gt=0)
        .order_by()
        .values_list("campaign_code", "channel__code", "currency", "promotions")
    )
    for campaign_code, channel_code, currency, promotions in applied.iterator(chunk_size=2000):
        per_promotion = split[(campaign_code, channel_code, currency)]
        for applied_promotion in promotions or []:
            code = str(applied_promotion.get("code") or "")
            name, count, amount = per_promotion.get(code, ("", 0, ZERO))
            per_promotion[code] = (
                str(applied_promotion.get("name") or name or code),
                count + 1,
                amount + Decimal(str(applied_promotion.get("amount") or "0")),
            )
    return split


def _discounts(entries: dict[str, tuple[str, int, Decimal]]) -> tuple[PromotionDiscount, ...]:
    rows = [
        PromotionDiscount(code=code, name=name, orders=count, amount=cents(amount))
        for code, (name, count, amount) in entries.items()
    ]
    return tuple(sorted(rows, key=lambda p: (-p.amount, p.code)))


def campaign_report(
    *, actor: Actor, date_from: dt.date, date_to: dt.date, campaign_code: str | None = None
) -> CampaignReport:
    """Orders placed from `date_from` to `date_to` (local days, both included)
    per campaign and channel: order count, net and gross revenue, discounts
    (in total and per promotion), average order value, coupon redemptions and
    how the orders were attributed. Cancelled orders count in nothing but
    `cancelled_orders`. Orders no campaign claims form the last section."""
    report_range_check(date_from=date_from, date_to=date_to)
    store_ids = reports_scope(actor=actor)
    placed = orders_in_scope(store_ids=store_ids).filter(
        placed_at__gte=day_start(date_from),
        placed_at__lt=day_start(date_to + dt.timedelta(days=1)),
    )
    if campaign_code is not None:
        placed = placed.filter(campaign_code=campaign_code)
    cancelled = placed.filter(status=CANCELLED).count()
    counted = placed.exclude(status=CANCELLED)
    grouped = (
        counted.order_by()
        .values("campaign_code", "channel__code", "channel__name", "currency")
        .annotate(
            orders=Count("pk"),
            revenue_net=_money_sum("total_net"),
            revenue_gross=_money_sum("total_gross"),
            discount=_money_sum("discount_total"),
            via_source_code=Count("pk", filter=Q(attribution_via="source_code")),
            via_promotion=Count("pk", filter=Q(attribution_via="promotion")),
            coupon_redemptions=Sum(_redemptions_per_order()),
        )
    )
    rows = list(grouped)
    split = _promotion_split(counted)
    names = dict(
        Campaign.objects.filter(
            code__in={r["campaign_code"] for r in rows if r["campaign_code"]}
        ).values_list("code", "name")
    )

    sections: dict[tuple[str, str], list[CampaignChannelRow]] = defaultdict(list)
    for r in rows:
        key: GroupKey = (r["campaign_code"], r["channel__code"], r["currency"])
        promotions = _discounts(split.get(key, {}))
        figures = CampaignFigures(
            orders=r["orders"],
            revenue_net=cents(r["revenue_net"]),
            revenue_gross=cents(r["revenue_gross"]),
            discount=cents(r["discount"]),
            promotion_discount=sum((p.amount for p in promotions), ZERO),
            coupon_redemptions=int(r["coupon_redemptions"] or 0),
            via_source_code=r["via_source_code"],
            via_promotion=r["via_promotion"],
        )
        sections[(r["campaign_code"], r["currency"])].append(
            CampaignChannelRow(
                channel_code=r["channel__code"],
                channel_name=r["channel__name"],
                currency=r["currency"],
                figures=figures,
                promotions=promotions,
            )
        )

    campaigns = []
    for (code, currency), channel_rows in sections.items():
        channel_rows.sort(key=lambda row: row.channel_code)
        merged: dict[str, tuple[str, int, Decimal]] = {}
        for row in channel_rows:
            for p in row.promotions:
                _, count, amount = merged.get(p.code, (p.name, 0, ZERO))
                merged[p.code] = (p.name, count + p.orders, amount + p.amount)
        total = CampaignFigures()
        for row in channel_rows:
            total = total + row.figures
        campaigns.append(
            CampaignSection(
                code=code,
                name=names.get(code, code) if code else NO_CAMPAIGN,
                currency=currency,
                channels=tuple(channel_rows),
                total=total,
                promotions=_discounts(merged),
            )
        )
    # Campaigns by code, the orders no campaign claims last.
    campaigns.sort(key=lambda c: (c.code == "", c.code, c.currency))
    return CampaignReport(
        date_from=date_from,
        date_to=date_to,
        campaigns=tuple(campaigns),
        cancelled_orders=cancelled,
    )


CSV_HEADER = (
    "campaign_code",
    "campaign_name",
    "channel_code",
    "channel_name",
    "currency",
    "orders",
    "revenue_net",
    "revenue_gross",
    "discount_total",
    "promotion_discount",
    "other_discount",
    "average_order_gross",
    "average_order_net",
    "coupon_redemptions",
    "via_source_code",
    "via_promotion",
    "promotions",
)


def campaign_report_rows(report: CampaignReport) -> list[list[str]]:
    """The report as CSV rows (header first): one row per campaign and channel;
    `promotions` lists each as code=amount (orders), separated by '; '."""
    rows: list[list[str]] = [list(CSV_HEADER)]
    for campaign in report.campaigns:
        for row in campaign.channels:
            f = row.figures
            rows.append(
                [
                    campaign.code,
                    campaign.name,
                    row.channel_code,
                    row.channel_name,
                    row.currency,
                    str(f.orders),
                    str(f.revenue_net),
                    str(f.revenue_gross),
                    str(f.discount),
                    str(f.promotion_discount),
                    str(f.other_discount),
                    str(f.average_order_gross),
                    str(f.average_order_net),
                    str(f.coupon_redemptions),
                    str(f.via_source_code),
                    str(f.via_promotion),
                    "; ".join(f"{p.code}={p.amount} ({p.orders})" for p in row.promotions),
                ]
            )
    return rows
