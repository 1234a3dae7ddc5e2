"""The books of loyalty: liabilities created or released outside a sale.

In-transaction handlers (see omniretail.wiring) of the loyalty events:

- points earned:        Dr 6100 loyalty expense     / Cr 2320 loyalty liability
- points taken back on a refund, or removed by staff: the opposite
- points added by staff: as earned
- points expired:       Dr 2320 loyalty liability   / Cr 4950 breakage
- promotional gift card: Dr 6100 loyalty expense    / Cr 2300 gift card liability
- gift card voided or expired: Dr 2300 / Cr 4950 (sold card) or 6100 (promotional)
- goodwill store credit: Dr 6100 loyalty expense    / Cr 2310 store credit liability

The tender side is not booked here: points, gift cards and store credit
spent on a sale or put back on its refund, a gift card sold as a sale line,
and store credit issued as a refund move their liability in the sale or
refund booking.
"""

from __future__ import annotations

from decimal import Decimal

from django.utils import timezone

from omniretail.accounting.domain import (
    BREAKAGE_INCOME,
    GIFT_CARD_LIABILITY,
    LOYALTY_EXPENSE,
    LOYALTY_LIABILITY,
    STORE_CREDIT_LIABILITY,
    Posting,
)
from omniretail.accounting.services import journal_post
from omniretail.core.models import OutboxEvent


def _post(
    event: OutboxEvent,
    *,
    description: str,
    reference: tuple[str, str],
    debit: str,
    credits: list[tuple[str, Decimal]],
    store_id: int | None = None,
) -> None:
    total = sum((amount for _, amount in credits), Decimal(0))
    if total == 0:
        return  # nothing of value moved (e.g. a voided card that was empty)
    postings = [Posting(debit, debit=total)] + [
        Posting(account, credit=amount) for account, amount in credits if amount
    ]
    journal_post(
        date=timezone.localdate(),
        description=description,
        reference_type=reference[0],
        reference_id=reference[1],
        currency=event.payload["currency"],
        postings=postings,
        store_id=store_id,
    )


def _signed(debit: str, credit: str, amount: Decimal) -> tuple[str, list[tuple[str, Decimal]]]:
    """Dr debit / Cr credit for a positive amount; the other way round for a negative one."""
    if amount >= 0:
        return debit, [(credit, amount)]
    return credit, [(debit, -amount)]


def on_points_earned(event: OutboxEvent) -> None:
    p = event.payload
    _post(
        event,
        description=f"Loyalty points earned ({p['points']}) on {p['reference_type']} "
        f"{p['reference_id']}",
        reference=(p["reference_type"], p["reference_id"]),
        debit=LOYALTY_EXPENSE,
        credits=[(LOYALTY_LIABILITY, Decimal(p["amount"]))],
    )


def on_points_reversed(event: OutboxEvent) -> None:
    """Only the earned points taken back; points put back are the refund's tender side."""
    p = event.payload
    _post(
        event,
        description=f"Loyalty points taken back ({p['taken_back_points']}) on refund "
        f"{p['refund_reference_id']} of {p['reference_type']} {p['reference_id']}",
        reference=(p["refund_reference_type"], p["refund_reference_id"]),
        debit=LOYALTY_LIABILITY,
        credits=[(LOYALTY_EXPENSE, Decimal(p["taken_back_amount"]))],
    )


def on_points_expired(event: OutboxEvent) -> None:
    p = event.payload
    _post(
        event,
        description=f"Loyalty points expired ({p['points']} in {p['lots']} lots)",
        reference=("loyalty_expiry", str(event.pk)),
        debit=LOYALTY_LIABILITY,
        credits=[(BREAKAGE_INCOME, Decimal(p["amount"]))],
    )


def on_points_adjusted(event: OutboxEvent) -> None:
    p = event.payload
    debit, credits = _signed(LOYALTY_EXPENSE, LOYALTY_LIABILITY, Decimal(p["amount"]))
    _post(
        event,
        description=f"Loyalty points adjusted ({p['points']:+d}): {p['reason']}"[:300],
        reference=("loyalty_entry", str(p["entry_id"])),
        debit=debit,
        credits=credits,
    )


def on_giftcard_issued(event: OutboxEvent) -> None:
    """A sold card is booked by its sale; a promotional one here."""
    p = event.payload
    if p["sold"]:
        return
    _post(
        event,
        description=f"Promotional gift card #{p['card_id']}",
        reference=("gift_card", str(p["card_id"])),
        debit=LOYALTY_EXPENSE,
        credits=[(GIFT_CARD_LIABILITY, Decimal(p["amount"]))],
        store_id=p["store_id"],
    )


def on_giftcard_voided(event: OutboxEvent) -> None:
    p = event.payload
    _post(
        event,
        description=f"Gift card #{p['card_id']} voided: {p['reason']}"[:300],
        reference=("gift_card", str(p["card_id"])),
        debit=GIFT_CARD_LIABILITY,
        credits=[(BREAKAGE_INCOME if p["sold"] else LOYALTY_EXPENSE, Decimal(p["amount"]))],
        store_id=p["store_id"],
    )


def on_giftcards_expired(event: OutboxEvent) -> None:
    p = event.payload
    _post(
        event,
        description=f"Gift cards expired ({p['cards']})",
        reference=("giftcard_expiry", str(event.pk)),
        debit=GIFT_CARD_LIABILITY,
        credits=[
            (BREAKAGE_INCOME, Decimal(p["sold_amount"])),
            (LOYALTY_EXPENSE, Decimal(p["promotional_amount"])),
        ],
    )


def on_store_credit_issued(event: OutboxEvent) -> None:
    """Goodwill here; credit issued as a refund is booked by the refund."""
    p = event.payload
    if p["source"] != "goodwill":
        return
    _post(
        event,
        description=f"Goodwill store credit: {p['reason']}"[:300],
        reference=(p["reference_type"], p["reference_id"]),
        debit=LOYALTY_EXPENSE,
        credits=[(STORE_CREDIT_LIABILITY, Decimal(p["amount"]))],
    )
