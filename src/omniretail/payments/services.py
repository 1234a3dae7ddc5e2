"""Payment writes: tenders of a sale, card authorise/capture/void through a
gateway, refunds to the original tender (with the cashier's refund limit)."""

from __future__ import annotations

import logging
import uuid
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Sum

from omniretail.core.access import Actor, require
from omniretail.core.audit import audit_record
from omniretail.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from omniretail.core.events import event_publish
from omniretail.core.models import Terminal
from omniretail.core.money import Money
from omniretail.orders.models import Order
from omniretail.payments.domain import (
    Settlement,
    TenderError,
    TenderInput,
    refund_status,
    tenders_settle,
)
from omniretail.payments.drawers import drawer_session_for_cash
from omniretail.payments.events import (
    CardAuthorised,
    PaymentCaptured,
    PaymentRefunded,
    PaymentVoided,
)
from omniretail.payments.gateways.base import (
    AUTHORISED,
    CAPTURED,
    DECLINED,
    REQUIRES_ACTION,
    GatewayError,
    token_check,
)
from omniretail.payments.gateways.registry import gateway_get
from omniretail.payments.models import Payment, Refund

log = logging.getLogger(__name__)

CENT = Decimal("0.01")


def payments_settle(
    *, due: Money, tenders: list[TenderInput], cash_rounding_step: Decimal
) -> list[Settlement]:
    """Check the tenders cover the amount due before anything is written."""
    try:
        return tenders_settle(due, tenders, cash_rounding_step=cash_rounding_step)
    except TenderError as exc:
        raise ValidationFailed(str(exc), field=exc.field)


def payments_record(
    *, order: Order, terminal: Terminal | None, settlements: list[Settlement]
) -> list[Payment]:
    """Store the settled tenders of an order (inside the sale's transaction)."""
    return Payment.objects.bulk_create(
        [
            Payment(
                order=order,
                terminal=terminal,
                tender=s.tender,
                currency=s.applied.currency,
                amount=s.applied.amount,
                tendered=s.tendered.amount,
                change=s.change.amount,
                rounding=s.rounding.amount,
            )
            for s in settlements
        ]
    )


def exchange_credit_record(
    *, order: Order, terminal: Terminal, amount: Money, return_number: str
) -> Payment:
    """The exchange credit tender of a replacement sale (inside the
    exchange's transaction): the value of the goods returned by `return_number`
    that pays for the replacement. No money moves and no drawer is touched;
    the books move the value from the returned sale to this one."""
    return Payment.objects.create(
        order=order,
        terminal=terminal,
        tender=Payment.Tender.EXCHANGE_CREDIT,
        currency=amount.currency,
        amount=amount.amount,
        tendered=amount.amount,
        gateway_reference=return_number[:100],
    )


# --- cards ----------------------------------------------------------------------------------


def _amount(value: Decimal, field: str = "amount") -> Decimal:
    if not isinstance(value, Decimal) or not value.is_finite() or value <= 0:
        raise ValidationFailed(f"{field} must be an amount above 0, e.g. 12.50.", field=field)
    if value != value.quantize(CENT):
        raise ValidationFailed(f"{field} has more than 2 decimals ({value}).", field=field)
    return value


def _order_outstanding(order: Order) -> Decimal:
    taken = order.payments.exclude(status=Payment.Status.VOIDED).aggregate(s=Sum("amount"))[
        "s"
    ] or Decimal(0)
    return order.total_gross - taken


def card_authorise(
    *,
    order_id: int,
    amount: Decimal,
    token: str,
    actor: Actor,
    idempotency_key: str,
    capture: bool = False,
    terminal_id: int | None = None,
    gateway: str | None = None,
) -> Payment:
    """Authorise (or, with capture=True, charge) a card token for an order.

    The gateway is called outside our transaction, like any outside system;
    the idempotency key makes a retry return the same gateway charge and the
    same Payment. A decline or a card that needs the customer's action is
    refused with nothing stored."""
    order = Order.objects.filter(pk=order_id).first()
    if order is None:
        raise NotFound(f"No order #{order_id}.", field="order_id")
    require(actor, "payments.take", store_id=order.store_id)
    amount = _amount(amount)
    key = (idempotency_key or "").strip()
    if not key or len(key) > 255:
        raise ValidationFailed(
            "idempotency_key is required (1-255 characters): send a UUID per payment attempt.",
            field="idempotency_key",
        )
    existing = Payment.objects.filter(order=order, idempotency_key=key).first()
    if existing is not None:
        return existing
    if order.status == Order.Status.CANCELLED:
        raise Conflict(f"Order #{order.pk} is cancelled; it takes no payment.", field="order_id")
    outstanding = _order_outstanding(order)
    if amount > outstanding:
        raise ValidationFailed(
            f"amount {amount} is more than the {outstanding} {order.currency} still due on "
            f"order #{order.pk}; lower it.",
            field="amount",
        )
    try:
        token_check(token)
        adapter = gateway_get(gateway)
        result = adapter.authorise(
            amount=amount,
            currency=order.currency,
            token=token,
            idempotency_key=f"{order.pk}:{key}",
            capture=capture,
        )
    except GatewayError as exc:
        raise ValidationFailed(f"The card was refused: {exc.reason}.", field="token", code=exc.code)
    if result.status == DECLINED:
        raise Conflict(
            f"The card was declined ({result.decline_reason or 'no reason given'}); ask for "
            "another card or another tender.",
            field="token",
            code="card_declined",
            decline_reason=result.decline_reason,
        )
    if result.status == REQUIRES_ACTION:
        raise Conflict(
            "The card needs the customer's confirmation (3-D Secure); complete it on the "
            "customer's device, then retry.",
            field="token",
            code="requires_action",
        )
    if result.status not in (AUTHORISED, CAPTURED):
        raise Conflict(f"The gateway answered {result.status}; retry.", field="token")
    captured = result.status == CAPTURED
    try:
        with transaction.atomic():
            payment = Payment.objects.create(
                order=order,
                terminal_id=terminal_id,
                tender=Payment.Tender.CARD,
                currency=order.currency,
                amount=amount,
                tendered=amount,
                status=Payment.Status.CAPTURED if captured else Payment.Status.AUTHORISED,
                captured_amount=result.captured_amount if captured else None,
                gateway=adapter.name,
                gateway_reference=result.reference,
                card_brand=result.brand[:20],
                card_last4=result.last4[-4:],
                idempotency_key=key,
            )
            event_publish(
                CardAuthorised(
                    payment_id=payment.pk,
                    order_id=order.pk,
                    gateway=adapter.name,
                    amount=str(amount),
                    currency=order.currency,
                    captured=captured,
                )
            )
    except IntegrityError:
        # The same key won a race: answer as it did.
        return Payment.objects.get(order=order, idempotency_key=key)
    log.info(
        "card %s on order %s: %s %s %s", result.status, order.pk, adapter.name, result.brand, amount
    )
    return payment


def _locked_card(payment: Payment, actor: Actor, permission: str) -> Payment:
    locked = (
        Payment.objects.select_for_update().select_related("order").filter(pk=payment.pk).first()
    )
    if locked is None:
        raise NotFound(f"No payment #{payment.pk}.", field="payment")
    require(actor, permission, store_id=locked.order.store_id)
    if locked.tender != Payment.Tender.CARD:
        raise ValidationFailed(f"Payment #{locked.pk} is not a card payment.", field="payment")
    return locked


@transaction.atomic
def card_capture(*, payment: Payment, actor: Actor, amount: Decimal | None = None) -> Payment:
    """Capture an authorisation, wholly or in part (the rest is released)."""
    locked = _locked_card(payment, actor, "payments.take")
    if locked.status != Payment.Status.AUTHORISED:
        raise Conflict(
            f"Payment #{locked.pk} is {locked.status}; only an authorised card can be captured.",
            field="payment",
        )
    amount = locked.amount if amount is None else _amount(amount)
    if amount > locked.amount:
        raise ValidationFailed(
            f"amount {amount} is more than the {locked.amount} authorised; capture at most that.",
            field="amount",
        )
    try:
        result = gateway_get(locked.gateway).capture(
            reference=locked.gateway_reference, amount=amount
        )
    except GatewayError as exc:
        raise Conflict(f"The gateway refused the capture: {exc.reason}.", field="payment")
    locked.status = Payment.Status.CAPTURED
    locked.captured_amount = result.captured_amount
    locked.save(update_fields=["status", "captured_amount", "updated_at"])
    event_publish(
        PaymentCaptured(
            payment_id=locked.pk,
            order_id=locked.order_id,
            gateway=locked.gateway,
            amount=str(locked.captured_amount),
            currency=locked.currency,
            source="service",
        )
    )
    return locked


@transaction.atomic
def card_void(*, payment: Payment, actor: Actor) -> Payment:
    """Release an authorisation that will not be captured."""
    locked = _locked_card(payment, actor, "payments.take")
    if locked.status != Payment.Status.AUTHORISED:
        raise Conflict(
            f"Payment #{locked.pk} is {locked.status}; only an authorised card can be voided "
            "(refund a captured one).",
            field="payment",
        )
    try:
        gateway_get(locked.gateway).void(reference=locked.gateway_reference)
    except GatewayError as exc:
        raise Conflict(f"The gateway refused the void: {exc.reason}.", field="payment")
    locked.status = Payment.Status.VOIDED
    locked.save(update_fields=["status", "updated_at"])
    event_publish(
        PaymentVoided(
            payment_id=locked.pk,
            order_id=locked.order_id,
            gateway=locked.gateway,
            amount=str(locked.amount),
            currency=locked.currency,
            source="service",
        )
    )
    return locked


# --- refunds --------------------------------------------------------------------------------


def refund_limit() -> Decimal:
    return Decimal(str(settings.OMNI_CASHIER_REFUND_LIMIT))


def _check_approval(
    *,
    payment: Payment,
    amount: Decimal,
    actor: Actor,
    approved_by: Actor | None,
    store_id: int | None,
) -> int | None:
    """The approving user's id when one is needed and valid; None when the
    actor may refund this much alone. Refunds without approval on the same
    order add up, so a large refund cannot be split under the limit."""
    if approved_by is None and actor.can("payments.refund_approve", store_id):
        return None
    unapproved = Refund.objects.filter(
        payment__order_id=payment.order_id, approved_by__isnull=True
    ).exclude(requested_by__startswith="gateway:").aggregate(s=Sum("amount"))["s"] or Decimal(0)
    limit = refund_limit()
    if approved_by is None:
        if unapproved + amount <= limit:
            return None
        raise PermissionDenied(
            f"Refunds on this order above {limit} {payment.currency} need a manager's "
            f"approval ({unapproved + amount} asked without one): give approved_by, a user "
            "with payments.refund_approve.",
            field="approved_by",
            code="approval_required",
        )
    if approved_by.user_id is None or not approved_by.can("payments.refund_approve", store_id):
        raise PermissionDenied(
            f"{approved_by.label} may not approve refunds in this store; ask a store manager.",
            field="approved_by",
        )
    if approved_by.user_id == actor.user_id:
        raise PermissionDenied(
            "A refund cannot be approved by the person who makes it; ask another manager.",
            field="approved_by",
        )
    return approved_by.user_id


@transaction.atomic
def payment_refund(
    *,
    payment: Payment,
    amount: Decimal,
    reason: str,
    actor: Actor,
    approved_by: Actor | None = None,
    terminal_id: int | None = None,
    idempotency_key: str = "",
    at_store_id: int | None = None,
) -> Refund:
    """Give money back on a payment's own tender: a card through its gateway,
    cash out of the terminal's open drawer, any other tender recorded and
    published (`payment.refunded` with status "requested") for its owner
    (loyalty, store credit, receivables) to carry out. `at_store_id`: the
    store where the money goes back (a return taken in another store than
    the one that sold); the refund right and the approval are checked there."""
    key = (idempotency_key or "").strip()
    if key:
        done = Refund.objects.filter(payment_id=payment.pk, idempotency_key=key).first()
        if done is not None:
            return done
    locked = (
        Payment.objects.select_for_update().select_related("order").filter(pk=payment.pk).first()
    )
    if locked is None:
        raise NotFound(f"No payment #{payment.pk}.", field="payment")
    store_id = at_store_id if at_store_id is not None else locked.order.store_id
    require(actor, "payments.refund", store_id=store_id)
    amount = _amount(amount)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("Give the reason for the refund.", field="reason")
    if len(reason) > 300:
        raise ValidationFailed("reason is longer than 300 characters; shorten it.", field="reason")
    if locked.status in (Payment.Status.AUTHORISED, Payment.Status.VOIDED):
        raise Conflict(
            f"Payment #{locked.pk} is {locked.status}: nothing was taken, so nothing can be "
            "refunded (void an authorisation instead).",
            field="payment",
        )
    refundable = locked.refundable_amount
    if amount > refundable:
        raise ValidationFailed(
            f"amount {amount} is more than the {refundable} {locked.currency} left to refund on "
            f"payment #{locked.pk}.",
            field="amount",
        )
    approver_id = _check_approval(
        payment=locked, amount=amount, actor=actor, approved_by=approved_by, store_id=store_id
    )
    terminal_id = terminal_id or actor.terminal_id or locked.terminal_id
    session = None
    gateway_ref = ""
    status = Refund.Status.SUCCEEDED
    if locked.tender == Payment.Tender.CASH:
        if terminal_id is None:
            raise ValidationFailed(
                "A cash refund leaves a till's drawer: name the terminal.", field="terminal"
            )
        session = drawer_session_for_cash(terminal_id=terminal_id)
    elif locked.tender == Payment.Tender.CARD:
        try:
            result = gateway_get(locked.gateway).refund(
                reference=locked.gateway_reference,
                amount=amount,
                idempotency_key=key or f"refund-{locked.pk}-{uuid.uuid4()}",
            )
        except GatewayError as exc:
            raise Conflict(f"The gateway refused the refund: {exc.reason}.", field="amount")
        gateway_ref = result.reference
    else:
        status = Refund.Status.REQUESTED
    refund = Refund.objects.create(
        payment=locked,
        tender=locked.tender,
        amount=amount,
        currency=locked.currency,
        reason=reason,
        status=status,
        gateway_reference=gateway_ref,
        terminal_id=terminal_id,
        drawer_session=session,
        requested_by=actor.label,
        approved_by_id=approver_id,
        idempotency_key=key,
    )
    locked.refunded_amount += amount
    locked.status = refund_status(locked.settled_amount, locked.refunded_amount)
    locked.save(update_fields=["refunded_amount", "status", "updated_at"])
    audit_record(
        actor=actor,
        action="payment.refund",
        object_type="payment",
        object_id=locked.pk,
        store_id=store_id,
        reason=reason,
        data={
            "refund_id": refund.pk,
            "amount": str(amount),
            "currency": locked.currency,
            "tender": locked.tender,
            "approved_by": approved_by.label if approver_id and approved_by else "",
            "limit": str(refund_limit()),
        },
    )
    event_publish(
        PaymentRefunded(
            refund_id=refund.pk,
            payment_id=locked.pk,
            order_id=locked.order_id,
            tender=locked.tender,
            status=status,
            amount=str(amount),
            currency=locked.currency,
            store_id=store_id,
            terminal_id=terminal_id,
            drawer_session_id=session.pk if session else None,
            source="service",
        )
    )
    return refund
