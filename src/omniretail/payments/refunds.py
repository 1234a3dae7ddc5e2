"""Carrying out a refund an order asked for (`refund.requested`: a return,
a cancellation after payment), whatever channel sold it and wherever it is
returned: back on the tenders it was paid with, or as store credit.

The refund runs in the same transaction as the return that asks for it, so
a refused refund (a card the gateway will not refund, a drawer that is
closed, a cashier over the refund limit without a manager) leaves the goods
where they were. Each part is idempotent on the event's id."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar

from django.contrib.auth import get_user_model
from django.db.models import F

from omniretail.core.access import SYSTEM, Actor, actor_for_user
from omniretail.core.apikeys import api_key_actor
from omniretail.core.errors import PermissionDenied, ValidationFailed
from omniretail.core.events import DomainEvent, event_publish
from omniretail.core.models import OutboxEvent
from omniretail.core.money import Money, allocate
from omniretail.customers.models import Customer
from omniretail.loyalty.domain import Reference
from omniretail.loyalty.services import (
    giftcard_refund,
    points_reverse,
    store_credit_issue,
    store_credit_reverse,
)
from omniretail.orders.models import Order
from omniretail.payments.models import CreditAccount, Payment, Refund
from omniretail.payments.services import card_void, payment_refund
from omniretail.payments.take import OFFLINE_GATEWAY

# The order in which tenders give money back when an order was split.
REFUND_ORDER = ("card", "gift_card", "store_credit", "loyalty", "on_account", "check", "cash")


@dataclass(frozen=True, kw_only=True)
class RefundCompleted(DomainEvent):
    """Money went back to the customer for an order: `parts` says on which
    tender (or `store_credit_issued`) and how much; the books follow it."""

    name: ClassVar[str] = "refund.completed"
    order_id: int
    return_id: int | None
    amount: str
    currency: str
    parts: list[dict[str, Any]]
    points_taken_back: str
    till: bool


def _actor_of(payload: dict[str, Any]) -> tuple[Actor, Actor | None]:
    """Who asked for the refund (the limit applies to them) and who approved."""
    users = get_user_model().objects
    actor: Actor = SYSTEM
    if payload.get("requested_by_user_id"):
        user = users.filter(pk=payload["requested_by_user_id"]).first()
        if user is not None:
            actor = actor_for_user(user)
    elif payload.get("requested_by_key"):
        keyed = api_key_actor(payload["requested_by_key"])
        if keyed is None:
            raise PermissionDenied(
                "The key that asked for this refund was revoked; ask again with a valid key.",
                field="authorization",
            )
        actor = keyed
    approver = None
    if payload.get("approved_by_user_id"):
        user = users.filter(pk=payload["approved_by_user_id"]).first()
        if user is not None:
            approver = actor_for_user(user)
    return actor, approver


def _carry_out(payment: Payment, refund: Refund, amount: Decimal, key: str, actor: Actor) -> None:
    """Tenders other than card and cash: give the value back where it came from."""
    order_ref = Reference("order", str(payment.order_id))
    refund_ref = Reference("refund", key)
    if payment.tender == Payment.Tender.GIFT_CARD:
        card_id = int(payment.gateway_reference.split(":", 1)[1])
        giftcard_refund(
            reference=order_ref,
            refund_reference=refund_ref,
            amount=amount,
            actor=SYSTEM,
            card_id=card_id,
        )
    elif payment.tender == Payment.Tender.STORE_CREDIT:
        store_credit_reverse(
            reference=order_ref, refund_reference=refund_ref, amount=amount, actor=SYSTEM
        )
    elif payment.tender == Payment.Tender.ON_ACCOUNT:
        customer_id = payment.order.customer_id
        CreditAccount.objects.filter(customer_id=customer_id).update(balance=F("balance") - amount)
    elif payment.tender == Payment.Tender.LOYALTY:
        pass  # the points were put back by points_reverse, for the whole order
    else:  # a check: paid back by the accountant (transfer); the refund stays requested
        return
    Refund.objects.filter(pk=refund.pk).update(status=Refund.Status.SUCCEEDED)


def refund_order(
    *,
    order_id: int,
    amount: Decimal,
    method: str,
    reason: str,
    key: str,
    actor: Actor,
    approved_by: Actor | None = None,
    terminal_id: int | None = None,
    return_id: int | None = None,
    at_store_id: int | None = None,
) -> RefundCompleted:
    """Give `amount` back for an order: as store credit, or on the tenders it
    was paid with (card through the gateway, cash out of the drawer, gift
    card, store credit and points back on their ledgers, on-account off the
    customer's balance), split in proportion to what each tender can still
    refund. The points the refunded part earned are taken back. Runs in the
    caller's transaction; `key` makes every part idempotent."""
    order = Order.objects.select_for_update().get(pk=order_id)
    value = Money(amount, order.currency)
    customer = Customer.objects.filter(pk=order.customer_id).first()
    fraction = (amount / order.total_gross) if order.total_gross else Decimal(0)
    reversal = None
    if customer is not None:
        reversal = points_reverse(
            reference=Reference("order", str(order.pk)),
            refund_reference=Reference("refund", key),
            fraction=min(fraction, Decimal(1)),
        )
    parts: list[dict[str, Any]] = []
    if method != "store_credit" and not order.payments.exists():
        # Paid outside (a marketplace collects its own payments): the channel
        # refunds the customer; nothing was booked here, nothing is.
        parts.append({"tender": "external", "amount": format(amount, "f")})
    elif method == "store_credit":
        if customer is None:
            raise ValidationFailed(
                "Store credit needs the customer: look them up on the order, or refund to the "
                "original tenders.",
                field="refund_method",
            )
        store_credit_issue(
            customer=customer,
            amount=amount,
            currency=order.currency,
            source="refund",
            reference=Reference("refund", key),
            actor=SYSTEM,
            reason=reason[:300],
        )
        parts.append({"tender": "store_credit_issued", "amount": format(amount, "f")})
    else:
        for held in order.payments.filter(status=Payment.Status.AUTHORISED, tender="card"):
            if held.gateway != OFFLINE_GATEWAY:  # nothing was taken yet: let the hold go
                card_void(payment=held, actor=SYSTEM)
                parts.append({"tender": "card_void", "amount": format(held.amount, "f")})
                amount -= min(held.amount, amount)
        payments = sorted(
            (
                p
                for p in order.payments.exclude(status=Payment.Status.VOIDED)
                if p.status != Payment.Status.AUTHORISED
                and p.tender in REFUND_ORDER  # a written-off shortfall gave no money
                and p.refundable_amount > 0
            ),
            key=lambda p: (REFUND_ORDER.index(p.tender), p.pk),
        )
        loyalty_back = reversal.restored_amount if reversal is not None else Decimal(0)
        shares: dict[int, Decimal] = {}
        for p in payments:
            if p.tender == Payment.Tender.LOYALTY and loyalty_back:
                shares[p.pk] = min(loyalty_back, p.refundable_amount, amount)
        rest = amount - sum(shares.values(), Decimal(0))
        others = [p for p in payments if p.pk not in shares]
        room = sum((p.refundable_amount for p in others), Decimal(0))
        if rest > room:
            raise ValidationFailed(
                f"{amount} {order.currency} cannot go back on the tenders of order #{order.pk}: "
                f"only {room + sum(shares.values(), Decimal(0))} is left to refund on them; "
                "refund as store credit instead.",
                field="amount",
            )
        if rest > 0 and others:
            for p, share in zip(
                others,
                allocate(Money(rest, order.currency), [p.refundable_amount for p in others]),
                strict=True,
            ):
                shares[p.pk] = share.amount
        for p in payments:
            part = shares.get(p.pk, Decimal(0))
            if part <= 0:
                continue
            refund = payment_refund(
                payment=p,
                amount=part,
                reason=reason[:300] or "refund",
                actor=actor,
                approved_by=approved_by,
                terminal_id=terminal_id,
                idempotency_key=f"{key}:{p.pk}",
                at_store_id=at_store_id,
            )
            if refund.status == Refund.Status.REQUESTED:
                _carry_out(p, refund, part, f"{key}:{p.pk}", actor)
            parts.append({"tender": p.tender, "amount": format(part, "f"), "refund": refund.pk})
    done = RefundCompleted(
        order_id=order.pk,
        return_id=return_id,
        amount=format(value.amount, "f"),
        currency=order.currency,
        parts=parts,
        points_taken_back=format(reversal.taken_back_amount if reversal else Decimal(0), "f"),
        till=order.terminal_id is not None,
    )
    event_publish(done)
    return done


def on_refund_requested(event: OutboxEvent) -> None:
    """In-transaction handler of `refund.requested`: carry the refund out with
    the return (or the cancellation) that asked for it."""
    payload = event.payload
    actor, approver = _actor_of(payload)
    refund_order(
        order_id=payload["order_id"],
        amount=Decimal(payload["amount"]),
        method=payload.get("method") or "original",
        reason=payload.get("reason", ""),
        key=str(event.pk),
        actor=actor,
        approved_by=approver,
        terminal_id=payload.get("terminal_id"),
        return_id=payload.get("return_id"),
        at_store_id=payload.get("at_store_id"),
    )
