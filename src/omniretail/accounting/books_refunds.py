"""The books of refunds (`refund.completed`, published by payments.refunds):
a till sale's refund with its credit note on the receipt, and the parts of
other orders' refunds that books_orders does not book from `payment.refunded`."""

from __future__ import annotations

from decimal import Decimal

from django.utils import timezone

from omniretail.accounting.books_orders import refund_book
from omniretail.accounting.domain import (
    CUSTOMER_DEPOSITS,
    SALES_DISCOUNTS,
    STORE_CREDIT_LIABILITY,
    VAT_PAYABLE,
    Posting,
)
from omniretail.accounting.invoicing import credit_note_issue
from omniretail.accounting.models import CreditNote, Receipt
from omniretail.accounting.services import TENDER_ACCOUNTS, journal_post
from omniretail.accounting.taxes import CreditRequest
from omniretail.core.access import SYSTEM
from omniretail.core.models import OutboxEvent
from omniretail.core.money import Money, tax_from_gross
from omniretail.orders.models import Order, ReturnLine

# Where the money of each part of a refund comes from (see payments.refunds).
REFUND_ACCOUNTS: dict[str, str] = {
    **TENDER_ACCOUNTS,
    "store_credit_issued": STORE_CREDIT_LIABILITY,
    # A check is paid back by transfer later: owed to the customer until then.
    "check": CUSTOMER_DEPOSITS,
}


def _refund_tax(order: Order, return_id: int | None, amount: Decimal) -> Decimal:
    """The tax inside a refunded amount: per returned line at its own rate,
    else in the proportion of the order's tax to its total."""
    if return_id is not None:
        tax = Decimal(0)
        for refunded, rate in ReturnLine.objects.filter(return_doc_id=return_id).values_list(
            "refund_amount", "order_line__tax_rate"
        ):
            tax += tax_from_gross(Money(refunded, order.currency), rate).amount
        return tax
    if not order.total_gross:
        return Decimal(0)
    return (amount * order.total_tax / order.total_gross).quantize(Decimal("0.01"))


def _receipt_credit_note(
    order: Order, return_id: int | None, amount: Decimal, key: str
) -> CreditNote | None:
    """The credit note on a till receipt for a refund of returned goods (each
    returned line credited by what it refunds). None for a refund that is not
    of returned goods at their value (an exchange's difference): the journal
    entry alone records it."""
    receipt = Receipt.objects.filter(order=order).first()
    if receipt is None or return_id is None:
        return None
    returned = list(
        ReturnLine.objects.filter(return_doc_id=return_id).values_list(
            "order_line__line_no", "refund_amount"
        )
    )
    if not returned or sum((r for _, r in returned), Decimal(0)) != amount:
        return None
    return credit_note_issue(
        document=receipt,
        lines=[CreditRequest(line_no=no, gross=refunded) for no, refunded in returned],
        reason=f"goods returned (refund {key})",
        actor=SYSTEM,
    )


# Parts of a refund that books_orders does not book for non-till orders (it
# books cash and card refunds from `payment.refunded`).
NON_TILL_PARTS = ("gift_card", "store_credit", "loyalty", "on_account", "check")


def on_refund_completed(event: OutboxEvent) -> None:
    """In-transaction handler of `refund.completed`. A till sale's refund
    gets a credit note on its receipt and reverses revenue and tax (Dr sales
    discounts and refunds, Dr VAT) against where the money goes back (Cr
    cash, card clearing, the gift card / store credit / points liability,
    receivables). Other orders follow their invoices: books_orders books
    their cash and card refunds; the other tenders and store credit are
    booked here the same way (credit notes first, then deposits)."""
    payload = event.payload
    parts = [p for p in payload["parts"] if p["tender"] in REFUND_ACCOUNTS]
    if not payload["till"]:
        order = Order.objects.select_related("channel__company").get(pk=payload["order_id"])
        for part in parts:
            if part["tender"] in NON_TILL_PARTS or part["tender"] == "store_credit_issued":
                refund_book(
                    order=order,
                    refund_id=int(part.get("refund") or 0),
                    amount=Decimal(part["amount"]),
                    account=REFUND_ACCOUNTS[part["tender"]],
                )
        return
    if not parts:
        return
    order = Order.objects.get(pk=payload["order_id"])
    paid_back = sum((Decimal(p["amount"]) for p in parts), Decimal(0))
    note = _receipt_credit_note(order, payload.get("return_id"), paid_back, str(event.pk))
    tax = note.total_tax if note is not None else _refund_tax(order, None, paid_back)
    postings = [Posting(SALES_DISCOUNTS, debit=paid_back - tax), Posting(VAT_PAYABLE, debit=tax)]
    postings += [Posting(REFUND_ACCOUNTS[p["tender"]], credit=Decimal(p["amount"])) for p in parts]
    journal_post(
        date=timezone.localdate(),
        description=f"Refund of sale #{order.pk}" + (f" ({note.full_number})" if note else ""),
        reference_type="refund",
        reference_id=str(event.pk),
        currency=order.currency,
        postings=postings,
        channel_id=order.channel_id,
        store_id=order.store_id,
    )
