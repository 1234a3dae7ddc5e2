"""An exchange at a store's till: goods of any order come back and other
goods (another size, another colour) go out with the customer, in one
transaction.

The replacement is a till sale like any other: a carry-out order on the
till's channel, its goods out of the store's stock, a receipt numbered on the
till's gapless series and a journal entry, all in the exchange's transaction.
The returned value pays for it as an exchange credit tender (the returned
value, or the replacement's total when it costs less); the customer pays only
the difference when the replacement costs more (`amount_due`) with any tender
of a till sale (cash into the open drawer, card by gateway token, gift card,
store credit, points, check, on account), and the store refunds the
difference when it costs less (a `refund.requested` on the original order, on
its tenders or as store credit).

The books (accounting.books_exchanges, from `exchange.completed`): a credit
note for the exchange credit on the returned sale, the replacement's receipt
and entry; the exchange credit passes through account 2330 and leaves it at
zero. The returned goods' cost comes back from `return.accepted`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

from django.db import transaction

from omniretail.accounting.models import Receipt
from omniretail.accounting.selectors import receipt_for_order
from omniretail.channels.pos.services import Tender, tender_requests
from omniretail.core.access import Actor, require
from omniretail.core.audit import audit_record
from omniretail.core.errors import Conflict, ValidationFailed
from omniretail.core.events import event_publish
from omniretail.core.models import Terminal
from omniretail.core.money import Money
from omniretail.inventory.domain import kit_expand
from omniretail.inventory.models import Location, StockLevel
from omniretail.inventory.selectors import kit_components, store_location
from omniretail.inventory.services import MoveSpec, location_virtual, stock_moves_post
from omniretail.orders.events import RefundRequested
from omniretail.orders.events_returns import ExchangeCompleted
from omniretail.orders.models import Order, Return
from omniretail.orders.returns import (
    MONEY_BACK_METHODS,
    DuplicateReturn,
    ExchangeQuote,
    ReturnRequestLine,
    exchange_arithmetic,
    exchange_quote,
    replacement_price,
    return_accept,
)
from omniretail.orders.services import order_activity, order_record_carry_out
from omniretail.payments.domain import Settlement
from omniretail.payments.services import exchange_credit_record
from omniretail.payments.take import payments_take, tenders_check


@dataclass(frozen=True)
class ExchangeResult:
    returned: Return
    replacement: Order
    quote: ExchangeQuote
    amount_due: Money  # what the till collected for the difference
    change: Money
    replayed: bool = False
    negative_stock: list[str] = field(default_factory=list)
    receipt: Receipt | None = None  # the replacement sale's, on the till's series


def _check_till(terminal: Terminal, actor: Actor) -> Location:
    require(actor, "sale.create", store_id=terminal.store_id)
    if actor.terminal_id is not None and actor.terminal_id != terminal.pk:
        raise Conflict(
            "This key belongs to another terminal; exchange at the terminal the key was issued "
            "for.",
            field="terminal",
            code="forbidden",
        )
    if not terminal.active:
        raise Conflict(f"Terminal {terminal.code} is deactivated.", field="terminal")
    floor = store_location(store_id=terminal.store_id)
    if floor is None:
        raise Conflict(
            f"Store {terminal.store.code} has no store location to take goods back into; "
            "create one.",
            field="terminal",
        )
    return floor


def _lock_levels(sku_ids: set[int], location_id: int) -> None:
    """Lock the shelf's levels of everything the exchange moves, in the
    ledger's (sku, location) order, before its two postings: two tills
    swapping sizes in opposite directions never deadlock."""
    list(
        StockLevel.objects.select_for_update()
        .filter(sku_id__in=sku_ids, location_id=location_id)
        .order_by("sku_id", "location_id")
        .values_list("pk", flat=True)
    )


def _replayed(existing: Return) -> ExchangeResult:
    replacement = existing.replacement_order
    if replacement is None:
        raise Conflict(
            f"{existing.number} was sent with this client UUID as a plain return, not an "
            "exchange; use a new client UUID.",
            field="client_uuid",
        )
    change = sum(
        (Money(p.change, replacement.currency) for p in replacement.payments.all()),
        Money.zero(replacement.currency),
    )
    quote = exchange_arithmetic(
        refund_total=Money(existing.refund_amount, existing.currency),
        replacement_total=Money(replacement.total_gross, replacement.currency),
    )
    return ExchangeResult(
        existing,
        replacement,
        quote,
        quote.customer_pays,
        change,
        replayed=True,
        receipt=receipt_for_order(order_id=replacement.pk),
    )


@transaction.atomic
def exchange_at_till(
    *,
    terminal: Terminal,
    order: Order,
    return_lines: list[ReturnRequestLine],
    replacement_lines: list[tuple[int, int]],
    tenders: list[Tender],
    actor: Actor,
    client_uuid: UUID,
    refund_method: str = Return.RefundMethod.ORIGINAL,
    reason: str = "exchange",
    approved_by_user_id: int | None = None,
) -> ExchangeResult:
    """Take goods of `order` back onto this store's shelf and hand over the
    replacement (sku_id, quantity) lines as a new carry-out order on the
    till's channel, numbered and booked like a till sale. The customer pays the
    difference with `tenders` when the replacement costs more (any tender of a
    till sale; no tenders otherwise); when it costs less, the rest
    is refunded on the original order by `refund_method` ('original' or
    'store_credit'; a refund above the cashier's limit needs
    `approved_by_user_id`, a store manager). A resend with the same client
    UUID returns the first exchange. Refused input changes nothing."""
    floor = _check_till(terminal, actor)
    if refund_method not in MONEY_BACK_METHODS:
        raise ValidationFailed(
            f"{refund_method!r}: the difference goes back 'original' (on the tenders paid "
            "with) or as 'store_credit'.",
            field="refund_method",
        )
    # Only the order row: locking its channel too would block every sale on it.
    order = (
        Order.objects.select_for_update(of=("self",))
        .select_related("channel__company")
        .get(pk=order.pk)
    )
    # A resend waits on the order row until the first exchange commits, then finds it.
    existing = (
        Return.objects.select_related("replacement_order").filter(client_uuid=client_uuid).first()
    )
    if existing is not None:
        return _replayed(existing)
    quote = exchange_quote(
        order=order, return_lines=return_lines, replacement_lines=replacement_lines
    )
    replacement = replacement_price(order=order, replacement_lines=replacement_lines)
    company = terminal.store.company
    requests = tender_requests(tenders)
    settlements: list[Settlement] = []
    if not quote.customer_pays.is_zero():
        settlements = tenders_check(
            due=quote.customer_pays,
            tenders=requests,
            cash_rounding_step=company.cash_rounding_step,
            customer_id=order.customer_id,
        )
    elif tenders:
        raise ValidationFailed(
            f"The replacement costs {quote.replacement_total}, no more than the "
            f"{quote.refund_total} returned: nothing to pay; remove the tenders.",
            field="tenders",
        )

    wanted = {req.order_line_id for req in return_lines}
    returned_skus = {line.sku_id for line in order.lines.all() if line.pk in wanted}
    touched = returned_skus | set(replacement.variants)
    _lock_levels(
        {sku_id for sku_id, _ in kit_expand([(s, 1) for s in touched], kit_components(touched))},
        floor.pk,
    )
    try:
        returned = return_accept(
            order=order,
            lines=return_lines,
            location=floor,
            channel=terminal.channel,
            actor=actor,
            refund_method=Return.RefundMethod.EXCHANGE,
            reason=reason,
            client_uuid=client_uuid,
        )
    except DuplicateReturn as dup:  # a concurrent resend won the race
        return _replayed(dup.existing)

    new_order = order_record_carry_out(
        channel=terminal.channel,
        external_id=f"exchange-{returned.number}",
        terminal=terminal,
        customer_id=order.customer_id,
        lines=replacement.lines,
        variants=replacement.variants,
        totals=replacement.totals,
        actor=actor,
    )
    customer = location_virtual(Location.Kind.CUSTOMER)
    goods = kit_expand(
        [(line.sku_id, line.quantity) for line in replacement.lines],
        kit_components(replacement.variants),
    )
    negatives = stock_moves_post(
        moves=[MoveSpec(sku_id, floor.pk, customer.pk, qty) for sku_id, qty in goods],
        actor=actor,
        reference_type="order",
        reference_id=str(new_order.pk),
        reason=f"exchange {returned.number}",
        allow_negative=True,  # the goods are in the customer's hands: the ledger was wrong
    )
    # The returned value pays first (the exchange credit), then the difference.
    credit = quote.replacement_total - quote.customer_pays
    if not credit.is_zero():
        exchange_credit_record(
            order=new_order, terminal=terminal, amount=credit, return_number=returned.number
        )
    change = Money.zero(order.currency)
    if settlements:
        taken = payments_take(
            order=new_order,
            tenders=requests,
            settlements=settlements,
            actor=actor,
            idempotency_key=f"exchange:{client_uuid}",
            terminal=terminal,
            customer_id=order.customer_id,
        )
        change = taken.change
    returned.replacement_order = new_order
    returned.save(update_fields=["replacement_order"])

    order_activity(
        order=order,
        actor=actor,
        kind="return",
        message=f"{returned.number} exchanged at {terminal.name} ({terminal.store.name}) for "
        f"order #{new_order.pk}",
        data={"return": returned.number, "replacement_order": new_order.pk},
    )
    order_activity(
        order=new_order,
        actor=actor,
        kind="exchange",
        message=f"replacement for {returned.number} of order #{order.pk}: "
        f"{quote.refund_total} returned, {quote.customer_pays} paid, "
        f"{quote.store_refunds} to refund",
        data={
            "return": returned.number,
            "order": order.pk,
            "returned_value": str(quote.refund_total.amount),
            "paid": str(quote.customer_pays.amount),
            "refund": str(quote.store_refunds.amount),
        },
    )
    # The books first: the returned sale's credit note, the replacement's receipt.
    event_publish(
        ExchangeCompleted(
            return_id=returned.pk,
            order_id=order.pk,
            replacement_order_id=new_order.pk,
            terminal_id=terminal.pk,
            returned_value=str(quote.refund_total.amount),
            replacement_total=str(quote.replacement_total.amount),
            amount_due=str(quote.customer_pays.amount),
            refund_due=str(quote.store_refunds.amount),
            currency=order.currency,
        )
    )
    if not quote.store_refunds.is_zero():
        event_publish(
            RefundRequested(
                order_id=order.pk,
                amount=str(quote.store_refunds.amount),
                currency=order.currency,
                reason=f"exchange {returned.number}: the replacement costs less",
                method=refund_method,
                return_id=returned.pk,
                requested_by_user_id=actor.user_id,
                requested_by_key=actor.api_key_prefix,
                at_store_id=terminal.store_id,
                terminal_id=terminal.pk,
                approved_by_user_id=approved_by_user_id,
            )
        )
    audit_record(
        actor=actor,
        action="order.exchange",
        object_type="return",
        object_id=returned.number,
        store_id=terminal.store_id,
        reason=reason,
        data={
            "order_id": order.pk,
            "replacement_order_id": new_order.pk,
            "amount_due": str(quote.customer_pays.amount),
            "refund_due": str(quote.store_refunds.amount),
        },
    )
    return ExchangeResult(
        returned,
        new_order,
        quote,
        quote.customer_pays,
        change,
        negative_stock=[f"SKU #{n.sku_id} at {floor.code}: {n.on_hand}" for n in negatives],
        receipt=receipt_for_order(order_id=new_order.pk),
    )
