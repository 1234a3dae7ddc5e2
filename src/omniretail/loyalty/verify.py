"""Ledgers beside counters: every cached balance equals the sum of its
entries; a points balance also equals the unspent points of its lots."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Sum

from omniretail.loyalty.models import (
    GiftCard,
    GiftCardEntry,
    LoyaltyAccount,
    LoyaltyEntry,
    StoreCreditAccount,
    StoreCreditEntry,
)

CENT = Decimal("0.01")


def _sums(model: type, key: str, field: str) -> dict[int, Decimal]:
    rows = model.objects.values(key).annotate(s=Sum(field)).values_list(key, "s")  # type: ignore[attr-defined]
    # SQLite sums decimals in floating point: compare cents.
    return {k: Decimal(str(s or 0)).quantize(CENT) for k, s in rows}


def loyalty_verify() -> tuple[list[str], str]:
    problems: list[str] = []
    points = dict(
        LoyaltyEntry.objects.values("account_id")
        .annotate(s=Sum("points"))
        .values_list("account_id", "s")
    )
    lots = dict(
        LoyaltyEntry.objects.filter(remaining__gt=0)
        .values("account_id")
        .annotate(s=Sum("remaining"))
        .values_list("account_id", "s")
    )
    accounts = 0
    for pk, balance in LoyaltyAccount.objects.values_list("pk", "balance").iterator(2000):
        accounts += 1
        if balance != (points.get(pk) or 0):
            problems.append(
                f"loyalty: points account #{pk} balance {balance} != entries {points.get(pk) or 0}"
            )
        if balance != (lots.get(pk) or 0):
            problems.append(
                f"loyalty: points account #{pk} balance {balance} != unspent lots "
                f"{lots.get(pk) or 0}"
            )
    card_sums = _sums(GiftCardEntry, "card_id", "amount")
    cards = 0
    for pk, held, status in GiftCard.objects.values_list("pk", "balance", "status").iterator(2000):
        cards += 1
        if held.quantize(CENT) != card_sums.get(pk, Decimal(0).quantize(CENT)):
            problems.append(
                f"loyalty: gift card #{pk} balance {held} != entries {card_sums.get(pk)}"
            )
        if status != GiftCard.Status.ACTIVE and held != 0:
            problems.append(f"loyalty: gift card #{pk} is {status} but holds {held}")
    credit_sums = _sums(StoreCreditEntry, "account_id", "amount")
    credits = 0
    for pk, credit in StoreCreditAccount.objects.values_list("pk", "balance").iterator(2000):
        credits += 1
        if credit.quantize(CENT) != credit_sums.get(pk, Decimal(0).quantize(CENT)):
            problems.append(
                f"loyalty: store credit account #{pk} balance {credit} != entries "
                f"{credit_sums.get(pk)}"
            )
    for model, label in ((GiftCardEntry, "gift card"), (StoreCreditEntry, "store credit")):
        refunded = model.objects.filter(kind="redeem", refunded__gt=0)  # type: ignore[attr-defined]
        for entry in refunded.iterator(2000):
            if entry.refunded > -entry.amount:
                problems.append(
                    f"loyalty: {label} redemption #{entry.pk} refunded {entry.refunded} > paid "
                    f"{-entry.amount}"
                )
    summary = (
        f"loyalty: {accounts} points accounts, {cards} gift cards, {credits} store credit "
        "accounts match their ledgers"
    )
    return problems, summary
