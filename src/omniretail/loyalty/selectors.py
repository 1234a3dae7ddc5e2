"""Reads: a card's balance by its code, a customer's loyalty summary."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from omniretail.core.access import Actor, require
from omniretail.core.money import quantum
from omniretail.loyalty.domain import points_value_down
from omniretail.loyalty.models import (
    LoyaltyAccount,
    LoyaltyEntry,
    StoreCreditAccount,
    StoreCreditEntry,
)
from omniretail.loyalty.services.giftcards import giftcard_by_code


@dataclass(frozen=True)
class GiftCardBalance:
    last4: str
    currency: str
    balance: Decimal
    status: str
    expires_at: dt.datetime | None


@dataclass(frozen=True)
class PointsBalance:
    program: str
    currency: str
    points: int
    value: Decimal


@dataclass(frozen=True)
class LedgerLine:
    ledger: str  # "points" or "store_credit"
    kind: str
    points: int | None
    amount: Decimal
    currency: str
    reference: str
    at: dt.datetime


@dataclass(frozen=True)
class LoyaltySummary:
    customer_id: int
    points: list[PointsBalance]
    store_credit: dict[str, Decimal]
    recent: list[LedgerLine]


def giftcard_balance(*, code: str, actor: Actor) -> GiftCardBalance:
    require(actor, "loyalty.read")
    card = giftcard_by_code(code)
    return GiftCardBalance(card.last4, card.currency, card.balance, card.status, card.expires_at)


def loyalty_summary(*, customer_id: int, actor: Actor, recent: int = 20) -> LoyaltySummary:
    """Points (and what they are worth), store credit per currency and the
    latest entries of both ledgers, newest first."""
    require(actor, "loyalty.read")
    points = [
        PointsBalance(
            a.program.code,
            a.program.currency,
            a.balance,
            points_value_down(a.balance, a.program.point_value, quantum(a.program.currency)),
        )
        for a in LoyaltyAccount.objects.select_related("program")
        .filter(customer_id=customer_id)
        .order_by("program__code")
    ]
    credit = dict(
        StoreCreditAccount.objects.filter(customer_id=customer_id)
        .order_by("currency")
        .values_list("currency", "balance")
    )
    lines = [
        LedgerLine(
            "points",
            e.kind,
            e.points,
            e.amount,
            e.account.program.currency,
            f"{e.reference_type}:{e.reference_id}",
            e.created_at,
        )
        for e in LoyaltyEntry.objects.select_related("account__program")
        .filter(account__customer_id=customer_id)
        .order_by("-created_at", "-pk")[:recent]
    ] + [
        LedgerLine(
            "store_credit",
            e.kind,
            None,
            e.amount,
            e.account.currency,
            f"{e.reference_type}:{e.reference_id}",
            e.created_at,
        )
        for e in StoreCreditEntry.objects.select_related("account")
        .filter(account__customer_id=customer_id)
        .order_by("-created_at", "-pk")[:recent]
    ]
    lines.sort(key=lambda line: line.at, reverse=True)
    return LoyaltySummary(customer_id, points, credit, lines[:recent])
