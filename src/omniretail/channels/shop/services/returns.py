"""Return requests: the customer asks online; a store or the warehouse
accepts when the goods arrive, through orders' `return_accept` (restock,
credit, refund requested), or refuses with a reason."""

from __future__ import annotations

from collections import defaultdict

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from omniretail.core.access import Actor, require_in
from omniretail.core.errors import Conflict, ValidationFailed
from omniretail.core.models import Channel
from omniretail.inventory.models import Location
from omniretail.orders.models import Order
from omniretail.orders.returns import ReturnRequestLine as OrderReturnLine
from omniretail.orders.returns import return_accept

from ..models import ReturnRequest, ReturnRequestLine

REASON_MAX = 300


def _pending(order_line_ids: list[int]) -> dict[int, int]:
    rows = (
        ReturnRequestLine.objects.filter(
            order_line_id__in=order_line_ids, request__status=ReturnRequest.Status.REQUESTED
        )
        .values("order_line_id")
        .annotate(n=Sum("quantity"))
        .values_list("order_line_id", "n")
    )
    return {line_id: int(n) for line_id, n in rows}


@transaction.atomic
def return_request_create(
    *, customer_id: int, order: Order, quantities: dict[int, int], reason: str
) -> ReturnRequest:
    """Ask to return units of an order the customer has received: at most
    what was handed over, not yet returned and not already requested."""
    order = Order.objects.select_for_update().get(pk=order.pk)
    if order.customer_id != customer_id:
        raise ValidationFailed("This order is not in your account.", field="order")
    reason = reason.strip()
    if not reason or len(reason) > REASON_MAX:
        raise ValidationFailed(
            f"reason: say why you send it back (1 to {REASON_MAX} characters).", field="reason"
        )
    wanted = {line_id: qty for line_id, qty in quantities.items() if qty}
    if not wanted:
        raise ValidationFailed(
            "lines: give the quantity to return of at least one item.", field="lines"
        )
    lines = {line.pk: line for line in order.lines.all()}
    pending = _pending(list(lines))
    for line_id, qty in sorted(wanted.items()):
        line = lines.get(line_id)
        if line is None:
            raise ValidationFailed(
                f"lines[{line_id}]: not a line of this order.", field=f"lines[{line_id}]"
            )
        can = line.quantity_fulfilled - line.quantity_returned - pending.get(line_id, 0)
        if not isinstance(qty, int) or qty < 0 or qty > can:
            raise ValidationFailed(
                f"lines[{line_id}]: {line.description}: you can return up to {max(can, 0)}.",
                field=f"lines[{line_id}]",
            )
    request = ReturnRequest.objects.create(order=order, customer_id=customer_id, reason=reason)
    ReturnRequestLine.objects.bulk_create(
        [
            ReturnRequestLine(request=request, order_line_id=line_id, quantity=qty)
            for line_id, qty in sorted(wanted.items())
        ]
    )
    return request


def _open(request: ReturnRequest) -> ReturnRequest:
    locked = ReturnRequest.objects.select_for_update().get(pk=request.pk)
    if locked.status != ReturnRequest.Status.REQUESTED:
        raise Conflict(
            f"Return request #{locked.pk} is already {locked.get_status_display().lower()}.",
            field="status",
        )
    return locked


@transaction.atomic
def return_request_accept(
    *,
    request: ReturnRequest,
    location: Location,
    channel: Channel,
    actor: Actor,
    refund_method: str = "original",
) -> ReturnRequest:
    """The goods arrived at `location`: take them back through orders (the
    checks, stock, credit note and refund happen there, with the actor's
    rights at that location)."""
    request = _open(request)
    quantities: dict[int, int] = defaultdict(int)
    for line_id, qty in request.lines.values_list("order_line_id", "quantity"):
        quantities[line_id] += qty
    accepted = return_accept(
        order=request.order,
        lines=[OrderReturnLine(line_id, qty) for line_id, qty in sorted(quantities.items())],
        location=location,
        channel=channel,
        actor=actor,
        refund_method=refund_method,
        reason=f"web return request #{request.pk}: {request.reason}"[:300],
    )
    request.status = ReturnRequest.Status.ACCEPTED
    request.return_number = accepted.number
    request.decided_by = actor.label[:200]
    request.decided_at = timezone.now()
    request.save(update_fields=["status", "return_number", "decided_by", "decided_at"])
    return request


@transaction.atomic
def return_request_refuse(*, request: ReturnRequest, actor: Actor, reason: str) -> ReturnRequest:
    request = _open(request)
    require_in(actor, "orders.return", store_id=request.order.store_id)
    if not reason.strip():
        raise ValidationFailed("reason: say why the return is refused.", field="reason")
    request.status = ReturnRequest.Status.REFUSED
    request.decided_by = f"{actor.label}: {reason.strip()}"[:200]
    request.decided_at = timezone.now()
    request.save(update_fields=["status", "decided_by", "decided_at"])
    return request
