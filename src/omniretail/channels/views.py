"""Back-office order pages (mounted at /backoffice/orders/, namespace
`backoffice_orders`): the list every channel books into, one order with its
timeline and the staff verbs (hold, release, cancel), and the phone-order form.

Pages only parse and call services; store scoping follows the services' rule:
staff see the orders of the stores where they hold `orders.read`, and orders
that belong to no store (online orders shipped from a warehouse) only with a
role over every store.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import FieldError
from django.core.exceptions import PermissionDenied as HttpForbidden
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from omniretail.catalog.selectors import variants_by_code
from omniretail.channels.intake import IntakeCustomer, IntakeLine, IntakeOrder, order_intake
from omniretail.core.access import Actor, actor_for_user
from omniretail.core.errors import DomainError
from omniretail.core.models import Channel, OutboxEvent, Store
from omniretail.customers.models import Customer
from omniretail.fulfilment.models import RoutingDecision, Shipment
from omniretail.inventory.models import Reservation
from omniretail.orders import models as orders_models
from omniretail.orders.domain import CANCELLED, ON_HOLD, transition_allowed
from omniretail.orders.models import Order, OrderActivity
from omniretail.orders.services import (
    LINE_DEMAND,
    REASON_MAX,
    order_cancel,
    order_hold,
    order_release_hold,
)

PAGE_SIZE = 50
PHONE_CHANNEL = "phone"
SEARCH_LIMIT = 10
PHONE_ID = re.compile(r"^PHONE-[0-9a-f]{10}$")


def _admin_url(name: str, *args: Any) -> str | None:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:  # the model is not registered in this admin site
        return None


def _visible_orders(actor: Actor) -> QuerySet[Order]:
    store_ids = actor.store_ids("orders.read")
    if store_ids is None:
        return Order.objects.all()
    if not store_ids:
        raise HttpForbidden("Your roles do not include reading orders; ask a store manager.")
    return Order.objects.filter(store_id__in=store_ids)


def _can_write(actor: Actor, order: Order) -> bool:
    return actor.can("orders.write", order.store_id, company_wide=order.store_id is None)


# --- The order list ------------------------------------------------------------


class OrderFilterForm(forms.Form):
    channel = forms.ModelChoiceField(
        queryset=Channel.objects.none(), required=False, empty_label="All channels"
    )
    store = forms.ModelChoiceField(
        queryset=Store.objects.none(), required=False, empty_label="All stores"
    )
    status = forms.ChoiceField(
        choices=[("", "All statuses"), *Order.Status.choices], required=False
    )
    fulfilment = forms.ChoiceField(
        choices=[("", "Any fulfilment"), *Order.Fulfilment.choices], required=False
    )
    placed_from = forms.DateField(
        required=False, label="Placed from", widget=forms.DateInput(attrs={"type": "date"})
    )
    placed_to = forms.DateField(
        required=False, label="to", widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, data: Any, *, store_ids: frozenset[int] | None) -> None:
        super().__init__(data)
        self.fields["channel"].queryset = Channel.objects.order_by("name")  # type: ignore[attr-defined]
        stores = Store.objects.order_by("name")
        if store_ids is not None:
            stores = stores.filter(pk__in=store_ids)
        self.fields["store"].queryset = stores  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("placed_from"), data.get("placed_to")
        if start and end and end < start:
            self.add_error("placed_to", "The end date is before the start date; swap them.")
        return data


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _filtered(orders: QuerySet[Order], filters: dict[str, Any]) -> QuerySet[Order]:
    """Every filter but the status, which the counts per status leave out."""
    if filters.get("channel"):
        orders = orders.filter(channel=filters["channel"])
    if filters.get("store"):
        orders = orders.filter(store=filters["store"])
    if filters.get("fulfilment"):
        orders = orders.filter(fulfilment_method=filters["fulfilment"])
    # Bounds in the local day, so placed_at's index is used (no date cast).
    if filters.get("placed_from"):
        orders = orders.filter(placed_at__gte=_day_start(filters["placed_from"]))
    if filters.get("placed_to"):
        next_day = filters["placed_to"] + dt.timedelta(days=1)
        orders = orders.filter(placed_at__lt=_day_start(next_day))
    return orders


class CountedPaginator(Paginator):
    """A paginator told its count (from the counts per status) instead of
    running its own COUNT query."""

    def __init__(self, object_list: Any, per_page: int, *, count: int) -> None:
        super().__init__(object_list, per_page)
        self.__dict__["count"] = count


@staff_member_required
@require_GET
def order_list(request: HttpRequest) -> HttpResponse:
    """Orders from every channel in the user's stores, newest first, with
    counts per status: one grouped query for the counts, one for the page."""
    actor = actor_for_user(request.user)
    orders = _visible_orders(actor)
    form = OrderFilterForm(request.GET or None, store_ids=actor.store_ids("orders.read"))
    filters: dict[str, Any] = {}
    if form.is_bound:
        form.is_valid()  # a bad filter is shown with its error and left out; the rest apply
        filters = form.cleaned_data
    base = _filtered(orders, filters)
    counts = dict(base.order_by().values_list("status").annotate(n=Count("pk")))
    status = filters.get("status") or ""
    rows = base.filter(status=status) if status else base
    total = counts.get(status, 0) if status else sum(counts.values())
    paginator = CountedPaginator(
        rows.select_related("channel", "store", "customer"), PAGE_SIZE, count=total
    )
    page = paginator.get_page(request.GET.get("page"))
    context = {
        **admin.site.each_context(request),
        "title": "Orders",
        "form": form,
        "page_obj": page,
        "total": total,
        "status_counts": [
            (value, label, counts.get(value, 0))
            for value, label in Order.Status.choices
            if counts.get(value)
        ],
        "status": status,
        "all_count": sum(counts.values()),
        "can_take_phone_orders": actor.can("orders.intake"),
    }
    return render(request, "backoffice/orders/list.html", context)


# --- One order -------------------------------------------------------------------


@dataclass(frozen=True)
class LineRow:
    line_no: int
    sku: str
    description: str
    unit_price: Decimal
    gross: Decimal
    ordered: int
    held: int
    backordered: int
    fulfilled: int
    cancelled: int
    returned: int


@dataclass(frozen=True)
class TimelineEntry:
    at: dt.datetime
    kind: str  # status, routing, shipment, return, payment, event…
    text: str
    actor: str = ""
    rule: str = ""
    plan: tuple[dict[str, Any], ...] = ()
    rank: int = 0  # among entries of the same instant: activities first


def _order_for(actor: Actor, order_id: int) -> Order:
    order = (
        _visible_orders(actor)
        .select_related("channel", "store", "customer", "pickup_store", "terminal")
        .filter(pk=order_id)
        .first()
    )
    if order is None:
        raise Http404(f"No order #{order_id} in your stores.")
    return order


def _line_rows(order: Order) -> list[LineRow]:
    lines = list(order.lines.select_related("sku").order_by("line_no"))
    held: dict[tuple[int, str], int] = defaultdict(int)
    for demand_id, status, qty in Reservation.objects.filter(
        demand_type=LINE_DEMAND,
        demand_id__in=[str(line.pk) for line in lines],
        status__in=[Reservation.Status.ACTIVE, Reservation.Status.BACKORDERED],
    ).values_list("demand_id", "status", "quantity"):
        held[(int(demand_id), status)] += qty
    return [
        LineRow(
            line_no=line.line_no,
            sku=line.sku.sku,
            description=line.description,
            unit_price=line.unit_price,
            gross=line.gross,
            ordered=line.quantity,
            held=held[(line.pk, Reservation.Status.ACTIVE)],
            backordered=held[(line.pk, Reservation.Status.BACKORDERED)],
            fulfilled=line.quantity_fulfilled,
            cancelled=line.quantity_cancelled,
            returned=line.quantity_returned,
        )
        for line in lines
    ]


def _plan_steps(plan: Any) -> tuple[dict[str, Any], ...]:
    return tuple(step for step in plan if isinstance(step, dict)) if isinstance(plan, list) else ()


def _returns(order: Order) -> list[Any]:
    """The order's returns, once the orders app has them (built in parallel)."""
    model = getattr(orders_models, "Return", None)
    if model is None:
        return []
    try:
        return list(model.objects.filter(order_id=order.pk))
    except FieldError:
        return []


def _return_entry(ret: Any) -> TimelineEntry | None:
    """A return as one timeline entry; read defensively, as the returns model
    is young and may still change shape."""
    at = getattr(ret, "created_at", None)
    if at is None:
        return None
    text = f"return {ret}"
    if hasattr(ret, "get_status_display"):
        text += f": {ret.get_status_display().lower()}"
    amount = getattr(ret, "refund_amount", None)
    if amount:
        text += f" — {amount} {getattr(ret, 'currency', '')}".rstrip()
        if hasattr(ret, "get_refund_method_display"):
            text += f", {ret.get_refund_method_display().lower()}"
    if getattr(ret, "reason", ""):
        text += f" ({ret.reason})"
    return TimelineEntry(at, "return", text, actor=getattr(ret, "created_by", ""), rank=1)


def _timeline(order: Order, shipments: list[Shipment], *, with_events: bool) -> list[Any]:
    """Everything that happened to the order, oldest first: its activity rows,
    the routing decisions (rule, reason, plan), shipments, returns and — on
    request, since the outbox has no index by order — its outbox events."""
    decisions = {d.pk: d for d in RoutingDecision.objects.filter(order=order)}
    entries: list[TimelineEntry] = []
    for activity in OrderActivity.objects.filter(order=order).order_by("at", "pk"):
        decision = decisions.pop(activity.data.get("decision"), None)
        entries.append(
            TimelineEntry(
                at=activity.at,
                kind=activity.kind,
                text=activity.message,
                actor=activity.actor_label,
                rule=decision.rule if decision else "",
                plan=_plan_steps(decision.plan) if decision else (),
            )
        )
    for decision in decisions.values():  # decisions no activity row points at
        entries.append(
            TimelineEntry(
                at=decision.at,
                kind="routing",
                text=decision.reason,
                rule=decision.rule,
                plan=_plan_steps(decision.plan),
            )
        )
    for shipment in shipments:
        text = f"shipment {shipment.number} from {shipment.location.code}: " + (
            shipment.get_status_display().lower()
        )
        if shipment.carrier or shipment.tracking_number:
            text += f" — {shipment.carrier} {shipment.tracking_number}".rstrip()
        entries.append(TimelineEntry(shipment.created_at, "shipment", text, rank=1))
    for ret in _returns(order):
        entry = _return_entry(ret)
        if entry is not None:
            entries.append(entry)
    if with_events:
        for event in OutboxEvent.objects.filter(payload__order_id=order.pk).order_by("created_at")[
            :200
        ]:
            state = "delivered" if event.delivered_at else f"pending ({event.attempts} attempts)"
            entries.append(
                TimelineEntry(event.created_at, "event", f"{event.name} — {state}", rank=2)
            )
    return sorted(entries, key=lambda e: (e.at, e.rank))


@staff_member_required
@require_GET
def order_detail(request: HttpRequest, order_id: int) -> HttpResponse:
    actor = actor_for_user(request.user)
    order = _order_for(actor, order_id)
    shipments = list(Shipment.objects.filter(order=order).select_related("location"))
    with_events = request.GET.get("events") == "1"
    can_write = _can_write(actor, order)
    context = {
        **admin.site.each_context(request),
        "title": f"Order #{order.pk}",
        "order": order,
        "lines": _line_rows(order),
        "timeline": _timeline(order, shipments, with_events=with_events),
        "shipments": shipments,
        "with_events": with_events,
        "address": order.shipping_address or {},
        "can_hold": can_write and transition_allowed(order.status, ON_HOLD),
        "can_release": can_write and order.status == ON_HOLD,
        "can_cancel": can_write and transition_allowed(order.status, CANCELLED),
        "reason_max": REASON_MAX,
        "admin_order_url": _admin_url("admin:orders_order_change", order.pk),
        "admin_customer_url": _admin_url("admin:customers_customer_change", order.customer_id)
        if order.customer_id
        else None,
    }
    return render(request, "backoffice/orders/detail.html", context)


def _act(
    request: HttpRequest,
    order_id: int,
    verb: Callable[[Order, Actor, str], Order],
    done: str,
) -> HttpResponse:
    """Run one state verb with the signed-in user's actor; a refusal is shown
    as it is and changes nothing (the service's transaction rolls back)."""
    actor = actor_for_user(request.user)
    order = _order_for(actor, order_id)
    reason = request.POST.get("reason", "").strip()
    try:
        verb(order, actor, reason)
    except DomainError as exc:  # the service checks the reason, length included
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Order #{order.pk} {done}.")
    return HttpResponseRedirect(reverse("backoffice_orders:detail", args=[order.pk]))


@staff_member_required
@require_POST
def order_hold_action(request: HttpRequest, order_id: int) -> HttpResponse:
    return _act(
        request,
        order_id,
        lambda order, actor, reason: order_hold(order=order, actor=actor, reason=reason),
        "is on hold",
    )


@staff_member_required
@require_POST
def order_release_action(request: HttpRequest, order_id: int) -> HttpResponse:
    return _act(
        request,
        order_id,
        lambda order, actor, reason: order_release_hold(order=order, actor=actor, reason=reason),
        "is released from hold",
    )


@staff_member_required
@require_POST
def order_cancel_action(request: HttpRequest, order_id: int) -> HttpResponse:
    return _act(
        request,
        order_id,
        lambda order, actor, reason: order_cancel(order=order, actor=actor, reason=reason),
        "is cancelled",
    )


# --- Phone orders ------------------------------------------------------------------

ADDRESS_LABELS = (
    ("name", "Name"),
    ("line1", "Address"),
    ("line2", "Address (2)"),
    ("postcode", "Postcode"),
    ("city", "City"),
    ("country", "Country (FR)"),
)
ADDRESS_KEYS = tuple(name for name, _ in ADDRESS_LABELS)
CUSTOMER_KEYS = ("email", "first_name", "last_name", "phone")
LINE_FIELD = re.compile(r"^lines\[(\d+)\](?:\.(\w+))?$")


@dataclass
class PhoneRow:
    code: str = ""
    quantity: str = ""
    sku: str = ""  # the SKU the code stands for (a barcode's SKU), once looked up
    errors: list[str] | None = None


@dataclass
class PhoneForm:
    """What the staff member typed, and the problems found, by field."""

    external_id: str
    values: dict[str, str]
    rows: list[PhoneRow]
    errors: dict[str, list[str]]

    def error(self, where: str, message: str) -> None:
        self.errors.setdefault(where, []).append(message)


def _phone_form(post: Any | None) -> PhoneForm:
    if post is None:
        return PhoneForm(
            external_id=f"PHONE-{uuid.uuid4().hex[:10]}",
            values={"fulfilment": "ship", "country": "FR", "shipping_price": "0.00"},
            rows=[PhoneRow() for _ in range(3)],
            errors={},
        )
    # The id is made when the form is first shown, so a form sent twice is
    # booked once (intake is idempotent by channel and external id).
    external_id = post.get("external_id", "")
    if not PHONE_ID.match(external_id):
        external_id = f"PHONE-{uuid.uuid4().hex[:10]}"
    keys = (*CUSTOMER_KEYS, *ADDRESS_KEYS, "fulfilment", "pickup_store", "shipping_price")
    rows = [
        PhoneRow(code.strip(), qty.strip())
        for code, qty in zip(post.getlist("line_code"), post.getlist("line_quantity"), strict=False)
    ]
    return PhoneForm(
        external_id=external_id,
        values={key: post.get(key, "").strip() for key in keys},
        rows=rows or [PhoneRow()],
        errors={},
    )


def _row_error(form: PhoneForm, row: int, message: str) -> None:
    target = form.rows[row]
    target.errors = [*(target.errors or []), message]


def _phone_intake(form: PhoneForm) -> tuple[IntakeOrder | None, list[int]]:
    """The intake request, or None with the form's own errors (what intake
    cannot judge: numbers that do not parse). Returns the form row of each
    intake line, to put intake's errors next to the right row."""
    values = form.values
    if not values["email"]:
        form.error("email", "Ask for an e-mail address: the order confirmation goes there.")
    try:
        shipping = Decimal(values["shipping_price"] or "0")
    except InvalidOperation:
        form.error("shipping_price", "Enter an amount such as 4.90.")
        shipping = Decimal(0)
    lines: list[IntakeLine] = []
    rows: list[int] = []
    codes = [row.code for row in form.rows if row.code]
    found = variants_by_code(skus=codes, barcodes=codes)
    for i, row in enumerate(form.rows):
        if not row.code and not row.quantity:
            continue
        if not row.code:
            _row_error(form, i, "Enter a SKU or scan a barcode, or clear the quantity.")
            continue
        try:
            quantity = int(row.quantity or "1")
        except ValueError:
            _row_error(form, i, "Enter the quantity as a whole number.")
            continue
        variant = found.get(row.code)
        as_barcode = variant is not None and variant.sku != row.code
        row.sku = variant.sku if variant is not None else row.code
        lines.append(
            IntakeLine(
                quantity,
                sku=None if as_barcode else row.code,
                barcode=row.code if as_barcode else None,
            )
        )
        rows.append(i)
    if not lines and not any(row.errors for row in form.rows):
        form.error("lines", "Add at least one line: a SKU or barcode and a quantity.")
    if form.errors or any(row.errors for row in form.rows):
        return None, rows
    ship = values["fulfilment"] == "ship"
    return (
        IntakeOrder(
            external_id=form.external_id,
            lines=lines,
            customer=IntakeCustomer(
                email=values["email"],
                first_name=values["first_name"],
                last_name=values["last_name"],
                phone=values["phone"],
            ),
            fulfilment=values["fulfilment"],
            pickup_store=None if ship else values["pickup_store"],
            shipping_address={k: values[k] for k in ADDRESS_KEYS if values[k]} if ship else {},
            shipping_price=shipping if ship else Decimal(0),
            payment_status="unpaid",
        ),
        rows,
    )


def _intake_errors(form: PhoneForm, exc: DomainError, rows: list[int]) -> None:
    """Put each of intake's field errors next to its field; errors about
    stock name SKUs, so they go to the rows of those SKUs."""
    problems = exc.extra.get("errors") or [{"field": exc.field or "", "message": exc.message}]
    for problem in problems:
        where, message = str(problem.get("field") or ""), str(problem.get("message", ""))
        line = LINE_FIELD.match(where)
        if line and int(line.group(1)) < len(rows):
            _row_error(form, rows[int(line.group(1))], message)
        elif where.startswith(("customer.", "shipping_address.")):
            form.error(where.split(".", 1)[1], message)
        elif where in ("pickup_store", "fulfilment", "shipping_price"):
            form.error(where, message)
        elif exc.extra.get("short"):  # not enough stock: name the rows of the short SKUs
            for short in exc.extra["short"]:
                for i, row in enumerate(form.rows):
                    if row.sku and row.sku == short.get("sku"):
                        missing = short.get("short") or short.get("requested")
                        _row_error(
                            form,
                            i,
                            f"{missing} unit(s) more than this channel can supply right now; "
                            "lower the quantity or remove the line.",
                        )
            form.error("general", message)
        elif where == "lines":
            form.error("lines", message)
        else:
            form.error("general", message)


@staff_member_required
@require_http_methods(["GET", "POST"])
def phone_order(request: HttpRequest) -> HttpResponse:
    """A staff member takes an order over the phone: the customer (looked up
    or new), lines by SKU or barcode, shipped or picked up; booked unpaid on
    the "phone" channel through the same intake as every channel."""
    actor = actor_for_user(request.user)
    if not actor.can("orders.intake"):
        raise HttpForbidden("Your roles do not include taking orders; ask a store manager.")
    channel = Channel.objects.select_related("company").filter(code=PHONE_CHANNEL).first()
    form = _phone_form(request.POST if request.method == "POST" else None)
    if request.method == "POST" and channel is not None:
        data, rows = _phone_intake(form)
        if data is not None:
            try:
                with transaction.atomic():  # the page goes on after a refusal
                    result = order_intake(channel=channel, data=data, actor=actor)
            except DomainError as exc:
                _intake_errors(form, exc, rows)
            else:
                order = result.order
                if result.created:
                    messages.success(request, f"Phone order #{order.pk} booked, unpaid.")
                else:
                    messages.info(request, f"This form was already booked as order #{order.pk}.")
                if actor.can("orders.read", order.store_id, company_wide=order.store_id is None):
                    return HttpResponseRedirect(
                        reverse("backoffice_orders:detail", args=[order.pk])
                    )
                return HttpResponseRedirect(reverse("backoffice_orders:list"))
    context = {
        **admin.site.each_context(request),
        "title": "New phone order",
        "channel": channel,
        "channel_admin_url": _admin_url("admin:core_channel_add")
        or _admin_url("admin:index")
        or "/admin/",
        "form": form,
        "stores": Store.objects.filter(active=True).order_by("name"),
        "address_fields": [
            (name, label, form.values.get(name, ""), form.errors.get(name, []))
            for name, label in ADDRESS_LABELS
        ],
    }
    status = 422 if request.method == "POST" else 200
    return render(request, "backoffice/orders/phone.html", context, status=status)


@staff_member_required
@require_GET
def customer_search(request: HttpRequest) -> HttpResponse:
    """The phone form's look-up: customers whose e-mail, name or phone holds
    every word typed, as an HTML fragment."""
    actor = actor_for_user(request.user)
    if not actor.can("orders.intake"):
        raise HttpForbidden("Your roles do not include taking orders; ask a store manager.")
    query = request.GET.get("q", "").strip()
    customers: list[Customer] = []
    if len(query) >= 2:
        condition = Q()
        for word in query.split()[:4]:
            condition &= (
                Q(email__icontains=word)
                | Q(first_name__icontains=word)
                | Q(last_name__icontains=word)
                | Q(phone__icontains=word)
            )
        customers = list(
            Customer.objects.filter(condition).order_by("last_name", "first_name")[:SEARCH_LIMIT]
        )
    context = {"customers": customers, "query": query, "limit": SEARCH_LIMIT}
    return render(request, "backoffice/orders/customer_results.html", context)
