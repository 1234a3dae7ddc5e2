"""Goods bought from suppliers (`stock.purchased`, published by the stock
ledger whenever a move comes from or goes back to a supplier location).

Received goods enter inventory at their purchase cost: Dr 1300 inventory /
Cr 2050 goods received not invoiced, in the receipt's transaction. The
supplier's invoice is booked in the accountant's software (accounts payable
against 2050); the export carries both sides. Goods sent back to a supplier
leave at the average cost they were carried at: Dr 2050 / Cr 1300.

With sales (Dr 5000 / Cr 1300), returns (Dr 1300 / Cr 5000) and shrinkage
(Dr 5100 / Cr 1300), inventory in the books follows the stock ledger's value.
"""

from __future__ import annotations

from decimal import Decimal

from django.utils import timezone

from omniretail.accounting.domain import GOODS_RECEIVED_NOT_INVOICED, INVENTORY, Posting
from omniretail.accounting.services import journal_post
from omniretail.core.models import Company, OutboxEvent


def on_stock_purchased(event: OutboxEvent) -> None:
    """In-transaction handler of `stock.purchased`."""
    payload = event.payload
    net = Decimal(payload["value_in"]) - Decimal(payload["value_out"])
    if not net:
        return  # received at no cost, or as much sent back as came in
    reference = payload["reference_type"] or "receipt"
    label = f"{reference} {payload['reference_id']}".strip()
    journal_post(
        date=timezone.localdate(),
        description=(
            f"Goods received from suppliers: {label}"
            if net > 0
            else f"Goods returned to suppliers: {label}"
        ),
        reference_type=reference,
        reference_id=payload["reference_id"],
        currency=Company.objects.values_list("currency", flat=True).first() or "EUR",
        postings=[
            Posting(INVENTORY, debit=net) if net > 0 else Posting(INVENTORY, credit=-net),
            Posting(GOODS_RECEIVED_NOT_INVOICED, credit=net)
            if net > 0
            else Posting(GOODS_RECEIVED_NOT_INVOICED, debit=-net),
        ],
        store_id=payload["store_id"],
    )
