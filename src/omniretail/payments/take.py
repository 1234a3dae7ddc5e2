"""Taking the tenders of a sale or an order, whatever the channel: cash (with
change and coin rounding, into the open drawer), card (a gateway token, or a
card taken on the terminal while offline, captured later), gift card, store
credit, loyalty points, check, and on account (within the customer's credit
limit). Split payments are a list of tenders.

`payments_take` runs inside the caller's transaction: a tender that fails
(a declined card, a gift card with too little on it) rolls the whole sale
back, and the balances it touched with it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import F

from omniretail.core.access import Actor
from omniretail.core.errors import DomainError, ValidationFailed
from omniretail.core.events import event_publish
from omniretail.core.models import Terminal
from omniretail.core.money import Money
from omniretail.customers.models import Customer
from omniretail.loyalty.domain import Reference
from omniretail.loyalty.services import giftcard_redeem, points_redeem, store_credit_redeem
from omniretail.orders.models import Order
from omniretail.payments.domain import (
    CARD,
    CASH,
    CHECK,
    GIFT_CARD,
    LOYALTY,
    ON_ACCOUNT,
    STORE_CREDIT,
    Settlement,
    TenderInput,
)
from omniretail.payments.drawers import drawer_session_for_cash
from omniretail.payments.events import PaymentReceived
from omniretail.payments.models import CreditAccount, Payment
from omniretail.payments.services import card_authorise, payments_settle

OFFLINE_GATEWAY = "offline"


@dataclass(frozen=True)
class TenderRequest:
    """One tender as a till or a checkout sends it. `token` for a card (the
    gateway's token, never a card number), `code` for a gift card, `reference`
    for a check number; `offline_capture` marks a card taken on the terminal
    while the server was unreachable (authorised there, captured later)."""

    type: str
    amount: Decimal
    token: str | None = None
    code: str | None = None
    reference: str = ""
    offline_capture: bool = False
    brand: str = ""
    last4: str = ""


@dataclass(frozen=True)
class Taken:
    payments: list[Payment]
    change: Money
    shortfalls: list[str] = field(default_factory=list)  # offline tenders not covered


def _covered(
    redeem: Callable[[Decimal], str],
    amount: Decimal,
    offline: bool,
    row: Payment,
    shortfalls: list[tuple[str, Decimal]],
    field: str,
) -> Decimal:
    """Redeem `amount`; for a sale made offline (it already happened), what
    the card, points or credit no longer cover is taken as far as they go
    and the rest recorded as a shortfall, never refused. Returns the amount
    this tender really paid."""
    try:
        row.gateway_reference = redeem(amount)
        return amount
    except ValidationFailed as exc:
        if not offline:
            raise
        left = Decimal(str(exc.extra.get("available") or exc.extra.get("available_amount") or 0))
        covered = min(max(left, Decimal(0)), amount)
        if covered > 0:
            row.gateway_reference = redeem(covered)
        shortfalls.append((f"{row.tender} ({field}: {exc.message})", amount - covered))
        row.amount = covered
        return covered


def tenders_check(
    *,
    due: Money,
    tenders: list[TenderRequest],
    cash_rounding_step: Decimal,
    customer_id: int | None,
) -> list[Settlement]:
    """Check the tenders cover what is due and carry what each needs, before
    anything is written; returns how each is applied."""
    errors: list[dict[str, str]] = []
    for i, t in enumerate(tenders):
        if t.type == CARD and not t.offline_capture and not (t.token or "").strip():
            errors.append(
                {"field": f"tenders[{i}].token", "message": "a card tender needs the gateway token"}
            )
        if t.type == GIFT_CARD and not (t.code or "").strip():
            errors.append(
                {"field": f"tenders[{i}].code", "message": "a gift card tender needs the code"}
            )
        if t.type in (STORE_CREDIT, LOYALTY, ON_ACCOUNT) and customer_id is None:
            errors.append(
                {
                    "field": f"tenders[{i}].type",
                    "message": f"{t.type.replace('_', ' ')} needs the customer; look them up first",
                }
            )
        if t.brand and not t.brand.replace(" ", "").replace("-", "").isalpha():
            errors.append(  # never a place for card digits
                {"field": f"tenders[{i}].brand", "message": "give the brand name only, e.g. VISA"}
            )
        if t.type == CARD and t.last4 and (len(t.last4) != 4 or not t.last4.isdigit()):
            errors.append(
                {"field": f"tenders[{i}].last4", "message": "give the last four digits only"}
            )
    if errors:
        first = errors[0]
        raise ValidationFailed(
            f"{first['field']}: {first['message']}"
            + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""),
            field=first["field"],
            errors=errors,
        )
    return payments_settle(
        due=due,
        tenders=[TenderInput(t.type, Money(t.amount, due.currency)) for t in tenders],
        cash_rounding_step=cash_rounding_step,
    )


def _on_account(customer_id: int, amount: Decimal, currency: str, field: str) -> None:
    account = CreditAccount.objects.filter(customer_id=customer_id, active=True).first()
    if account is None:
        raise ValidationFailed(
            "This customer has no account to buy on; take another tender or open an account "
            "(with a credit limit) first.",
            field=field,
        )
    if account.currency != currency:
        raise ValidationFailed(
            f"The customer's account is in {account.currency}, the sale in {currency}.",
            field=field,
        )
    moved = CreditAccount.objects.filter(
        pk=account.pk, active=True, balance__lte=F("credit_limit") - amount
    ).update(balance=F("balance") + amount)
    if not moved:
        account.refresh_from_db()
        room = max(account.credit_limit - account.balance, Decimal(0))
        raise ValidationFailed(
            f"Over the credit limit: {room} {currency} left on the customer's account "
            f"(limit {account.credit_limit}); take the rest with another tender.",
            field=field,
            available=str(room),
        )


def payments_take(
    *,
    order: Order,
    tenders: list[TenderRequest],
    settlements: list[Settlement],
    actor: Actor,
    idempotency_key: str,
    terminal: Terminal | None = None,
    customer_id: int | None = None,
    capture: bool = True,
    offline: bool = False,
) -> Taken:
    """Take each settled tender for the order (inside its transaction) and
    store one Payment per tender. `settlements` come from `tenders_check`
    for the same tenders. Cash needs the terminal's open drawer. Cards go
    through the gateway (captured at once at a till; authorised only when
    `capture` is False, e.g. a web order captured at shipping). Gift cards,
    store credit and points are debited from their ledgers once per order."""
    if len(settlements) != len(tenders):
        raise ValueError("settlements must come from tenders_check for the same tenders")
    needs_customer = any(s.tender in (STORE_CREDIT, LOYALTY) for s in settlements)
    customer = (
        Customer.objects.filter(pk=customer_id).first() if customer_id and needs_customer else None
    )
    reference = Reference("order", str(order.pk))
    if terminal is not None and any(s.tender == CASH for s in settlements):
        drawer_session_for_cash(terminal_id=terminal.pk)
    made: list[Payment] = []
    plain: list[Payment] = []
    shortfalls: list[tuple[str, Decimal]] = []
    for i, (t, s) in enumerate(zip(tenders, settlements, strict=True)):
        where = f"tenders[{i}]"
        amount = s.applied.amount
        row = Payment(
            order=order,
            terminal=terminal,
            tender=s.tender,
            currency=s.applied.currency,
            amount=amount,
            tendered=s.tendered.amount,
            change=s.change.amount,
            rounding=s.rounding.amount,
        )
        try:
            if s.tender == CARD and not t.offline_capture:
                made.append(
                    card_authorise(
                        order_id=order.pk,
                        amount=amount,
                        token=t.token or "",
                        actor=actor,
                        idempotency_key=f"{idempotency_key}:{i}",
                        capture=capture,
                        terminal_id=terminal.pk if terminal else None,
                    )
                )
                continue
            if s.tender == CARD:  # taken on the terminal while offline: capture later
                row.status = Payment.Status.AUTHORISED
                row.gateway = OFFLINE_GATEWAY
                row.card_brand = t.brand[:20]
                row.card_last4 = t.last4
            elif s.tender == GIFT_CARD:
                code = t.code or ""

                def gift(value: Decimal, code: str = code, row: Payment = row) -> str:
                    redeemed = giftcard_redeem(
                        code=code,
                        amount=value,
                        reference=reference,
                        actor=actor,
                        currency=order.currency,
                    )
                    row.card_last4 = redeemed.last4[-4:]
                    return f"giftcard:{redeemed.card_id}"

                amount = _covered(gift, amount, offline, row, shortfalls, where)
            elif s.tender == STORE_CREDIT:
                assert customer is not None
                who = customer

                def credit(value: Decimal, who: Customer = who) -> str:
                    store_credit_redeem(
                        customer=who,
                        amount=value,
                        currency=order.currency,
                        reference=reference,
                        actor=actor,
                    )
                    return ""

                amount = _covered(credit, amount, offline, row, shortfalls, where)
            elif s.tender == LOYALTY:
                assert customer is not None
                who = customer

                def points(value: Decimal, who: Customer = who) -> str:
                    spent = points_redeem(
                        customer=who,
                        currency=order.currency,
                        reference=reference,
                        actor=actor,
                        amount=value,
                    )
                    return f"points:{spent.points}"

                amount = _covered(points, amount, offline, row, shortfalls, where)
            elif s.tender == ON_ACCOUNT:
                assert customer_id is not None
                _on_account(customer_id, amount, order.currency, f"{where}.amount")
            elif s.tender == CHECK:
                row.gateway_reference = t.reference[:100]
        except DomainError as exc:
            if exc.field and not exc.field.startswith("tenders"):
                exc.field = f"{where}.{exc.field}"
            raise
        if amount > 0:
            plain.append(row)
    for tender, short in shortfalls:
        plain.append(
            Payment(
                order=order,
                terminal=terminal,
                tender=Payment.Tender.OFFLINE_SHORTFALL,
                currency=order.currency,
                amount=short,
                tendered=short,
                gateway_reference=tender[:100],
            )
        )
    stored = Payment.objects.bulk_create(plain)
    for row in stored if terminal is None else ():  # a till sale books its tenders itself
        event_publish(
            PaymentReceived(
                payment_id=row.pk,
                order_id=order.pk,
                tender=row.tender,
                amount=format(row.amount, "f"),
                currency=row.currency,
            )
        )
    made.extend(stored)
    change = sum((s.change for s in settlements), Money.zero(order.currency))
    return Taken(
        sorted(made, key=lambda p: p.pk),
        change,
        [
            f"{tender} short by {short} {order.currency} when the offline sale reached the "
            "server (written off)"
            for tender, short in shortfalls
        ],
    )
