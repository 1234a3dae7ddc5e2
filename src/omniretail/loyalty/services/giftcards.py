"""Gift cards: issue (sold or promotional), redeem in part, refund onto the
card, void, expire.

The code is a bearer secret: it is shown once, at issue, and only its
SHA-256 and last four characters are stored; a look-up hashes the input.
Spending is one conditional UPDATE (`balance >= amount`), so two tills
redeeming the same card at once can never take more than it holds. Lock
order: the card row, then its entries.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from omniretail.core.access import SYSTEM, Actor, require
from omniretail.core.audit import audit_record
from omniretail.core.errors import Conflict, ValidationFailed
from omniretail.core.events import event_publish
from omniretail.loyalty.domain import (
    Reference,
    giftcard_code_hash,
    giftcard_code_new,
    giftcard_code_normalise,
)
from omniretail.loyalty.events import (
    GiftCardIssued,
    GiftCardRedeemed,
    GiftCardRefunded,
    GiftCardsExpired,
    GiftCardVoided,
)
from omniretail.loyalty.models import GiftCard, GiftCardEntry
from omniretail.loyalty.services.common import currency_code, money_amount, reference_check

Kind = GiftCardEntry.Kind
ACTIVE = GiftCard.Status.ACTIVE


@dataclass(frozen=True)
class GiftCardRedemption:
    card_id: int
    entry_id: int
    last4: str
    amount: Decimal
    currency: str
    balance: Decimal
    replayed: bool = False


@dataclass(frozen=True)
class GiftCardRefund:
    card_id: int
    entry_id: int
    amount: Decimal
    currency: str
    balance: Decimal
    replayed: bool = False


def giftcard_by_code(code: str) -> GiftCard:
    """The card a typed or scanned code belongs to; errors name the field `code`."""
    try:
        normalised = giftcard_code_normalise(code or "")
    except ValueError as exc:
        raise ValidationFailed(f"code: {exc}.", field="code")
    card = GiftCard.objects.filter(code_hash=giftcard_code_hash(normalised)).first()
    if card is None:
        raise ValidationFailed(
            "No gift card has this code; check it was typed as printed on the card.",
            field="code",
        )
    return card


def _usable(card: GiftCard, now: dt.datetime) -> None:
    if card.status != ACTIVE:
        raise ValidationFailed(
            f"The gift card …{card.last4} is {card.get_status_display().lower()} and cannot "
            "be used; take another tender.",
            field="code",
        )
    if card.expires_at is not None and card.expires_at <= now:
        raise ValidationFailed(
            f"The gift card …{card.last4} expired on {card.expires_at:%Y-%m-%d}; take another "
            "tender.",
            field="code",
        )


@transaction.atomic
def giftcard_issue(
    *,
    amount: Decimal,
    currency: str,
    reference: Reference,
    actor: Actor,
    sold: bool,
    expires_at: dt.datetime | None = None,
    store_id: int | None = None,
    reason: str = "",
) -> tuple[GiftCard, str]:
    """Issue a card loaded with `amount` and return it with its code, which
    is shown this once. `sold`: a customer paid for it (a sale line; the sale
    books the liability); otherwise it is promotional (booked as a loyalty
    expense, audit-logged). One card per reference: a retry is refused."""
    store_id = store_id if store_id is not None else actor.store_id
    require(actor, "loyalty.issue" if sold else "loyalty.adjust", store_id=store_id)
    currency = currency_code(currency)
    value = money_amount(amount, currency)
    reference_check(reference)
    if not sold and not reason.strip():
        raise ValidationFailed("Say why a promotional gift card is given.", field="reason")
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationFailed("expires_at must be in the future.", field="expires_at")
    if GiftCardEntry.objects.filter(
        kind=Kind.ISSUE, reference_type=reference.type, reference_id=reference.id
    ).exists():
        raise Conflict(
            f"A gift card was already issued for {reference}; use a new reference for "
            "another card.",
            field="reference",
        )
    for _attempt in range(5):
        code = giftcard_code_new()
        normalised = giftcard_code_normalise(code)
        try:
            with transaction.atomic():
                card = GiftCard.objects.create(
                    code_hash=giftcard_code_hash(normalised),
                    last4=normalised[-4:],
                    currency=currency,
                    initial_value=value,
                    balance=value,
                    sold=sold,
                    expires_at=expires_at,
                    store_id=store_id,
                )
                break
        except IntegrityError:
            continue  # the same code twice: about 1 in 10**23; draw again
    else:
        raise RuntimeError("could not draw an unused gift card code")
    try:
        with transaction.atomic():
            GiftCardEntry.objects.create(
                card=card,
                kind=Kind.ISSUE,
                amount=value,
                reference_type=reference.type,
                reference_id=reference.id,
                reason=reason.strip()[:200],
                actor_label=actor.label,
            )
    except IntegrityError:
        raise Conflict(
            f"A gift card was already issued for {reference}; use a new reference.",
            field="reference",
        )
    if not sold:
        audit_record(
            actor=actor,
            action="loyalty.giftcard_issue_promotional",
            object_type="gift_card",
            object_id=card.pk,
            store_id=store_id,
            reason=reason.strip(),
            data={"amount": str(value), "currency": currency, "last4": card.last4},
        )
    event_publish(
        GiftCardIssued(
            card_id=card.pk,
            amount=str(value),
            currency=currency,
            sold=sold,
            store_id=store_id,
            reference_type=reference.type,
            reference_id=reference.id,
        )
    )
    return card, code


@transaction.atomic
def giftcard_redeem(
    *,
    code: str,
    amount: Decimal,
    reference: Reference,
    actor: Actor,
    currency: str | None = None,
) -> GiftCardRedemption:
    """Pay `amount` from a card (partial redemption leaves the rest on it).
    Once per (card, reference): a retried request returns the first
    redemption and debits nothing."""
    require(actor, "loyalty.redeem")
    reference_check(reference)
    card = giftcard_by_code(code)
    if currency is not None and currency_code(currency) != card.currency:
        raise ValidationFailed(
            f"The gift card …{card.last4} is in {card.currency}, not {currency_code(currency)}.",
            field="currency",
        )
    value = money_amount(amount, card.currency)
    now = timezone.now()
    try:
        with transaction.atomic():
            entry = GiftCardEntry.objects.create(
                card=card,
                kind=Kind.REDEEM,
                amount=-value,
                reference_type=reference.type,
                reference_id=reference.id,
                actor_label=actor.label,
            )
    except IntegrityError:
        first = GiftCardEntry.objects.select_related("card").get(
            card=card, kind=Kind.REDEEM, reference_type=reference.type, reference_id=reference.id
        )
        if first.amount != -value:
            raise Conflict(
                f"The gift card …{card.last4} already paid {-first.amount} for {reference}; "
                "use a new reference for another payment.",
                field="reference",
            )
        return GiftCardRedemption(
            card.pk, first.pk, card.last4, value, card.currency, first.card.balance, True
        )
    _usable(card, now)
    updated = (
        GiftCard.objects.filter(pk=card.pk, status=ACTIVE, balance__gte=value)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .update(balance=F("balance") - value)
    )
    if not updated:
        card.refresh_from_db()
        _usable(card, now)
        raise ValidationFailed(
            f"The gift card …{card.last4} has {card.balance} {card.currency} left; redeem at "
            "most that and pay the rest with another tender.",
            field="amount",
            available=str(card.balance),
        )
    event_publish(
        GiftCardRedeemed(
            card_id=card.pk,
            entry_id=entry.pk,
            amount=str(value),
            currency=card.currency,
            reference_type=reference.type,
            reference_id=reference.id,
        )
    )
    balance = GiftCard.objects.values_list("balance", flat=True).get(pk=card.pk)
    return GiftCardRedemption(card.pk, entry.pk, card.last4, value, card.currency, balance)


@transaction.atomic
def giftcard_refund(
    *,
    reference: Reference,
    refund_reference: Reference,
    amount: Decimal,
    actor: Actor,
    card_id: int | None = None,
) -> GiftCardRefund:
    """Put money back on the card that paid for the sale `reference` (a
    refund to the original tender). At most what the card paid, over all
    refunds; once per refund_reference."""
    require(actor, "loyalty.issue")
    reference_check(reference)
    reference_check(refund_reference, field="refund_reference")
    redemptions = GiftCardEntry.objects.filter(
        kind=Kind.REDEEM, reference_type=reference.type, reference_id=reference.id
    )
    if card_id is not None:
        redemptions = redemptions.filter(card_id=card_id)
    found = list(redemptions.values_list("pk", "card_id"))
    if not found:
        raise ValidationFailed(
            f"No gift card paid for {reference}; refund to the tender that was used.",
            field="card_id" if card_id is not None else "reference",
        )
    if len(found) > 1:
        raise ValidationFailed(
            f"Several gift cards paid for {reference}; say which with card_id.", field="card_id"
        )
    ((redeem_pk, found_card_id),) = found
    card = GiftCard.objects.select_for_update().get(pk=found_card_id)
    redemption = GiftCardEntry.objects.select_for_update().get(pk=redeem_pk)
    earlier = GiftCardEntry.objects.filter(
        kind=Kind.REFUND,
        reverses=redemption,
        reference_type=refund_reference.type,
        reference_id=refund_reference.id,
    ).first()
    if earlier is not None:
        return GiftCardRefund(
            card.pk, earlier.pk, earlier.amount, card.currency, card.balance, replayed=True
        )
    value = money_amount(amount, card.currency)
    left = -redemption.amount - redemption.refunded
    if value > left:
        raise ValidationFailed(
            f"At most {left} {card.currency} can go back on the gift card …{card.last4} for "
            f"{reference} (it paid {-redemption.amount}, {redemption.refunded} already refunded).",
            field="amount",
            available=str(left),
        )
    if card.status != ACTIVE or (card.expires_at is not None and card.expires_at <= timezone.now()):
        raise Conflict(
            f"The gift card …{card.last4} can no longer be used; refund to store credit instead.",
            field="card_id",
        )
    entry = GiftCardEntry.objects.create(
        card=card,
        kind=Kind.REFUND,
        amount=value,
        reference_type=refund_reference.type,
        reference_id=refund_reference.id,
        reverses=redemption,
        actor_label=actor.label,
    )
    GiftCardEntry.objects.filter(pk=redemption.pk).update(refunded=F("refunded") + value)
    GiftCard.objects.filter(pk=card.pk).update(balance=F("balance") + value)
    event_publish(
        GiftCardRefunded(
            card_id=card.pk,
            entry_id=entry.pk,
            amount=str(value),
            currency=card.currency,
            reference_type=refund_reference.type,
            reference_id=refund_reference.id,
        )
    )
    return GiftCardRefund(card.pk, entry.pk, value, card.currency, card.balance + value)


@transaction.atomic
def giftcard_void(*, card_id: int, reason: str, actor: Actor) -> GiftCard:
    """Withdraw a card (lost, stolen, issued by mistake): its balance is
    forfeited and the books release the liability. Audit-logged."""
    reason = (reason or "").strip()
    card = GiftCard.objects.select_for_update().filter(pk=card_id).first()
    if card is None:
        raise ValidationFailed(f"No gift card #{card_id}.", field="card_id")
    require(actor, "loyalty.adjust", store_id=card.store_id)
    if not reason:
        raise ValidationFailed("Say why the gift card is voided.", field="reason")
    if card.status != ACTIVE:
        raise Conflict(f"The gift card …{card.last4} is already {card.status}.", field="card_id")
    forfeited = card.balance
    GiftCardEntry.objects.create(
        card=card,
        kind=Kind.VOID,
        amount=-forfeited,
        reference_type="void",
        reference_id=str(card.pk),
        reason=reason[:200],
        actor_label=actor.label,
    )
    GiftCard.objects.filter(pk=card.pk).update(balance=0, status=GiftCard.Status.VOID)
    audit_record(
        actor=actor,
        action="loyalty.giftcard_void",
        object_type="gift_card",
        object_id=card.pk,
        store_id=card.store_id,
        reason=reason,
        data={"forfeited": str(forfeited), "currency": card.currency, "last4": card.last4},
    )
    event_publish(
        GiftCardVoided(
            card_id=card.pk,
            amount=str(forfeited),
            currency=card.currency,
            sold=card.sold,
            store_id=card.store_id,
            reason=reason[:200],
        )
    )
    card.refresh_from_db()
    return card


def giftcards_expire(*, now: dt.datetime | None = None, batch: int = 500) -> int:
    """Expire active cards past their date, in batches of one transaction
    each; the balance left becomes breakage. Idempotent. Returns the cards
    expired."""
    now = now or timezone.now()
    expired = 0
    while True:
        found = _giftcards_expire_batch(now, batch)
        expired += found
        if found < batch:
            return expired


@transaction.atomic
def _giftcards_expire_batch(now: dt.datetime, batch: int) -> int:
    ids = list(
        GiftCard.objects.filter(status=ACTIVE, expires_at__lte=now)
        .order_by("pk")
        .values_list("pk", flat=True)[:batch]
    )
    cards = list(
        GiftCard.objects.select_for_update()
        .filter(pk__in=ids, status=ACTIVE, expires_at__lte=now)
        .order_by("pk")
    )
    totals: dict[str, dict[str, Decimal]] = defaultdict(
        lambda: {"sold": Decimal(0), "promotional": Decimal(0), "cards": Decimal(0)}
    )
    entries = []
    for card in cards:
        entries.append(
            GiftCardEntry(
                card=card,
                kind=Kind.EXPIRE,
                amount=-card.balance,
                reference_type="expiry",
                reference_id=str(card.pk),
                actor_label=SYSTEM.label,
            )
        )
        bucket = totals[card.currency]
        bucket["sold" if card.sold else "promotional"] += card.balance
        bucket["cards"] += 1
    GiftCardEntry.objects.bulk_create(entries)
    GiftCard.objects.filter(pk__in=[c.pk for c in cards]).update(
        balance=0, status=GiftCard.Status.EXPIRED
    )
    for currency, bucket in sorted(totals.items()):
        event_publish(
            GiftCardsExpired(
                currency=currency,
                sold_amount=str(bucket["sold"]),
                promotional_amount=str(bucket["promotional"]),
                cards=int(bucket["cards"]),
            )
        )
    return len(ids)
