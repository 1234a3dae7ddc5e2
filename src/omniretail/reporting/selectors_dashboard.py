"""The back-office dashboard: a store manager's morning view, one or two
aggregate queries per tile, whatever the number of orders.

Sales today and this month come from the **orders** (placed, not cancelled),
because the journal books a web or marketplace order only when its goods
leave (its invoice), so it lags what was sold; the tile "booked this month"
reads the journal through `accounting.reports.sales_by_channel` for the
accountant's view of the same month (net of discounts and refunds).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import (
    Count,
    DecimalField,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from omniretail.accounting.reports import SalesByChannel, sales_by_channel
from omniretail.core.access import Actor
from omniretail.fulfilment.models import Shipment
from omniretail.inventory.models import Location, ReorderRule, StockLevel
from omniretail.inventory.selectors import stock_value_by_location
from omniretail.orders.domain import (
    ALLOCATED,
    CANCELLED,
    CONFIRMED,
    ON_HOLD,
    PARTLY_FULFILLED,
    PENDING_PAYMENT,
)
from omniretail.orders.models import Order, OrderLine
from omniretail.payments.models import DrawerSession
from omniretail.reporting.selectors import ZERO, cents, day_start, orders_in_scope, reports_scope

LIST_LIMIT = 20
TOP_PRODUCTS = 10
REVIEW_DAYS = 30


def _money_sum(column: str, condition: Q | None = None) -> Coalesce:
    return Coalesce(
        Sum(column, filter=condition),
        Value(ZERO),
        output_field=DecimalField(max_digits=18, decimal_places=2),
    )


# --- Sales today and this month --------------------------------------------------------


@dataclass(frozen=True)
class SalesLine:
    code: str
    name: str
    today_orders: int = 0
    today_gross: Decimal = ZERO
    today_net: Decimal = ZERO
    month_orders: int = 0
    month_gross: Decimal = ZERO
    month_net: Decimal = ZERO

    def __add__(self, other: SalesLine) -> SalesLine:
        return SalesLine(
            code=self.code,
            name=self.name,
            today_orders=self.today_orders + other.today_orders,
            today_gross=self.today_gross + other.today_gross,
            today_net=self.today_net + other.today_net,
            month_orders=self.month_orders + other.month_orders,
            month_gross=self.month_gross + other.month_gross,
            month_net=self.month_net + other.month_net,
        )


@dataclass(frozen=True)
class SalesTile:
    by_channel: tuple[SalesLine, ...]
    by_store: tuple[SalesLine, ...]
    total: SalesLine


def _sales(orders: QuerySet[Order], today: dt.date) -> SalesTile:
    """One query grouped by channel and store; the two roll-ups are summed from
    its few rows (channels x stores), not from the orders."""
    today_start = day_start(today)
    is_today = Q(placed_at__gte=today_start)
    rows = (
        orders.filter(
            placed_at__gte=day_start(today.replace(day=1)),
            placed_at__lt=day_start(today + dt.timedelta(days=1)),
        )
        .exclude(status=CANCELLED)
        .order_by()
        .values("channel__code", "channel__name", "store__code", "store__name")
        .annotate(
            today_orders=Count("pk", filter=is_today),
            today_gross=_money_sum("total_gross", is_today),
            today_net=_money_sum("total_net", is_today),
            month_orders=Count("pk"),
            month_gross=_money_sum("total_gross"),
            month_net=_money_sum("total_net"),
        )
    )
    by_channel: dict[str, SalesLine] = {}
    by_store: dict[str, SalesLine] = {}
    total = SalesLine(code="", name="All")
    for r in rows:
        figures = {
            "today_orders": r["today_orders"],
            "today_gross": cents(r["today_gross"]),
            "today_net": cents(r["today_net"]),
            "month_orders": r["month_orders"],
            "month_gross": cents(r["month_gross"]),
            "month_net": cents(r["month_net"]),
        }
        channel = SalesLine(code=r["channel__code"], name=r["channel__name"], **figures)
        store_code = r["store__code"] or ""
        store = SalesLine(code=store_code, name=r["store__name"] or "No store (online)", **figures)
        by_channel[channel.code] = (
            by_channel[channel.code] + channel if channel.code in by_channel else channel
        )
        by_store[store_code] = by_store[store_code] + store if store_code in by_store else store
        total = total + channel
    return SalesTile(
        by_channel=tuple(by_channel[k] for k in sorted(by_channel)),
        by_store=tuple(by_store[k] for k in sorted(by_store, key=lambda c: (c == "", c))),
        total=total,
    )


# --- Orders waiting ----------------------------------------------------------------------


@dataclass(frozen=True)
class WaitingTile:
    awaiting_payment: int = 0
    to_allocate: int = 0  # confirmed (paid or authorised), stock not yet allocated
    to_ship: int = 0  # allocated or partly fulfilled, to an address
    pickup_to_prepare: int = 0  # pick-up orders allocated, their bag not ready yet
    ready_for_pickup: int = 0  # bags waiting at the counter
    on_hold: int = 0


def _waiting(orders: QuerySet[Order]) -> WaitingTile:
    counts = {
        (status, method): n
        for status, method, n in orders.filter(
            status__in=[PENDING_PAYMENT, CONFIRMED, ALLOCATED, PARTLY_FULFILLED, ON_HOLD]
        )
        .order_by()
        .values_list("status", "fulfilment_method")
        .annotate(n=Count("pk"))
    }
    ready = Shipment.objects.filter(
        kind=Shipment.Kind.PICKUP, status=Shipment.Status.READY, order__in=orders
    ).count()

    def of(statuses: tuple[str, ...], method: str | None = None) -> int:
        return sum(
            n
            for (status, m), n in counts.items()
            if status in statuses and (method is None or m == method)
        )

    open_statuses = (ALLOCATED, PARTLY_FULFILLED)
    return WaitingTile(
        awaiting_payment=of((PENDING_PAYMENT,)),
        to_allocate=of((CONFIRMED,)),
        to_ship=of(open_statuses, Order.Fulfilment.SHIP),
        pickup_to_prepare=max(of(open_statuses, Order.Fulfilment.PICKUP) - ready, 0),
        ready_for_pickup=ready,
        on_hold=of((ON_HOLD,)),
    )


# --- Stock alerts ------------------------------------------------------------------------


@dataclass(frozen=True)
class StockAlert:
    sku: str
    name: str
    location_code: str
    location_name: str
    available: int  # on hand - reserved
    reorder_point: int
    reorder_quantity: int


@dataclass(frozen=True)
class StockAlertsTile:
    count: int
    alerts: tuple[StockAlert, ...]


def _stock_alerts(store_ids: frozenset[int] | None) -> StockAlertsTile:
    """Reorder rules whose SKU's available stock at the location is at or below
    the reorder point (the replenishment page turns them into orders)."""
    level = StockLevel.objects.filter(
        sku_id=OuterRef("sku_id"), location_id=OuterRef("location_id")
    ).values("on_hand")
    reserved = StockLevel.objects.filter(
        sku_id=OuterRef("sku_id"), location_id=OuterRef("location_id")
    ).values("reserved")
    rules = ReorderRule.objects.filter(location__active=True)
    if store_ids is not None:
        rules = rules.filter(location__store_id__in=store_ids)
    below = rules.annotate(
        available=Coalesce(Subquery(level, output_field=IntegerField()), Value(0))
        - Coalesce(Subquery(reserved, output_field=IntegerField()), Value(0))
    ).filter(available__lte=F("reorder_point"))
    count = below.count()
    alerts = tuple(
        StockAlert(
            sku=r.sku.sku,
            name=f"{r.sku.product.name} {r.sku.name}".strip(),
            location_code=r.location.code,
            location_name=r.location.name,
            available=r.available,
            reorder_point=r.reorder_point,
            reorder_quantity=r.reorder_quantity,
        )
        for r in below.select_related("sku__product", "location").order_by(
            F("available") - F("reorder_point"), "location__code", "sku__sku"
        )[:LIST_LIMIT]
    )
    return StockAlertsTile(count=count, alerts=alerts)


# --- Sales to review -----------------------------------------------------------------------


@dataclass(frozen=True)
class FlaggedSale:
    order_id: int
    placed_at: dt.datetime
    channel: str
    store: str
    total_gross: Decimal
    flags: tuple[str, ...]


@dataclass(frozen=True)
class ReviewTile:
    count: int
    sales: tuple[FlaggedSale, ...]
    since: dt.date


def _review(orders: QuerySet[Order], today: dt.date) -> ReviewTile:
    """Orders with review flags (a till sale synced after being made offline,
    stock taken below zero) placed in the last REVIEW_DAYS days."""
    since = today - dt.timedelta(days=REVIEW_DAYS)
    flagged = orders.filter(placed_at__gte=day_start(since)).exclude(review_flags=[])
    count = flagged.count()
    sales = tuple(
        FlaggedSale(
            order_id=o.pk,
            placed_at=o.placed_at,
            channel=o.channel.name,
            store=o.store.name if o.store else "",
            total_gross=o.total_gross,
            flags=tuple(str(f) for f in o.review_flags),
        )
        for o in flagged.select_related("channel", "store").order_by("-placed_at", "-pk")[
            :LIST_LIMIT
        ]
    )
    return ReviewTile(count=count, sales=sales, since=since)


# --- Cash drawers ------------------------------------------------------------------------


@dataclass(frozen=True)
class DrawerRow:
    session_id: int
    terminal: str
    store: str
    opened_at: dt.datetime
    opened_by: str
    float_amount: Decimal
    closed_at: dt.datetime | None = None
    over_short: Decimal | None = None


@dataclass(frozen=True)
class DrawersTile:
    open: tuple[DrawerRow, ...]
    closed_today: tuple[DrawerRow, ...]
    over_short_today: Decimal  # sum of today's closings: negative is short


def _drawers(store_ids: frozenset[int] | None, today: dt.date) -> DrawersTile:
    sessions = DrawerSession.objects.filter(
        Q(status=DrawerSession.Status.OPEN)
        | Q(
            status=DrawerSession.Status.CLOSED,
            closed_at__gte=day_start(today),
            closed_at__lt=day_start(today + dt.timedelta(days=1)),
        )
    )
    if store_ids is not None:
        sessions = sessions.filter(store_id__in=store_ids)
    open_rows: list[DrawerRow] = []
    closed_rows: list[DrawerRow] = []
    for s in sessions.select_related("terminal", "store").order_by("store__name", "opened_at"):
        row = DrawerRow(
            session_id=s.pk,
            terminal=s.terminal.name,
            store=s.store.name,
            opened_at=s.opened_at,
            opened_by=s.opened_by,
            float_amount=s.float_amount,
            closed_at=s.closed_at,
            over_short=s.over_short,
        )
        (open_rows if s.status == DrawerSession.Status.OPEN else closed_rows).append(row)
    return DrawersTile(
        open=tuple(open_rows),
        closed_today=tuple(closed_rows),
        over_short_today=sum((r.over_short or ZERO for r in closed_rows), ZERO),
    )


# --- Top products ------------------------------------------------------------------------


@dataclass(frozen=True)
class TopProduct:
    sku: str
    name: str
    units: int  # ordered less cancelled
    revenue_gross: Decimal


def _top_products(orders: QuerySet[Order], today: dt.date) -> tuple[TopProduct, ...]:
    """This month's best sellers by revenue (then units), from non-cancelled orders."""
    month = (
        orders.filter(
            placed_at__gte=day_start(today.replace(day=1)),
            placed_at__lt=day_start(today + dt.timedelta(days=1)),
        )
        .exclude(status=CANCELLED)
        .values("pk")
    )
    rows = (
        OrderLine.objects.filter(order__in=month)
        .order_by()
        .values("sku__sku", "sku__product__name", "sku__name")
        .annotate(
            units=Sum(F("quantity") - F("quantity_cancelled")),
            revenue=_money_sum("gross"),
        )
        .order_by("-revenue", "-units", "sku__sku")[:TOP_PRODUCTS]
    )
    return tuple(
        TopProduct(
            sku=r["sku__sku"],
            name=f"{r['sku__product__name']} {r['sku__name']}".strip(),
            units=int(r["units"] or 0),
            revenue_gross=cents(r["revenue"]),
        )
        for r in rows
    )


# --- Stock value per location ------------------------------------------------------------


@dataclass(frozen=True)
class LocationValue:
    code: str
    name: str
    value: Decimal


def _stock_value(store_ids: frozenset[int] | None) -> tuple[LocationValue, ...]:
    """On hand x average cost per physical location (inventory's selector)."""
    locations = Location.objects.filter(kind__in=Location.PHYSICAL, active=True)
    if store_ids is not None:
        locations = locations.filter(store_id__in=store_ids)
    places = list(locations.order_by("code").values_list("pk", "code", "name"))
    if not places:
        return ()
    values = stock_value_by_location(location_ids=[pk for pk, _, _ in places])
    return tuple(
        LocationValue(code=code, name=name, value=values.get(pk, ZERO)) for pk, code, name in places
    )


# --- The dashboard -----------------------------------------------------------------------


@dataclass(frozen=True)
class Dashboard:
    today: dt.date
    all_stores: bool  # the actor sees every store (online orders included)
    sales: SalesTile
    booked: SalesByChannel
    waiting: WaitingTile
    stock_alerts: StockAlertsTile
    review: ReviewTile
    drawers: DrawersTile
    top_products: tuple[TopProduct, ...]
    stock_value: tuple[LocationValue, ...] = field(default_factory=tuple)


def dashboard(*, actor: Actor, today: dt.date | None = None) -> Dashboard:
    """Every tile for the stores the actor may report on (see `reports_scope`)."""
    store_ids = reports_scope(actor=actor)
    today = today or timezone.localdate()
    orders = orders_in_scope(store_ids=store_ids)
    return Dashboard(
        today=today,
        all_stores=store_ids is None,
        sales=_sales(orders, today),
        booked=sales_by_channel(
            actor=actor, date_from=today.replace(day=1), date_to=today, grouping="month"
        ),
        waiting=_waiting(orders),
        stock_alerts=_stock_alerts(store_ids),
        review=_review(orders, today),
        drawers=_drawers(store_ids, today),
        top_products=_top_products(orders, today),
        stock_value=_stock_value(store_ids),
    )
