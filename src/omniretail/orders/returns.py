"""Returns: any order, from any channel, taken back at any store or by post
at a warehouse — and the arithmetic of an exchange.

A return puts the goods back in stock where they arrive (restock) or writes
them off there (scrap), records what came back per order line, and asks
payments for the money (`refund.requested`). Refunds are for goods only:
shipping is not refunded. Each part of a line refunds its share of the line's
gross (rounded at the line point); the part that brings the line to fully
returned takes the remainder, so a line returned in several parts refunds
exactly what was paid for it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from django.db import IntegrityError, transaction
from django.db.models import Sum

from omniretail.catalog.models import Variant
from omniretail.core.access import Actor, require_in
from omniretail.core.audit import audit_record
from omniretail.core.errors import ValidationFailed
from omniretail.core.events import event_publish
from omniretail.core.models import Channel
from omniretail.core.money import Money
from omniretail.core.series import series_get_or_create, series_take
from omniretail.inventory.domain import kit_expand
from omniretail.inventory.models import Location
from omniretail.inventory.selectors import kit_components
from omniretail.inventory.services import (
    MoveSpec,
    backorders_fill,
    location_virtual,
    stock_moves_post,
)
from omniretail.orders.domain import COMPLETED, LineInput, PricedLine, Totals, lines_price
from omniretail.orders.events import RefundRequested
from omniretail.orders.events_returns import ReturnAccepted
from omniretail.orders.models import Order, OrderLine, Return, ReturnLine
from omniretail.orders.services import order_activity

SERIES_CODE = "returns"
SERIES_PREFIX = "RET-"
REFERENCE = "return"
CONDITIONS = tuple(Return.Condition.values)
REFUND_METHODS = tuple(Return.RefundMethod.values)
# An exchange gives the returned value back as goods, not money.
MONEY_BACK_METHODS = (Return.RefundMethod.ORIGINAL, Return.RefundMethod.STORE_CREDIT)


@dataclass(frozen=True)
class ReturnRequestLine:
    order_line_id: int
    quantity: int
    condition: str = Return.Condition.RESTOCK
    reason: str = ""


@dataclass(frozen=True)
class PlannedLine:
    request: ReturnRequestLine
    order_line: OrderLine
    refund: Money


class DuplicateReturn(Exception):
    """The till already sent this return (same client UUID)."""

    def __init__(self, existing: Return) -> None:
        super().__init__(f"return {existing.number} already exists")
        self.existing = existing


def refund_for_part(
    *,
    line_gross: Money,
    line_quantity: int,
    quantity: int,
    returned_before: int,
    refunded_before: Money,
) -> Money:
    """What `quantity` units of a line refund: their share of the line's gross
    rounded at the line point; the units that complete the line take the
    remainder, so all parts add up to the line's gross exactly. Pure."""
    if returned_before + quantity >= line_quantity:
        return line_gross - refunded_before
    return Money(line_gross.amount * quantity / line_quantity, line_gross.currency).round("line")


def _raise_errors(errors: list[dict[str, str]]) -> None:
    if errors:
        first = errors[0]
        raise ValidationFailed(
            f"{first['field']}: {first['message']}"
            + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""),
            field=first["field"],
            errors=errors,
        )


def _refunded_before(line_ids: list[int], currency: str) -> dict[int, Money]:
    rows = (
        ReturnLine.objects.filter(order_line_id__in=line_ids)
        .values("order_line_id")
        .annotate(total=Sum("refund_amount"))
        .values_list("order_line_id", "total")
    )
    # SQLite sums decimals in floating point: back to cents.
    return {
        line_id: Money(Decimal(str(total or 0)), currency).round("line") for line_id, total in rows
    }


def _carried_out(order: Order, order_lines: dict[int, OrderLine]) -> list[OrderLine]:
    """A carry-out sale's goods left with the customer when it was rung up,
    but order_record_carry_out leaves its lines unfulfilled: count them as
    handed over (in memory; returns the lines to save). A no-op once carry-out
    sales record their lines as fulfilled."""
    if order.fulfilment_method != Order.Fulfilment.CARRY_OUT or order.status != COMPLETED:
        return []
    stale = [
        line
        for line in order_lines.values()
        if line.quantity_fulfilled + line.quantity_cancelled < line.quantity
    ]
    for line in stale:
        line.quantity_fulfilled = line.quantity - line.quantity_cancelled
    return stale


def return_plan(
    *,
    order: Order,
    order_lines: dict[int, OrderLine],
    requests: list[ReturnRequestLine],
    refunded_before: dict[int, Money],
) -> list[PlannedLine]:
    """Check every requested line at once (each error names lines[i].field and
    the fix) and price what each refunds. Repeated lines of the same order
    line count together."""
    errors: list[dict[str, str]] = []

    def bad(where: str, message: str) -> None:
        errors.append({"field": where, "message": message})

    if not requests:
        bad("lines", "a return needs at least one line; give the order line and the quantity")
    taken: dict[int, int] = defaultdict(int)
    refunded: dict[int, Money] = dict(refunded_before)
    planned: list[PlannedLine] = []
    zero = Money.zero(order.currency)
    for i, req in enumerate(requests):
        line = order_lines.get(req.order_line_id)
        if line is None:
            bad(
                f"lines[{i}].order_line_id",
                f"order #{order.pk} has no line #{req.order_line_id}; use one of its line ids "
                f"({', '.join(str(pk) for pk in sorted(order_lines)) or 'none'})",
            )
            continue
        if req.condition not in CONDITIONS:
            bad(
                f"lines[{i}].condition",
                f"{req.condition!r} is not a condition; use 'restock' (back to stock) or "
                "'scrap' (written off)",
            )
        if not isinstance(req.quantity, int) or isinstance(req.quantity, bool) or req.quantity <= 0:
            bad(f"lines[{i}].quantity", f"must be a whole number above 0 (got {req.quantity!r})")
            continue
        returnable = line.quantity_returnable - taken[line.pk]
        if req.quantity > returnable:
            if line.quantity_fulfilled == 0:
                why = "none was handed over or shipped yet; cancel the order instead"
            else:
                why = (
                    f"{max(returnable, 0)} can still be returned ({line.quantity_fulfilled} "
                    f"handed over or shipped, {line.quantity_returned + taken[line.pk]} "
                    "returned already)"
                )
            bad(
                f"lines[{i}].quantity",
                f"{req.quantity} × {line.description} cannot be returned: {why}",
            )
            continue
        refund = refund_for_part(
            line_gross=Money(line.gross, order.currency),
            line_quantity=line.quantity,
            quantity=req.quantity,
            returned_before=line.quantity_returned + taken[line.pk],
            refunded_before=refunded.get(line.pk, zero),
        )
        taken[line.pk] += req.quantity
        refunded[line.pk] = refunded.get(line.pk, zero) + refund
        planned.append(PlannedLine(req, line, refund))
    _raise_errors(errors)
    return planned


def _claim_number(
    *,
    order: Order,
    channel: Channel,
    location: Location,
    refund_method: str,
    reason: str,
    client_uuid: UUID | None,
    actor: Actor,
) -> Return:
    """Number the return and insert it: with a client UUID the insert is the
    claim (unique), so a till's resend finds the first return. The number and
    the row stand or fall together: no gap in RET- numbers."""
    series = series_get_or_create(code=SERIES_CODE, prefix=SERIES_PREFIX)
    try:
        with transaction.atomic():
            numbered = series_take(
                series_id=series.pk,
                fields_for=lambda _n, full, _prev: {
                    "number": full,
                    "order": order.pk,
                    "location": location.code,
                },
            )
            return Return.objects.create(
                number=numbered.full_number,
                order=order,
                channel=channel,
                store_id=location.store_id,
                location=location,
                refund_method=refund_method,
                currency=order.currency,
                reason=reason,
                client_uuid=client_uuid,
                created_by=actor.label,
            )
    except IntegrityError:
        existing = Return.objects.filter(client_uuid=client_uuid).first() if client_uuid else None
        if existing is None:
            raise
        raise DuplicateReturn(existing)


def _return_moves(
    planned: list[PlannedLine], location: Location
) -> tuple[list[MoveSpec], list[int]]:
    """Everything comes back from the customer into the receiving location;
    scrapped goods then leave it for scrap, so the write-off is booked at the
    store or warehouse that took them back. Kits come back as their components.
    Returns the moves and the SKUs put back on the shelf."""
    kits = kit_components({p.order_line.sku_id for p in planned})
    back = kit_expand([(p.order_line.sku_id, p.request.quantity) for p in planned], kits)
    scrapped = kit_expand(
        [
            (p.order_line.sku_id, p.request.quantity)
            for p in planned
            if p.request.condition == Return.Condition.SCRAP
        ],
        kits,
    )
    customer = location_virtual(Location.Kind.CUSTOMER)
    moves = [MoveSpec(sku_id, customer.pk, location.pk, qty) for sku_id, qty in back]
    if scrapped:
        scrap = location_virtual(Location.Kind.SCRAP)
        moves += [MoveSpec(sku_id, location.pk, scrap.pk, qty) for sku_id, qty in scrapped]
    scrapped_qty = dict(scrapped)
    restocked = [sku_id for sku_id, qty in back if qty > scrapped_qty.get(sku_id, 0)]
    return moves, restocked


@transaction.atomic
def return_accept(
    *,
    order: Order,
    lines: list[ReturnRequestLine],
    location: Location,
    channel: Channel,
    actor: Actor,
    refund_method: str = Return.RefundMethod.ORIGINAL,
    reason: str = "",
    client_uuid: UUID | None = None,
    approved_by_user_id: int | None = None,
) -> Return:
    """Take back goods of an order from any channel at `location` (a store's
    floor, or a warehouse for returns by post). Quantities are checked against
    what was handed over and not yet returned; restocked goods go back on the
    shelf (filling waiting backorders), scrapped ones are written off there.
    The refund covers the goods only — shipping is not refunded — and is
    requested from payments (`refund.requested`) on the original tenders or as
    store credit; an exchange (`refund_method="exchange"`) requests nothing here:
    the returned value pays for the replacement. Raises DuplicateReturn when
    the till already sent this `client_uuid`. Payments carries the refund out
    in this transaction (a cashier above the refund limit needs
    `approved_by_user_id`, a store manager)."""
    require_in(actor, "orders.return", store_id=location.store_id)
    if refund_method not in REFUND_METHODS:
        raise ValidationFailed(
            f"{refund_method!r} is not a refund method; use 'original' (back on the tenders "
            "paid with) or 'store_credit'.",
            field="refund_method",
        )
    if location.kind not in Location.PHYSICAL or not location.active:
        raise ValidationFailed(
            f"{location.name} is not an open store or warehouse; take the goods back at a "
            "physical location.",
            field="location",
        )
    if channel.store_id is not None and channel.store_id != location.store_id:
        raise ValidationFailed(
            f"Channel {channel.code} belongs to another store than {location.name}; use the "
            "channel of the store that takes the goods back.",
            field="channel",
        )
    order = Order.objects.select_for_update().get(pk=order.pk)
    ret = _claim_number(
        order=order,
        channel=channel,
        location=location,
        refund_method=refund_method,
        reason=reason,
        client_uuid=client_uuid,
        actor=actor,
    )
    order_lines = {
        line.pk: line
        for line in OrderLine.objects.select_for_update(of=("self",))
        .filter(order=order)
        .select_related("sku")
        .order_by("pk")
    }
    stale = _carried_out(order, order_lines)
    if stale:
        OrderLine.objects.bulk_update(stale, ["quantity_fulfilled"])
    planned = return_plan(
        order=order,
        order_lines=order_lines,
        requests=lines,
        refunded_before=_refunded_before(list(order_lines), order.currency),
    )
    moves, restocked = _return_moves(planned, location)
    stock_moves_post(
        moves=moves,
        actor=actor,
        reference_type=REFERENCE,
        reference_id=ret.number,
        reason=f"return of order #{order.pk}",
    )
    backorders_fill(pairs=[(sku_id, location.pk) for sku_id in restocked])

    ReturnLine.objects.bulk_create(
        [
            ReturnLine(
                return_doc=ret,
                order_line=p.order_line,
                quantity=p.request.quantity,
                condition=p.request.condition,
                reason=p.request.reason,
                refund_amount=p.refund.amount,
            )
            for p in planned
        ]
    )
    for p in planned:
        p.order_line.quantity_returned += p.request.quantity
    OrderLine.objects.bulk_update(
        list({p.order_line.pk: p.order_line for p in planned}.values()), ["quantity_returned"]
    )
    total = sum((p.refund for p in planned), Money.zero(order.currency))
    ret.refund_amount = total.amount
    ret.save(update_fields=["refund_amount"])

    units = sum(p.request.quantity for p in planned)
    method_label = Return.RefundMethod(refund_method).label.lower()
    order_activity(
        order=order,
        actor=actor,
        kind="return",
        message=f"{ret.number}: {units} item(s) back at {location.name}; {total} "
        f"({method_label})" + (f": {reason}" if reason else ""),
        data={
            "return": ret.number,
            "location": location.code,
            "refund": str(total.amount),
            "method": refund_method,
        },
    )
    audit_record(
        actor=actor,
        action="order.return",
        object_type="return",
        object_id=ret.number,
        store_id=location.store_id,
        reason=reason,
        data={"order_id": order.pk, "refund": str(total.amount), "method": refund_method},
    )
    event_publish(
        ReturnAccepted(
            return_id=ret.pk,
            number=ret.number,
            order_id=order.pk,
            channel_id=channel.pk,
            store_id=location.store_id,
            location_id=location.pk,
            customer_id=order.customer_id,
            refund_method=refund_method,
            refund_amount=str(total.amount),
            currency=order.currency,
            lines=[
                {
                    "order_line_id": p.order_line.pk,
                    "sku_id": p.order_line.sku_id,
                    "quantity": p.request.quantity,
                    "condition": p.request.condition,
                    "refund_amount": str(p.refund.amount),
                }
                for p in planned
            ],
        )
    )
    if refund_method in MONEY_BACK_METHODS and not total.is_zero():
        event_publish(
            RefundRequested(
                order_id=order.pk,
                amount=str(total.amount),
                currency=order.currency,
                reason=f"return {ret.number}" + (f": {reason}" if reason else ""),
                method=refund_method,
                return_id=ret.pk,
                requested_by_user_id=actor.user_id,
                requested_by_key=actor.api_key_prefix,
                at_store_id=location.store_id,
                terminal_id=actor.terminal_id,
                approved_by_user_id=approved_by_user_id,
            )
        )
    return ret


# --- Exchanges: what the customer pays or gets back --------------------------


@dataclass(frozen=True)
class ExchangeQuote:
    refund_total: Money  # the returned goods' value
    replacement_total: Money  # the goods handed over instead, at today's prices
    difference: Money  # replacement - returned
    customer_pays: Money
    store_refunds: Money


def exchange_arithmetic(*, refund_total: Money, replacement_total: Money) -> ExchangeQuote:
    """Who owes whom in an exchange. Pure."""
    difference = (replacement_total - refund_total).round("total")
    zero = Money.zero(refund_total.currency).round("total")
    return ExchangeQuote(
        refund_total=refund_total,
        replacement_total=replacement_total,
        difference=difference,
        customer_pays=difference if difference > zero else zero,
        store_refunds=-difference if difference < zero else zero,
    )


@dataclass(frozen=True)
class PricedReplacement:
    lines: list[PricedLine]
    totals: Totals
    variants: dict[int, Variant]


def replacement_price(
    *, order: Order, replacement_lines: list[tuple[int, int]]
) -> PricedReplacement:
    """Price the goods handed over in an exchange at today's catalog prices,
    with the rules of a sale (lines_price)."""
    errors: list[dict[str, str]] = []
    if not replacement_lines:
        errors.append(
            {
                "field": "replacement_lines",
                "message": "add the item handed over instead; for a plain return, return it",
            }
        )
    ids = [sku_id for sku_id, _ in replacement_lines]
    variants = {
        v.pk: v for v in Variant.objects.select_related("product__tax_class").filter(pk__in=ids)
    }
    for i, (sku_id, quantity) in enumerate(replacement_lines):
        variant = variants.get(sku_id)
        if variant is None or not variant.active:
            errors.append(
                {
                    "field": f"replacement_lines[{i}].sku",
                    "message": f"SKU #{sku_id} is unknown or no longer sold; pick another item",
                }
            )
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity <= 0:
            errors.append(
                {
                    "field": f"replacement_lines[{i}].quantity",
                    "message": f"must be a whole number above 0 (got {quantity!r})",
                }
            )
    _raise_errors(errors)
    company = order.channel.company
    priced, totals = lines_price(
        [
            LineInput(
                sku_id=sku_id,
                quantity=quantity,
                unit_price=variants[sku_id].price,
                tax_rate=variants[sku_id].product.tax_class.rate,
            )
            for sku_id, quantity in replacement_lines
        ],
        currency=order.currency,
        prices_include_tax=company.prices_include_tax,
    )
    return PricedReplacement(priced, totals, variants)


def exchange_quote(
    *,
    order: Order,
    return_lines: list[ReturnRequestLine],
    replacement_lines: list[tuple[int, int]],
) -> ExchangeQuote:
    """What an exchange comes to before anything is written: the returned
    lines' refund (the same amounts return_accept would refund) against the
    replacement (sku_id, quantity) lines at today's prices. Reads only."""
    order_lines = {line.pk: line for line in order.lines.select_related("sku").order_by("pk")}
    _carried_out(order, order_lines)
    planned = return_plan(
        order=order,
        order_lines=order_lines,
        requests=return_lines,
        refunded_before=_refunded_before(list(order_lines), order.currency),
    )
    replacement = replacement_price(order=order, replacement_lines=replacement_lines)
    return exchange_arithmetic(
        refund_total=sum((p.refund for p in planned), Money.zero(order.currency)),
        replacement_total=replacement.totals.gross,
    )
