"""Store credit: one account per customer and currency, an entry ledger,
and the same conditional UPDATE as gift cards (`balance >= amount` to spend).
Lock order: the account row, then its entries."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import F

from omniretail.core.access import Actor, require
from omniretail.core.audit import audit_record
from omniretail.core.errors import Conflict, ValidationFailed
from omniretail.core.events import event_publish
from omniretail.customers.models import Customer
from omniretail.loyalty.domain import Reference
from omniretail.loyalty.events import StoreCreditIssued, StoreCreditRedeemed, StoreCreditReversed
from omniretail.loyalty.models import StoreCreditAccount, StoreCreditEntry
from omniretail.loyalty.services.common import currency_code, money_amount, reference_check

Kind = StoreCreditEntry.Kind
Source = StoreCreditEntry.Source


@dataclass(frozen=True)
class StoreCreditMove:
    entry_id: int
    amount: Decimal
    currency: str
    balance: Decimal
    replayed: bool = False


def _balance(account_id: int) -> Decimal:
    return StoreCreditAccount.objects.values_list("balance", flat=True).get(pk=account_id)


@transaction.atomic
def store_credit_issue(
    *,
    customer: Customer,
    amount: Decimal,
    currency: str,
    source: str,
    reference: Reference,
    actor: Actor,
    reason: str = "",
) -> StoreCreditMove:
    """Credit a customer: `source` "refund" (a refund paid as store credit;
    the refund books the liability) or "goodwill" (a manager's gesture,
    booked as an expense and audit-logged). Once per reference."""
    if source not in Source.values:
        raise ValidationFailed(
            f"source must be one of {', '.join(Source.values)} (got {source!r}).", field="source"
        )
    require(actor, "loyalty.issue" if source == Source.REFUND else "loyalty.adjust")
    currency = currency_code(currency)
    value = money_amount(amount, currency)
    reference_check(reference)
    reason = (reason or "").strip()
    if source == Source.GOODWILL and not reason:
        raise ValidationFailed("Say why goodwill store credit is given.", field="reason")
    account, _ = StoreCreditAccount.objects.get_or_create(customer=customer, currency=currency)
    try:
        with transaction.atomic():
            entry = StoreCreditEntry.objects.create(
                account=account,
                kind=Kind.ISSUE,
                source=source,
                amount=value,
                reference_type=reference.type,
                reference_id=reference.id,
                reason=reason[:200],
                actor_label=actor.label,
            )
    except IntegrityError:
        first = StoreCreditEntry.objects.get(
            account=account,
            kind=Kind.ISSUE,
            reference_type=reference.type,
            reference_id=reference.id,
        )
        if first.amount != value or first.source != source:
            raise Conflict(
                f"Store credit of {first.amount} {currency} was already issued for {reference}; "
                "use a new reference for another credit.",
                field="reference",
            )
        return StoreCreditMove(first.pk, value, currency, _balance(account.pk), replayed=True)
    StoreCreditAccount.objects.filter(pk=account.pk).update(balance=F("balance") + value)
    if source == Source.GOODWILL:
        audit_record(
            actor=actor,
            action="loyalty.store_credit_goodwill",
            object_type="customer",
            object_id=customer.pk,
            reason=reason,
            data={"amount": str(value), "currency": currency},
        )
    event_publish(
        StoreCreditIssued(
            entry_id=entry.pk,
            customer_id=customer.pk,
            amount=str(value),
            currency=currency,
            source=source,
            reason=reason[:200],
            reference_type=reference.type,
            reference_id=reference.id,
        )
    )
    return StoreCreditMove(entry.pk, value, currency, _balance(account.pk))


@transaction.atomic
def store_credit_redeem(
    *,
    customer: Customer,
    amount: Decimal,
    currency: str,
    reference: Reference,
    actor: Actor,
) -> StoreCreditMove:
    """Spend store credit as a tender; once per reference (a retry debits
    nothing and returns the first redemption)."""
    require(actor, "loyalty.redeem")
    currency = currency_code(currency)
    value = money_amount(amount, currency)
    reference_check(reference)
    account = StoreCreditAccount.objects.filter(customer=customer, currency=currency).first()
    if account is None:
        raise ValidationFailed(
            f"{customer} has no store credit in {currency}; take another tender.",
            field="amount",
            available="0",
        )
    try:
        with transaction.atomic():
            entry = StoreCreditEntry.objects.create(
                account=account,
                kind=Kind.REDEEM,
                amount=-value,
                reference_type=reference.type,
                reference_id=reference.id,
                actor_label=actor.label,
            )
    except IntegrityError:
        first = StoreCreditEntry.objects.get(
            account=account,
            kind=Kind.REDEEM,
            reference_type=reference.type,
            reference_id=reference.id,
        )
        if first.amount != -value:
            raise Conflict(
                f"Store credit already paid {-first.amount} {currency} for {reference}; use a "
                "new reference for another payment.",
                field="reference",
            )
        return StoreCreditMove(first.pk, value, currency, _balance(account.pk), replayed=True)
    updated = StoreCreditAccount.objects.filter(pk=account.pk, balance__gte=value).update(
        balance=F("balance") - value
    )
    if not updated:
        left = _balance(account.pk)
        raise ValidationFailed(
            f"{customer} has {left} {currency} of store credit; redeem at most that and pay "
            "the rest with another tender.",
            field="amount",
            available=str(left),
        )
    event_publish(
        StoreCreditRedeemed(
            entry_id=entry.pk,
            customer_id=customer.pk,
            amount=str(value),
            currency=currency,
            reference_type=reference.type,
            reference_id=reference.id,
        )
    )
    return StoreCreditMove(entry.pk, value, currency, _balance(account.pk))


@transaction.atomic
def store_credit_reverse(
    *,
    reference: Reference,
    refund_reference: Reference,
    amount: Decimal,
    actor: Actor,
) -> StoreCreditMove:
    """Put store credit spent on the sale `reference` back on a refund (to
    the original tender). At most what it paid, over all refunds; once per
    refund_reference."""
    require(actor, "loyalty.issue")
    reference_check(reference)
    reference_check(refund_reference, field="refund_reference")
    found = list(
        StoreCreditEntry.objects.filter(
            kind=Kind.REDEEM, reference_type=reference.type, reference_id=reference.id
        ).values_list("pk", "account_id")
    )
    if not found:
        raise ValidationFailed(
            f"No store credit paid for {reference}; refund to the tender that was used.",
            field="reference",
        )
    if len(found) > 1:
        raise ValidationFailed(
            f"Store credit of several customers paid for {reference}; reverse each separately.",
            field="reference",
        )
    ((redeem_pk, account_id),) = found
    account = StoreCreditAccount.objects.select_for_update().get(pk=account_id)
    redemption = StoreCreditEntry.objects.select_for_update().get(pk=redeem_pk)
    earlier = StoreCreditEntry.objects.filter(
        kind=Kind.REVERSE,
        reverses=redemption,
        reference_type=refund_reference.type,
        reference_id=refund_reference.id,
    ).first()
    if earlier is not None:
        return StoreCreditMove(
            earlier.pk, earlier.amount, account.currency, account.balance, replayed=True
        )
    value = money_amount(amount, account.currency)
    left = -redemption.amount - redemption.refunded
    if value > left:
        raise ValidationFailed(
            f"At most {left} {account.currency} of store credit can go back for {reference} "
            f"(it paid {-redemption.amount}, {redemption.refunded} already put back).",
            field="amount",
            available=str(left),
        )
    entry = StoreCreditEntry.objects.create(
        account=account,
        kind=Kind.REVERSE,
        amount=value,
        reference_type=refund_reference.type,
        reference_id=refund_reference.id,
        reverses=redemption,
        actor_label=actor.label,
    )
    StoreCreditEntry.objects.filter(pk=redemption.pk).update(refunded=F("refunded") + value)
    StoreCreditAccount.objects.filter(pk=account.pk).update(balance=F("balance") + value)
    event_publish(
        StoreCreditReversed(
            entry_id=entry.pk,
            customer_id=account.customer_id,
            amount=str(value),
            currency=account.currency,
            reference_type=refund_reference.type,
            reference_id=refund_reference.id,
        )
    )
    return StoreCreditMove(entry.pk, value, account.currency, account.balance + value)
