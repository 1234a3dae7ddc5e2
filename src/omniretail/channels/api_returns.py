"""Returns through the API: `POST /api/v1/returns`, `GET /api/v1/returns/{number}`.

Any order from any channel can come back at any store (a till or a staff
session) or by post at a warehouse (staff with a company-wide role, or the
online channel's own key for its own orders).
"""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from omniretail.channels.pos.till import refund_override_proven
from omniretail.core.access import Actor, require_in
from omniretail.core.api_auth import idempotency_key, request_actor
from omniretail.core.errors import NotFound, PermissionDenied, ValidationFailed
from omniretail.core.idempotency import idempotent_call, request_fingerprint
from omniretail.core.models import Channel
from omniretail.inventory.models import Location
from omniretail.orders.models import Order, Return
from omniretail.orders.returns import DuplicateReturn, ReturnRequestLine, return_accept

router = Router(tags=["returns"])


class ReturnLineIn(Schema):
    line_id: int | None = Field(None, description="The order line's id; or give sku")
    sku: str | None = Field(None, description="SKU of the order line (when only one line has it)")
    quantity: int = Field(..., description="Units coming back, above 0")
    condition: str = Field("restock", description="'restock' (back to stock) or 'scrap'")
    reason: str = Field("", description="Why it came back: too small, damaged...")


class ReturnIn(Schema):
    order_id: int | None = Field(None, description="The order's id; or order_channel + external id")
    order_channel: str | None = Field(None, description="Code of the channel that took the order")
    order_external_id: str | None = Field(None, description="The channel's own order id")
    channel: str | None = Field(
        None,
        description="Where the return happens (channel code); default: the key's channel, "
        "else the store's POS channel, else the order's channel (returns by post)",
    )
    location: str = Field(..., description="Code of the location the goods come back to")
    lines: list[ReturnLineIn]
    refund_method: str = Field("original", description="'original' or 'store_credit'")
    reason: str = ""
    client_uuid: UUID | None = Field(
        None, description="Made by the till; a resend returns the first return"
    )
    approved_by_user_id: int | None = Field(
        None,
        description="The store manager (user id) who approved a refund above the cashier's "
        "limit (OMNI_CASHIER_REFUND_LIMIT); the till gets it from a manager PIN override",
    )


class ReturnLineOut(Schema):
    line_id: int
    sku: str
    description: str
    quantity: int
    condition: str
    reason: str
    refund_amount: Decimal


class ReturnOut(Schema):
    number: str
    order_id: int
    channel: str
    store: str | None
    location: str
    status: str
    refund_method: str
    refund_amount: Decimal
    currency: str
    reason: str
    created_at: str
    lines: list[ReturnLineOut]
    replayed: bool = False


def return_out(ret: Return, *, replayed: bool = False) -> dict:
    return {
        "number": ret.number,
        "order_id": ret.order_id,
        "channel": ret.channel.code,
        "store": ret.store.code if ret.store else None,
        "location": ret.location.code,
        "status": ret.status,
        "refund_method": ret.refund_method,
        "refund_amount": str(ret.refund_amount),
        "currency": ret.currency,
        "reason": ret.reason,
        "created_at": ret.created_at.isoformat(),
        "lines": [
            {
                "line_id": line.order_line_id,
                "sku": line.order_line.sku.sku,
                "description": line.order_line.description,
                "quantity": line.quantity,
                "condition": line.condition,
                "reason": line.reason,
                "refund_amount": str(line.refund_amount),
            }
            for line in ret.lines.select_related("order_line__sku").order_by("pk")
        ],
        "replayed": replayed,
    }


def _online_key(actor: Actor) -> bool:
    """A key of an online channel (no store): it sees only its own orders."""
    return actor.channel_id is not None and actor.store_id is None


def _order(actor: Actor, payload: ReturnIn) -> Order:
    qs = Order.objects.select_related("channel__company")
    if payload.order_id is not None:
        order = qs.filter(pk=payload.order_id).first()
        where = "order_id"
    elif payload.order_channel and payload.order_external_id:
        order = qs.filter(
            channel__code=payload.order_channel, external_id=payload.order_external_id
        ).first()
        where = "order_external_id"
    else:
        raise ValidationFailed(
            "Name the order: its order_id, or order_channel and order_external_id.",
            field="order_id",
        )
    if order is None or (_online_key(actor) and order.channel_id != actor.channel_id):
        raise NotFound("No such order for you; check the order id or external id.", field=where)
    return order


def _location(code: str) -> Location:
    location = Location.objects.filter(code=code).first()
    if location is None:
        raise ValidationFailed(
            f"unknown location {code!r}; use the code of the store or warehouse taking the "
            "goods back.",
            field="location",
        )
    return location


def _channel(actor: Actor, code: str | None, location: Location, order: Order) -> Channel:
    if code:
        channel = Channel.objects.filter(code=code).first()
        if channel is None:
            raise ValidationFailed(f"unknown channel {code!r}", field="channel")
        if actor.channel_id is not None and channel.pk != actor.channel_id:
            raise PermissionDenied(
                "This key belongs to another channel; take returns on your own channel.",
                field="channel",
            )
        return channel
    if actor.channel_id is not None:
        return Channel.objects.get(pk=actor.channel_id)
    if location.store_id is not None:
        pos = (
            Channel.objects.filter(store_id=location.store_id, kind=Channel.Kind.POS, active=True)
            .order_by("pk")
            .first()
        )
        if pos is not None:
            return pos
    return order.channel


def _request_lines(order: Order, lines: list[ReturnLineIn]) -> list[ReturnRequestLine]:
    """Order lines named by id or SKU, or one error naming every bad line."""
    by_sku: dict[str, list[int]] = {}
    for pk, sku in order.lines.values_list("pk", "sku__sku").order_by("line_no"):
        by_sku.setdefault(sku, []).append(pk)
    errors: list[dict[str, str]] = []
    result: list[ReturnRequestLine] = []
    for i, line in enumerate(lines):
        line_id = line.line_id
        if (line.line_id is None) == (line.sku is None):
            errors.append({"field": f"lines[{i}]", "message": "give either line_id or sku"})
            continue
        if line.sku is not None:
            found = by_sku.get(line.sku, [])
            if len(found) != 1:
                errors.append(
                    {
                        "field": f"lines[{i}].sku",
                        "message": f"order #{order.pk} has no line of {line.sku!r}"
                        if not found
                        else f"order #{order.pk} has {len(found)} lines of {line.sku!r}; give "
                        "line_id",
                    }
                )
                continue
            line_id = found[0]
        assert line_id is not None
        result.append(ReturnRequestLine(line_id, line.quantity, line.condition, line.reason))
    if errors:
        first = errors[0]
        raise ValidationFailed(
            f"{first['field']}: {first['message']}"
            + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""),
            field=first["field"],
            errors=errors,
        )
    return result


@router.post("", response={201: ReturnOut, 200: ReturnOut})
def return_create(request: HttpRequest, payload: ReturnIn) -> Status:
    """Take back goods of an order from any channel. 201 with the numbered
    return (RET-000001); the refund (goods only, never shipping) is requested
    from payments. 422 names every bad line with how many can still be
    returned; 403 when the caller may not take returns at that location. An
    Idempotency-Key or a resent client_uuid returns the first return (200)."""
    actor = request_actor(request)
    order = _order(actor, payload)
    location = _location(payload.location)
    channel = _channel(actor, payload.channel, location, order)
    lines = _request_lines(order, payload.lines)
    if payload.approved_by_user_id is not None and actor.terminal_id is not None:
        refund_override_proven(
            terminal_id=actor.terminal_id,
            manager_id=payload.approved_by_user_id,
            order_id=order.pk,
        )

    def effect() -> tuple[int, dict]:
        try:
            ret = return_accept(
                order=order,
                lines=lines,
                location=location,
                channel=channel,
                actor=actor,
                refund_method=payload.refund_method,
                reason=payload.reason,
                client_uuid=payload.client_uuid,
                approved_by_user_id=payload.approved_by_user_id,
            )
        except DuplicateReturn as dup:
            return 200, return_out(dup.existing, replayed=True)
        return 201, return_out(ret)

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


@router.get("/{number}", response=ReturnOut)
def return_get(request: HttpRequest, number: str) -> dict:
    actor = request_actor(request)
    ret = (
        Return.objects.select_related("channel", "store", "location", "order")
        .filter(number=number)
        .first()
    )
    if ret is None or (
        _online_key(actor) and actor.channel_id not in (ret.channel_id, ret.order.channel_id)
    ):
        raise NotFound(f"No return {number} for you.", field="number")
    require_in(actor, "orders.read", store_id=ret.store_id)
    return return_out(ret)
