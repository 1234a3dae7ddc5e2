"""Loyalty API: a gift card's balance (the code goes in the body, never in a
URL that servers log) and a customer's loyalty summary."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.http import HttpRequest
from ninja import Field, Router, Schema

from omniretail.core.access import require
from omniretail.core.api_auth import request_actor
from omniretail.core.errors import NotFound
from omniretail.customers.models import Customer
from omniretail.loyalty.selectors import giftcard_balance, loyalty_summary

giftcards_router = Router(tags=["loyalty"])
customers_router = Router(tags=["loyalty"])


class GiftCardBalanceIn(Schema):
    code: str = Field(..., min_length=1, max_length=64, description="As printed on the card")


class GiftCardBalanceOut(Schema):
    last4: str
    currency: str
    balance: Decimal
    status: str
    expires_at: dt.datetime | None


class PointsOut(Schema):
    program: str
    currency: str
    points: int
    value: Decimal


class EntryOut(Schema):
    ledger: str
    kind: str
    points: int | None
    amount: Decimal
    currency: str
    reference: str
    at: dt.datetime


class LoyaltySummaryOut(Schema):
    customer_id: int
    points: list[PointsOut]
    store_credit: dict[str, Decimal]
    recent: list[EntryOut]


@giftcards_router.post("/balance", response=GiftCardBalanceOut)
def giftcard_balance_lookup(request: HttpRequest, payload: GiftCardBalanceIn) -> GiftCardBalanceOut:
    """What is left on a gift card. Only the last four characters come back."""
    found = giftcard_balance(code=payload.code, actor=request_actor(request))
    return GiftCardBalanceOut(
        last4=found.last4,
        currency=found.currency,
        balance=found.balance,
        status=found.status,
        expires_at=found.expires_at,
    )


@customers_router.get("/{customer_id}/loyalty", response=LoyaltySummaryOut)
def customer_loyalty(request: HttpRequest, customer_id: int) -> LoyaltySummaryOut:
    """Points (and their value), store credit per currency and the latest entries."""
    actor = request_actor(request)
    require(actor, "loyalty.read")
    if not Customer.objects.filter(pk=customer_id).exists():
        raise NotFound(f"No customer #{customer_id}; check the id.", field="customer_id")
    summary = loyalty_summary(customer_id=customer_id, actor=actor)
    return LoyaltySummaryOut(
        customer_id=summary.customer_id,
        points=[
            PointsOut(program=p.program, currency=p.currency, points=p.points, value=p.value)
            for p in summary.points
        ],
        store_credit=summary.store_credit,
        recent=[
            EntryOut(
                ledger=e.ledger,
                kind=e.kind,
                points=e.points,
                amount=e.amount,
                currency=e.currency,
                reference=e.reference,
                at=e.at,
            )
            for e in summary.recent
        ],
    )
