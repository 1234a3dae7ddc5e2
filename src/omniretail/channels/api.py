"""Order intake for external channels: `POST /api/v1/orders`."""

from __future__ import annotations

from decimal import Decimal

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from omniretail.channels.intake import IntakeCustomer, IntakeLine, IntakeOrder, order_intake
from omniretail.core.access import require_in
from omniretail.core.api_auth import idempotency_key, key_channel, request_actor
from omniretail.core.errors import NotFound, ValidationFailed
from omniretail.core.idempotency import idempotent_call, request_fingerprint
from omniretail.core.models import Channel
from omniretail.fulfilment.models import RoutingDecision
from omniretail.inventory.models import Reservation
from omniretail.orders.models import Order, OrderLine
from omniretail.orders.services import LINE_DEMAND

router = Router(tags=["orders"])


class LineIn(Schema):
    sku: str | None = None
    barcode: str | None = None
    quantity: int
    unit_price: Decimal | None = Field(None, description="The channel's price; default: ours")


class CustomerIn(Schema):
    email: str
    first_name: str = ""
    last_name: str = ""
    phone: str = ""


class OrderIn(Schema):
    channel: str | None = Field(None, description="Channel code; default: the key's channel")
    external_id: str = Field(..., description="The channel's order id; a resend returns it")
    customer: CustomerIn | None = None
    lines: list[LineIn]
    fulfilment: str = Field("ship", description="'ship' or 'pickup'")
    pickup_store: str | None = Field(None, description="Store code, for pickup")
    shipping_address: dict[str, str] = Field(
        default_factory=dict, description="name, line1, line2, postcode, city, country (FR)"
    )
    shipping_price: Decimal = Decimal(0)
    payment_status: str = Field("unpaid", description="unpaid, authorized or paid")


class LineOut(Schema):
    id: int
    line_no: int
    sku: str
    description: str
    quantity: int
    unit_price: Decimal
    gross: Decimal
    held: int
    backordered: int
    fulfilled: int


class OrderOut(Schema):
    id: int
    channel: str
    external_id: str
    status: str
    payment_status: str
    fulfilment: str
    pickup_store: str | None
    currency: str
    total_net: Decimal
    total_tax: Decimal
    total_gross: Decimal
    shipping: Decimal
    lines: list[LineOut]
    routing: list[dict]
    replayed: bool = False


def order_out(
    order: Order,
    *,
    replayed: bool = False,
    lines: list[OrderLine] | None = None,
    routing: RoutingDecision | None = None,
    holds: list[Reservation] | None = None,
) -> dict:
    """The order as the API shows it. `lines` (with their SKUs), `routing`
    and `holds` are for the intake that has just written them: they are not
    read again."""
    if lines is None:
        lines = list(order.lines.select_related("sku").order_by("line_no"))
        decisions = list(RoutingDecision.objects.filter(order=order).order_by("pk"))
    else:
        decisions = [routing] if routing is not None else []
    rows = (
        [(h.demand_id, h.status, h.quantity) for h in holds]
        if holds is not None
        else Reservation.objects.filter(
            demand_type=LINE_DEMAND, demand_id__in=[str(line.pk) for line in lines]
        ).values_list("demand_id", "status", "quantity")
    )
    held: dict[tuple[int, str], int] = {}
    for demand_id, status, qty in rows:
        key = (int(demand_id), status)
        held[key] = held.get(key, 0) + qty
    return {
        "id": order.pk,
        "channel": order.channel.code,
        "external_id": order.external_id,
        "status": order.status,
        "payment_status": order.payment_status,
        "fulfilment": order.fulfilment_method,
        "pickup_store": order.pickup_store.code if order.pickup_store else None,
        "currency": order.currency,
        "total_net": str(order.total_net),
        "total_tax": str(order.total_tax),
        "total_gross": str(order.total_gross),
        "shipping": str(order.shipping_gross),
        "lines": [
            {
                "id": line.pk,
                "line_no": line.line_no,
                "sku": line.sku.sku,
                "description": line.description,
                "quantity": line.quantity,
                "unit_price": str(line.unit_price),
                "gross": str(line.gross),
                "held": held.get((line.pk, "active"), 0),
                "backordered": held.get((line.pk, "backordered"), 0),
                "fulfilled": line.quantity_fulfilled,
            }
            for line in lines
        ],
        "routing": [
            {"rule": d.rule, "reason": d.reason, "plan": d.plan, "backordered": d.backordered}
            for d in decisions
        ],
        "replayed": replayed,
    }


@router.post("", response={201: OrderOut, 200: OrderOut})
def order_create_endpoint(request: HttpRequest, payload: OrderIn) -> Status:
    """Book an order from a channel. Idempotent twice over: (channel,
    external_id) is unique — a resend returns the first order with 200 — and
    an Idempotency-Key replays the first response. 422 lists every bad field;
    409 names every line the channel cannot supply. Nothing changes on error."""
    actor = request_actor(request)
    code = payload.channel
    if code is None:
        if actor.channel_id is None:
            raise ValidationFailed("Name the channel (its code).", field="channel")
        own = key_channel(request)
        channel = (
            own
            if own is not None and own.pk == actor.channel_id
            else Channel.objects.select_related("company").get(pk=actor.channel_id)
        )
    else:
        found = Channel.objects.select_related("company").filter(code=code).first()
        if found is None:
            raise ValidationFailed(f"unknown channel {code!r}", field="channel")
        channel = found
    data = IntakeOrder(
        external_id=payload.external_id,
        lines=[IntakeLine(ln.quantity, ln.sku, ln.barcode, ln.unit_price) for ln in payload.lines],
        customer=IntakeCustomer(**payload.customer.dict()) if payload.customer else None,
        fulfilment=payload.fulfilment,
        pickup_store=payload.pickup_store,
        shipping_address=payload.shipping_address,
        shipping_price=payload.shipping_price,
        payment_status=payload.payment_status,
    )

    def effect() -> tuple[int, dict]:
        result = order_intake(channel=channel, data=data, actor=actor)
        return (201 if result.created else 200), order_out(
            result.order,
            replayed=not result.created,
            lines=result.lines,
            routing=result.routing,
            holds=result.holds,
        )

    result = idempotent_call(
        scope=actor.idempotency_scope,
        key=idempotency_key(request),
        fingerprint=request_fingerprint("POST", request.path, payload.dict()),
        effect=effect,
    )
    body = dict(result.body)
    if result.replayed:
        body["replayed"] = True
    return Status(200 if result.replayed else result.status, body)


@router.get("/{order_id}", response=OrderOut)
def order_get(request: HttpRequest, order_id: int) -> dict:
    actor = request_actor(request)
    order = Order.objects.select_related("channel", "pickup_store").filter(pk=order_id).first()
    if order is None or (actor.channel_id is not None and order.channel_id != actor.channel_id):
        raise NotFound(f"No order #{order_id} for you.", field="order_id")
    if actor.channel_id is None:  # staff: their stores (online orders: all-store roles)
        require_in(actor, "orders.read", store_id=order.store_id)
    return order_out(order)
