"""The till's own writes: cashier PINs and sign-in, manager overrides,
e-mailed receipts. (Sales themselves are `services.pos_sale_record`.)"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import check_password, make_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.validators import validate_email
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from omniretail.accounting.models import Receipt
from omniretail.channels.models import CashierPin, CashierSession, DiscountLimit
from omniretail.core.access import (
    ADMIN,
    CASHIER,
    PERMISSIONS,
    STORE_MANAGER,
    Actor,
    actor_for_user,
    require,
)
from omniretail.core.audit import audit_record
from omniretail.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from omniretail.core.models import AuditLog, Terminal

MAX_PIN_FAILURES = 5
LOCK_MINUTES = 5
# Without a DiscountLimit row: cashiers up to OMNI_CASHIER_MAX_DISCOUNT_PERCENT
# (10 % unless set), managers and admins anything.
MANAGER_MAX_DISCOUNT = {STORE_MANAGER: Decimal(100), ADMIN: Decimal(100)}


def discount_limits() -> dict[str, Decimal]:
    """The largest staff discount (percent) per role: the DiscountLimit table,
    else the defaults. The till (terminal profile, cashier sign-in) and the
    server's check on every sale read this one function."""
    cashier = Decimal(str(getattr(settings, "OMNI_CASHIER_MAX_DISCOUNT_PERCENT", "10")))
    limits = {CASHIER: cashier, **MANAGER_MAX_DISCOUNT}
    limits.update(DiscountLimit.objects.values_list("role", "max_percent"))
    return limits


def discount_limit_of(actor: Actor, store_id: int) -> tuple[Decimal, str]:
    """The actor's discount limit in a store and the role it comes from: the
    best of their selling roles there. A key or the system rings up for a
    cashier, so they get the cashier's limit."""
    limits = discount_limits()
    best: tuple[Decimal, str] = (limits[CASHIER], CASHIER)
    if actor.user_id is None:
        return best
    found = False
    for role, stores in actor.roles.items():
        if stores is not None and store_id not in stores:
            continue
        if role not in PERMISSIONS["sale.create"]:
            continue
        limit = limits.get(role, Decimal(0))
        if not found or limit > best[0]:
            best, found = (limit, role), True
    return best


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _session_minutes() -> int:
    return int(getattr(settings, "OMNI_POS_CASHIER_SESSION_MINUTES", 480))


@dataclass(frozen=True)
class Cashier:
    user_id: int
    name: str
    role: str
    max_discount_percent: Decimal
    actor: Actor


@dataclass(frozen=True)
class SignedIn:
    token: str  # shown once; only its digest is stored
    cashier: Cashier
    expires_at: dt.datetime


def _display_name(user: object) -> str:
    full = getattr(user, "get_full_name", lambda: "")()
    return str(full or getattr(user, "username", ""))


def cashier_of(*, user: object, terminal: Terminal) -> Cashier | None:
    """The user as a cashier of this terminal's store, or None if they may not sell there."""
    actor = actor_for_user(user)
    store_id = terminal.store_id
    if not actor.can("sale.create", store_id):
        return None
    best = discount_limit_of(actor, store_id)
    return Cashier(
        user_id=int(getattr(user, "pk")),  # noqa: B009
        name=_display_name(user),
        role=best[1],
        max_discount_percent=best[0],
        actor=actor,
    )


@transaction.atomic
def cashier_pin_set(*, user_id: int, pin: str, actor: Actor) -> CashierPin:
    """Give a staff user a till PIN (4 to 8 digits); stored hashed."""
    require(actor, "org.write")
    if not (pin.isdigit() and 4 <= len(pin) <= 8):
        raise ValidationFailed("pin: use 4 to 8 digits.", field="pin")
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is None:
        raise NotFound(f"No user #{user_id}.", field="user_id")
    row, _ = CashierPin.objects.update_or_create(
        user=user,
        defaults={"pin_hash": make_password(pin), "failed_attempts": 0, "locked_until": None},
    )
    audit_record(actor=actor, action="pos.pin_set", object_type="user", object_id=user_id)
    return row


def _check_pin(*, user_id: int, pin: str, field: str) -> object:
    """The user whose PIN this is; counts failures and locks after too many.
    Runs in the caller's transaction (the failure count must be kept even when
    the caller then refuses, so it is saved before raising)."""
    row = (
        CashierPin.objects.select_for_update()
        .select_related("user")
        .filter(user_id=user_id, user__is_active=True)
        .first()
    )
    if row is None:
        raise NotFound(
            f"No till PIN for staff #{user_id}; ask an administrator to set one.", field=field
        )
    now = timezone.now()
    if row.locked_until is not None and row.locked_until > now:
        raise PermissionDenied(
            f"Too many wrong PINs: try again after {timezone.localtime(row.locked_until):%H:%M}.",
            field="pin",
            code="locked",
        )
    if not check_password(pin, row.pin_hash):
        row.failed_attempts += 1
        if row.failed_attempts >= MAX_PIN_FAILURES:
            row.failed_attempts = 0
            row.locked_until = now + dt.timedelta(minutes=LOCK_MINUTES)
        row.save(update_fields=["failed_attempts", "locked_until", "updated_at"])
        return None
    if row.failed_attempts or row.locked_until:
        row.failed_attempts, row.locked_until = 0, None
        row.save(update_fields=["failed_attempts", "locked_until", "updated_at"])
    return row.user


def cashier_sign_in(*, terminal: Terminal, user_id: int, pin: str, actor: Actor) -> SignedIn:
    """PIN → a cashier session bound to this terminal. A wrong PIN is counted
    (five in a row lock the PIN for five minutes) and refused with 403."""
    if actor.terminal_id != terminal.pk:
        raise PermissionDenied(
            "Sign cashiers in from the till itself (its terminal key).", field="terminal"
        )
    with transaction.atomic():
        user = _check_pin(user_id=user_id, pin=pin, field="cashier_id")
        if user is None:
            failed = None
        else:
            failed = cashier_of(user=user, terminal=terminal)
            if failed is None:
                raise PermissionDenied(
                    f"{_display_name(user)} may not sell in store {terminal.store.code}; ask "
                    "a manager for the cashier role here.",
                    field="cashier_id",
                )
            token = secrets.token_urlsafe(24)
            expires = timezone.now() + dt.timedelta(minutes=_session_minutes())
            CashierSession.objects.create(
                token_digest=_digest(token), terminal=terminal, user_id=user_id, expires_at=expires
            )
            audit_record(
                actor=failed.actor,
                action="pos.sign_in",
                object_type="terminal",
                object_id=terminal.pk,
                store_id=terminal.store_id,
            )
            return SignedIn(token, failed, expires)
    raise PermissionDenied("pin: wrong PIN; try again.", field="pin", code="wrong_pin")


def cashier_session(*, terminal: Terminal, token: str | None) -> Cashier:
    """The cashier signed in at this terminal with this token (401-like 403 otherwise)."""
    if not token:
        raise PermissionDenied(
            "Sign in with your PIN first (X-Cashier-Token).",
            field="cashier",
            code="cashier_required",
        )
    session = (
        CashierSession.objects.select_related("user")
        .filter(
            token_digest=_digest(token),
            terminal=terminal,
            ended_at__isnull=True,
            expires_at__gt=timezone.now(),
            user__is_active=True,
        )
        .first()
    )
    if session is None:
        raise PermissionDenied(
            "Your till session has ended; sign in again with your PIN.",
            field="cashier",
            code="cashier_required",
        )
    cashier = cashier_of(user=session.user, terminal=terminal)
    if cashier is None:
        raise PermissionDenied("You may no longer sell in this store.", field="cashier")
    return cashier


@transaction.atomic
def cashier_sign_out(*, terminal: Terminal, token: str) -> int:
    return CashierSession.objects.filter(
        token_digest=_digest(token), terminal=terminal, ended_at__isnull=True
    ).update(ended_at=timezone.now())


@dataclass(frozen=True)
class Override:
    audit_id: int
    manager_id: int
    manager_name: str
    max_percent: Decimal


def manager_override(
    *,
    terminal: Terminal,
    cashier: Cashier,
    manager_id: int,
    pin: str,
    percent: Decimal,
    reason: str,
    sale_ref: str = "",
) -> Override:
    """A manager lets the cashier give a discount above their limit, by PIN.
    Audit-logged with both people, the percentage and the reason."""
    if not reason.strip():
        raise ValidationFailed("reason: say why the discount is given.", field="reason")
    if percent <= 0 or percent > 100:
        raise ValidationFailed("percent: give a discount from 0.01 to 100.", field="percent")
    with transaction.atomic():
        user = _check_pin(user_id=manager_id, pin=pin, field="manager_id")
        if user is not None:
            manager = cashier_of(user=user, terminal=terminal)
            if manager is None or manager.role == CASHIER or manager.user_id == cashier.user_id:
                raise PermissionDenied(
                    "Only another staff member with a manager's role in this store can approve.",
                    field="manager_id",
                )
            if percent > manager.max_discount_percent:
                raise PermissionDenied(
                    f"percent: {manager.name} may approve up to {manager.max_discount_percent} %.",
                    field="percent",
                )
            log = audit_record(
                actor=manager.actor,
                action="pos.discount_override",
                object_type="terminal",
                object_id=terminal.pk,
                store_id=terminal.store_id,
                reason=reason.strip(),
                data={
                    "cashier_id": cashier.user_id,
                    "percent": str(percent),
                    "sale_ref": sale_ref,
                    "cashier_limit": str(cashier.max_discount_percent),
                },
            )
            return Override(log.pk, manager.user_id, manager.name, manager.max_discount_percent)
    raise PermissionDenied("pin: wrong manager PIN; try again.", field="pin", code="wrong_pin")


def receipt_email(*, receipt: Receipt, to: str, actor: Actor) -> None:
    """Send the receipt by e-mail (text and HTML) with Django's mail."""
    require(actor, "orders.read", store_id=receipt.store_id)
    try:
        validate_email(to)
    except DjangoValidationError:
        raise ValidationFailed(f"email: {to!r} is not an e-mail address.", field="email") from None
    if actor.terminal_id is not None and actor.terminal_id != receipt.terminal_id:
        raise Conflict("E-mail receipts of this till only.", field="order_id")
    context = {"r": receipt, "store": receipt.store}
    message = EmailMultiAlternatives(
        subject=f"Your receipt {receipt.full_number} — {receipt.store.name}",
        body=render_to_string("pos/receipt_email.txt", context),
        to=[to],
    )
    message.attach_alternative(render_to_string("pos/receipt_email.html", context), "text/html")
    message.send()
    audit_record(
        actor=actor,
        action="pos.receipt_email",
        object_type="receipt",
        object_id=receipt.pk,
        store_id=receipt.store_id,
    )


def refund_override(
    *,
    terminal: Terminal,
    cashier: Cashier,
    manager_id: int,
    pin: str,
    amount: Decimal,
    reason: str,
    sale_ref: str = "",
) -> Override:
    """A manager approves, by PIN, a refund above the cashier's limit
    (OMNI_CASHIER_REFUND_LIMIT); the till then sends the manager as
    `approved_by_user_id` with the return. Audit-logged with both people."""
    if not reason.strip():
        raise ValidationFailed("reason: say why the refund is given.", field="reason")
    if amount <= 0:
        raise ValidationFailed("amount: give the refund to approve, above 0.", field="amount")
    with transaction.atomic():
        user = _check_pin(user_id=manager_id, pin=pin, field="manager_id")
        if user is not None:
            manager = cashier_of(user=user, terminal=terminal)
            if (
                manager is None
                or manager.user_id == cashier.user_id
                or not manager.actor.can("payments.refund_approve", terminal.store_id)
            ):
                raise PermissionDenied(
                    "Only another staff member with a manager's role in this store can approve "
                    "a refund.",
                    field="manager_id",
                )
            log = audit_record(
                actor=manager.actor,
                action="pos.refund_override",
                object_type="terminal",
                object_id=terminal.pk,
                store_id=terminal.store_id,
                reason=reason.strip(),
                data={"cashier_id": cashier.user_id, "amount": str(amount), "sale_ref": sale_ref},
            )
            return Override(log.pk, manager.user_id, manager.name, manager.max_discount_percent)
    raise PermissionDenied("pin: wrong manager PIN; try again.", field="pin", code="wrong_pin")


REFUND_OVERRIDE_MINUTES = 30


def refund_override_proven(*, terminal_id: int, manager_id: int, order_id: int) -> None:
    """A till may name a refund's approver only after that manager typed
    their PIN at it for this order (refund_override, within half an hour):
    a terminal key cannot vouch for a manager on its own."""
    since = timezone.now() - dt.timedelta(minutes=REFUND_OVERRIDE_MINUTES)
    proven = AuditLog.objects.filter(
        action="pos.refund_override",
        object_type="terminal",
        object_id=str(terminal_id),
        actor_user_id=manager_id,
        data__sale_ref=str(order_id),
        at__gte=since,
    ).exists()
    if not proven:
        raise PermissionDenied(
            "approved_by_user_id: the manager must approve this refund with their PIN at the "
            "till first (POST /api/v1/pos/overrides, kind 'refund', sale_ref the order id).",
            field="approved_by_user_id",
        )
