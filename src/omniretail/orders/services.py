from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Value
from django.db.models.functions import Concat
from django.utils import timezone

from omniretail.catalog.models import Variant
from omniretail.core.access import SYSTEM, Actor, require_in
from omniretail.core.audit import audit_record
from omniretail.core.errors import Conflict, ValidationFailed
from omniretail.core.events import event_publish
from omniretail.core.models import Channel, Terminal
from omniretail.core.money import Money, tax_from_gross
from omniretail.core.sql import row_insert_unless_taken, rows_insert
from omniretail.inventory.models import Reservation
from omniretail.inventory.services import reservations_release
from omniretail.orders.domain import (
    ALLOCATED,
    CANCELLED,
    COMPLETED,
    CONFIRMED,
    FULFILLED,
    ON_HOLD,
    PARTLY_FULFILLED,
    PENDING_PAYMENT,
    LineInput,
    PricedLine,
    PricingNote,
    Totals,
    lines_price,
    priced_from_engine,
    transition_allowed,
)
from omniretail.orders.events import OrderPlaced, OrderStatusChanged, RefundRequested
from omniretail.orders.models import Order, OrderActivity, OrderLine
from omniretail.pricing.engine_types import PricingResult

# Reservations made for an order line point at it by this demand type.
LINE_DEMAND = "order_line"


class DuplicateExternalId(Exception):
    """The channel already sent an order with this external id."""

    def __init__(self, order: Order) -> None:
        super().__init__(f"order {order.pk} already exists")
        self.order = order


def order_record_carry_out(
    *,
    channel: Channel,
    external_id: str,
    terminal: Terminal | None,
    customer_id: int | None,
    lines: list[PricedLine],
    variants: dict[int, Variant],
    totals: Totals,
    actor: Actor,
    pricing: PricingNote | None = None,
    review_flags: list[str] | None = None,
    sold_offline_at: dt.datetime | None = None,
    cashier_label: str = "",
) -> Order:
    """Record a sale whose goods leave with the customer at once (a POS sale):
    the order is born completed. Raises DuplicateExternalId when the channel
    already sent this external id, so the caller replays the first result.
    Runs inside the caller's sale transaction (permissions checked there)."""
    try:
        with transaction.atomic():
            order = Order.objects.create(
                channel=channel,
                external_id=external_id,
                store_id=terminal.store_id if terminal else channel.store_id,
                terminal=terminal,
                customer_id=customer_id,
                status=COMPLETED,
                payment_status=Order.Payment.PAID,  # a carry-out sale is settled at the till
                currency=totals.gross.currency,
                total_net=totals.net.amount,
                total_tax=totals.tax.amount,
                total_gross=totals.gross.amount,
                placed_at=sold_offline_at or timezone.now(),
                created_by=actor.label,
                review_flags=review_flags or [],
                sold_offline_at=sold_offline_at,
                cashier_label=cashier_label,
                **_pricing_fields(pricing),
            )
    except IntegrityError:
        existing = Order.objects.filter(channel=channel, external_id=external_id).first()
        if existing is None:
            raise
        raise DuplicateExternalId(existing)
    OrderLine.objects.bulk_create(
        [
            OrderLine(
                order=order,
                line_no=i,
                sku_id=line.sku_id,
                description=f"{variants[line.sku_id].product.name} {variants[line.sku_id].name}",
                quantity=line.quantity,
                unit_price=line.unit_price.amount,
                tax_rate=line.tax_rate,
                net=line.net.amount,
                tax=line.tax.amount,
                gross=line.gross.amount,
                quantity_fulfilled=line.quantity,  # carried out: handed over at once
                **_line_pricing_fields(line),
            )
            for i, line in enumerate(lines, start=1)
        ]
    )
    return order


def _pricing_fields(note: PricingNote | None) -> dict[str, Any]:
    if note is None:
        return {}
    return {
        "discount_total": note.discount_total,
        "promotions": list(note.promotions),
        "coupon_codes": list(note.coupon_codes),
        "campaign_code": note.campaign_code,
        "source_code": note.source_code,
        "attribution_via": note.attribution_via,
    }


def _line_pricing_fields(line: PricedLine) -> dict[str, Any]:
    return {
        "list_price": line.list_price.amount if line.list_price is not None else None,
        "discount": line.discount.amount if line.discount is not None else Decimal(0),
        "discounts": list(line.discounts),
    }


# --- Orders from every channel and their lifecycle ----------------------------


@dataclass(frozen=True)
class NewLine:
    sku_id: int
    quantity: int
    unit_price: Decimal
    tax_rate: Decimal
    description: str = ""  # the product and variant name; read from the catalog when empty


@dataclass(frozen=True)
class NewOrder:
    channel: Channel
    external_id: str
    lines: list[NewLine]
    currency: str
    prices_include_tax: bool
    fulfilment_method: str = Order.Fulfilment.SHIP
    customer_id: int | None = None
    email: str = ""
    pickup_store_id: int | None = None
    shipping_address: dict[str, str] = field(default_factory=dict)
    shipping_gross: Decimal = Decimal(0)
    shipping_tax_rate: Decimal = Decimal(0)
    payment_status: str = Order.Payment.UNPAID
    # Priced by the pricing engine (web shop, phone orders): its lines, in the
    # same order as `lines`, replace the unit prices given there.
    pricing: PricingResult | None = None


def order_activity(
    *, order: Order, actor: Actor, kind: str, message: str, data: dict | None = None
) -> OrderActivity:
    """One entry of the order's timeline (routing, shipments, returns add theirs)."""
    entry = OrderActivity(
        order=order, actor_label=actor.label, kind=kind, message=message, data=data or {}
    )
    rows_insert([entry])  # several per order on every channel's intake path
    return entry


def order_create(*, new: NewOrder, actor: Actor) -> Order:
    """Book an order from a channel (validated by the caller: SKUs resolved,
    quantities above 0). Born pending payment, or confirmed when the channel
    says it is paid or authorised. Raises DuplicateExternalId on a resend.
    Runs in the caller's transaction."""
    return order_create_with_lines(new=new, actor=actor)[0]


def order_create_with_lines(*, new: NewOrder, actor: Actor) -> tuple[Order, list[OrderLine]]:
    """`order_create`, also returning the lines it created (for a caller that
    goes on in the same transaction, e.g. to route the order)."""
    note: PricingNote | None = None
    if new.pricing is not None:
        priced, totals, note = priced_from_engine(new.pricing)
    else:
        priced, totals = lines_price(
            [LineInput(ln.sku_id, ln.quantity, ln.unit_price, ln.tax_rate) for ln in new.lines],
            currency=new.currency,
            prices_include_tax=new.prices_include_tax,
        )
    shipping = Money(new.shipping_gross, new.currency).round("line")
    shipping_tax = tax_from_gross(shipping, new.shipping_tax_rate)
    paid = new.payment_status in (Order.Payment.AUTHORIZED, Order.Payment.PAID)
    order = Order(
        channel=new.channel,
        external_id=new.external_id,
        store_id=new.pickup_store_id or new.channel.store_id,
        customer_id=new.customer_id,
        status=CONFIRMED if paid else PENDING_PAYMENT,
        fulfilment_method=new.fulfilment_method,
        pickup_store_id=new.pickup_store_id,
        shipping_address=new.shipping_address,
        email=new.email,
        payment_status=new.payment_status,
        shipping_gross=shipping.amount,
        currency=new.currency,
        total_net=(totals.net + shipping - shipping_tax).amount,
        total_tax=(totals.tax + shipping_tax).amount,
        total_gross=(totals.gross + shipping).amount,
        placed_at=timezone.now(),
        created_by=actor.label,
        **_pricing_fields(note),
    )
    if not row_insert_unless_taken(order, ("channel", "external_id")):
        # A concurrent send of the same order committed first.
        raise DuplicateExternalId(
            Order.objects.get(channel=new.channel, external_id=new.external_id)
        )
    descriptions = {ln.sku_id: ln.description for ln in new.lines if ln.description}
    if len(descriptions) < len({ln.sku_id for ln in new.lines}):
        descriptions = dict(
            Variant.objects.filter(pk__in=[ln.sku_id for ln in new.lines])
            .annotate(label=Concat("product__name", Value(" "), "name"))
            .values_list("pk", "label")
        )
    lines = [
        OrderLine(
            order=order,
            line_no=i,
            sku_id=line.sku_id,
            description=descriptions[line.sku_id],
            quantity=line.quantity,
            unit_price=line.unit_price.amount,
            tax_rate=line.tax_rate,
            net=line.net.amount,
            tax=line.tax.amount,
            gross=line.gross.amount,
            **_line_pricing_fields(line),
        )
        for i, line in enumerate(priced, start=1)
    ]
    rows_insert(lines)
    order_activity(
        order=order,
        actor=actor,
        kind="status",
        message=f"placed on {new.channel.name} as {order.get_status_display().lower()}",
        data={"external_id": new.external_id, "total": str(order.total_gross)},
    )
    event_publish(
        OrderPlaced(
            order_id=order.pk,
            channel_id=new.channel.pk,
            external_id=new.external_id,
            total_gross=str(order.total_gross),
            currency=order.currency,
        )
    )
    return order, lines


def _transition(order: Order, target: str, *, actor: Actor, reason: str = "") -> Order:
    """The only place an order's status changes after it is placed."""
    if not transition_allowed(order.status, target):
        raise Conflict(
            f"Order #{order.pk} is {order.get_status_display().lower()}; it cannot become "
            f"{Order.Status(target).label.lower()}.",
            field="status",
            code="invalid_transition",
        )
    old = order.status
    order.status = target
    order.save(update_fields=["status", "hold_reason", "held_from"])
    label = Order.Status(target).label.lower()
    order_activity(
        order=order,
        actor=actor,
        kind="status",
        message=f"{Order.Status(old).label.lower()} → {label}" + (f": {reason}" if reason else ""),
        data={"from": old, "to": target, "reason": reason},
    )
    audit_record(
        actor=actor,
        action=f"order.{target}",
        object_type="order",
        object_id=order.pk,
        store_id=order.store_id,
        reason=reason,
        data={"from": old},
    )
    event_publish(
        OrderStatusChanged(
            order_id=order.pk,
            channel_id=order.channel_id,
            old_status=old,
            new_status=target,
            reason=reason,
        )
    )
    return order


REASON_MAX = 300


def _reason_check(reason: str, verb: str) -> None:
    if not reason.strip():
        raise ValidationFailed(f"Say why the order is {verb}.", field="reason")
    if len(reason) > REASON_MAX:
        raise ValidationFailed(
            f"The reason is {len(reason)} characters; keep it to {REASON_MAX}.", field="reason"
        )


def _locked(order: Order) -> Order:
    return Order.objects.select_for_update().get(pk=order.pk)


def _require_order(actor: Actor, order: Order) -> None:
    require_in(actor, "orders.write", store_id=order.store_id)


@transaction.atomic
def order_confirm(*, order: Order, actor: Actor, payment_status: str = "authorized") -> Order:
    """Payment is authorised (or taken): the order can be fulfilled."""
    order = _locked(order)
    _require_order(actor, order)
    order.payment_status = payment_status
    order.save(update_fields=["payment_status"])
    return _transition(order, CONFIRMED, actor=actor, reason=f"payment {payment_status}")


def order_allocate(
    *, order: Order, actor: Actor, reason: str = "stock held", locked: bool = False
) -> Order:
    """Stock is held for every line. `locked`: the caller already holds the
    order's row inside its own savepoint (and passes that very instance), and
    lets a refusal propagate; neither the row nor a savepoint is taken again."""
    with transaction.atomic(savepoint=not locked):
        if not locked:
            order = _locked(order)
        return _transition(order, ALLOCATED, actor=actor, reason=reason)


@transaction.atomic
def order_hold(*, order: Order, actor: Actor, reason: str) -> Order:
    _reason_check(reason, "put on hold")
    order = _locked(order)
    _require_order(actor, order)
    order.held_from, order.hold_reason = order.status, reason
    return _transition(order, ON_HOLD, actor=actor, reason=reason)


@transaction.atomic
def order_release_hold(*, order: Order, actor: Actor, reason: str = "") -> Order:
    if reason:
        _reason_check(reason, "released from hold")
    order = _locked(order)
    _require_order(actor, order)
    target = order.held_from or PENDING_PAYMENT
    order.held_from, order.hold_reason = "", ""
    return _transition(order, target, actor=actor, reason=reason or "hold released")


@transaction.atomic
def order_cancel(*, order: Order, actor: Actor, reason: str) -> Order:
    """Cancel before fulfilment: held stock goes back, open quantities are
    cancelled, and money already taken is requested back."""
    _reason_check(reason, "cancelled")
    order = _locked(order)
    _require_order(actor, order)
    lines = list(order.lines.all())
    if any(line.quantity_fulfilled for line in lines):
        raise Conflict(
            f"Order #{order.pk} has items already shipped or handed over; return them instead.",
            field="status",
            code="invalid_transition",
        )
    _transition(order, CANCELLED, actor=actor, reason=reason)
    reservations_release(
        reservation_ids=list(
            Reservation.objects.filter(
                demand_type=LINE_DEMAND, demand_id__in=[str(line.pk) for line in lines]
            ).values_list("pk", flat=True)
        ),
        actor=SYSTEM,
        reason="order cancelled",
    )
    for line in lines:
        line.quantity_cancelled = line.quantity - line.quantity_fulfilled
    OrderLine.objects.bulk_update(lines, ["quantity_cancelled"])
    if order.payment_status in (Order.Payment.AUTHORIZED, Order.Payment.PAID):
        event_publish(
            RefundRequested(
                order_id=order.pk,
                amount=str(order.total_gross),
                currency=order.currency,
                reason=f"cancelled: {reason}",
            )
        )
    return order


@transaction.atomic
def order_lines_fulfilled(
    *, order: Order, quantities: dict[int, int], actor: Actor, reason: str
) -> Order:
    """Record goods that left (shipped or handed over) per order line; the
    order becomes partly fulfilled or fulfilled."""
    order = _locked(order)
    lines = {line.pk: line for line in order.lines.all()}
    for line_id, qty in quantities.items():
        line = lines.get(line_id)
        if line is None or qty <= 0 or qty > line.quantity_open:
            open_qty = line.quantity_open if line else 0
            raise ValidationFailed(
                f"line #{line_id}: {qty} cannot be fulfilled, {open_qty} still open.",
                field=f"lines[{line_id}]",
            )
        line.quantity_fulfilled += qty
    OrderLine.objects.bulk_update(list(lines.values()), ["quantity_fulfilled"])
    done = all(line.quantity_open == 0 for line in lines.values())
    target = FULFILLED if done else PARTLY_FULFILLED
    if order.status != target or target == PARTLY_FULFILLED:
        if order.status == PARTLY_FULFILLED and target == PARTLY_FULFILLED:
            order_activity(order=order, actor=actor, kind="status", message=reason)
        else:
            _transition(order, target, actor=actor, reason=reason)
    return order


@transaction.atomic
def order_complete(*, order: Order, actor: Actor, reason: str = "") -> Order:
    order = _locked(order)
    return _transition(order, COMPLETED, actor=actor, reason=reason or "done")


@transaction.atomic
def order_lines_unfulfilled(
    *, order: Order, quantities: dict[int, int], actor: Actor, reason: str
) -> Order:
    """Goods recorded as gone came back before the customer had them (a
    parcel returned by the carrier): those units of the lines are open again."""
    order = Order.objects.select_for_update().get(pk=order.pk)
    lines = {line.pk: line for line in order.lines.all()}
    for line_id, qty in sorted(quantities.items()):
        line = lines.get(line_id)
        gone = line.quantity_fulfilled - line.quantity_returned if line else 0
        if line is None or qty <= 0 or qty > gone:
            raise ValidationFailed(
                f"line #{line_id}: {qty} cannot be taken back, {gone} fulfilled and not returned.",
                field=f"lines[{line_id}]",
            )
        line.quantity_fulfilled -= qty
    OrderLine.objects.bulk_update([lines[pk] for pk in sorted(quantities)], ["quantity_fulfilled"])
    if order.status in (FULFILLED, PARTLY_FULFILLED):
        some_gone = any(line.quantity_fulfilled for line in lines.values())
        target = PARTLY_FULFILLED if some_gone else ALLOCATED
        if target != order.status:
            _transition(order, target, actor=actor, reason=reason)
    data = {"lines": {str(pk): qty for pk, qty in sorted(quantities.items())}}
    order_activity(
        order=order,
        actor=actor,
        kind="shipment",
        message=f"{sum(quantities.values())} unit(s) open again: {reason}"[:500],
        data=data,
    )
    audit_record(
        actor=actor,
        action="order.lines_unfulfilled",
        object_type="order",
        object_id=order.pk,
        store_id=order.store_id,
        reason=reason,
        data=data,
    )
    return order
