"""The books of cash drawers: paid in, paid out and over/short.

In-transaction handlers of payments' events (see omniretail.wiring). Only
what no other booking covers is posted here: a sale's tenders are booked with
the sale (`sale_book`), so card captures, voids and refunds are not booked
again here; they stay events until the refund/credit-note booking lands.
"""

from __future__ import annotations

from decimal import Decimal

from django.utils import timezone

from omniretail.accounting.domain import (
    CASH,
    CASH_OVER_SHORT,
    OWNER_EQUITY,
    PAID_OUT_EXPENSES,
    Posting,
)
from omniretail.accounting.services import journal_post
from omniretail.core.models import OutboxEvent


def on_drawer_paid(event: OutboxEvent) -> None:
    """Paid out: Dr petty cash expenses, Cr cash. Paid in: Dr cash, Cr owner's equity."""
    p = event.payload
    amount = Decimal(p["amount"])
    if p["kind"] == "out":
        postings = [Posting(PAID_OUT_EXPENSES, debit=amount), Posting(CASH, credit=amount)]
        what = "Paid out"
    else:
        postings = [Posting(CASH, debit=amount), Posting(OWNER_EQUITY, credit=amount)]
        what = "Paid in"
    journal_post(
        date=timezone.localdate(),
        description=f"{what}: {p['reason']}"[:300],
        reference_type="drawer_movement",
        reference_id=str(p["movement_id"]),
        currency=p["currency"],
        postings=postings,
        store_id=p["store_id"],
    )


def on_drawer_closed(event: OutboxEvent) -> None:
    """Short: Dr cash over/short, Cr cash. Over: Dr cash, Cr cash over/short."""
    p = event.payload
    difference = Decimal(p["over_short"])
    if not difference:
        return
    if difference < 0:
        postings = [Posting(CASH_OVER_SHORT, debit=-difference), Posting(CASH, credit=-difference)]
    else:
        postings = [Posting(CASH, debit=difference), Posting(CASH_OVER_SHORT, credit=difference)]
    journal_post(
        date=timezone.localdate(),
        description=f"Cash {'short' if difference < 0 else 'over'} at {p['z_report']}",
        reference_type="drawer_session",
        reference_id=str(p["session_id"]),
        currency=p["currency"],
        postings=postings,
        store_id=p["store_id"],
    )
