"""The books of an exchange at a till (`exchange.completed`, published by
channels.exchanges in the exchange's transaction).

Goods of any order come back and a replacement sale goes out. The value of
the returned goods that pays for the replacement is the exchange credit
(the returned value, or the replacement's total when it costs less): it moves
from the returned sale to the new one through account 2330, which each
exchange leaves at zero.

- the returned sale: a credit note for the exchange credit on the returned
  lines — on the till receipt (Dr 4100 net, Dr 2100 VAT / Cr 2330), or for
  another channel's order on its invoices like a refund (books_orders.refund_book
  with Cr 2330). Their cost back into inventory is booked from `return.accepted`
  (books_returns); a cheaper replacement's difference is refunded and booked as
  any till refund (`refund.completed`), so nothing is counted twice.
- the replacement sale: its receipt, numbered on the till's series, and the
  entry of a till sale — Dr 2330 the exchange credit, Dr each tender of the
  difference (cash, card clearing, gift card, store credit…) / Cr 4000 net,
  Cr 2100 VAT; Dr 5000 / Cr 1300 the cost of the goods handed over.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from omniretail.accounting.books_orders import refund_book
from omniretail.accounting.domain import (
    EXCHANGE_CREDIT,
    SALES_DISCOUNTS,
    VAT_PAYABLE,
    Posting,
)
from omniretail.accounting.invoicing import credit_note_issue
from omniretail.accounting.models import CreditNote, Receipt
from omniretail.accounting.services import journal_post, receipt_issue, sale_book
from omniretail.accounting.taxes import CreditRequest
from omniretail.core.access import SYSTEM
from omniretail.core.errors import ValidationFailed
from omniretail.core.models import OutboxEvent
from omniretail.core.money import Money, allocate
from omniretail.orders.models import Order, Return, ReturnLine
from omniretail.payments.models import Payment


def returned_credit_book(*, returned: Return, order: Order, credit: Decimal) -> list[CreditNote]:
    """The returned sale gives `credit` to the replacement: a credit note on
    the returned lines (their refund amounts, spread down to `credit` when
    the replacement costs less) and Dr 4100 + 2100 / Cr 2330."""
    label = f"exchange credit of {returned.number}"
    if order.terminal_id is None:
        return refund_book(
            order=order, refund_id=None, amount=credit, account=EXCHANGE_CREDIT, label=label
        )
    receipt = Receipt.objects.filter(order=order).first()
    if receipt is None:
        raise ValidationFailed(
            f"sale #{order.pk} has no receipt to credit the exchange {returned.number} on",
            code="inconsistent",
        )
    returned_lines = list(
        ReturnLine.objects.filter(return_doc=returned)
        .order_by("pk")
        .values_list("order_line__line_no", "refund_amount")
    )
    shares = allocate(Money(credit, order.currency), [amount for _, amount in returned_lines])
    note = credit_note_issue(
        document=receipt,
        lines=[
            CreditRequest(line_no=line_no, gross=share.amount)
            for (line_no, _), share in zip(returned_lines, shares, strict=True)
            if share.amount > 0
        ],
        reason=f"goods returned ({label})",
        actor=SYSTEM,
    )
    journal_post(
        date=timezone.localdate(),
        description=f"Exchange {returned.number}: goods returned ({note.full_number})",
        reference_type="order",
        reference_id=str(order.pk),
        currency=order.currency,
        postings=[
            Posting(SALES_DISCOUNTS, debit=note.total_net),
            Posting(VAT_PAYABLE, debit=note.total_tax),
            Posting(EXCHANGE_CREDIT, credit=credit),
        ],
        channel_id=order.channel_id,
        store_id=order.store_id,
    )
    return [note]


def on_exchange_completed(event: OutboxEvent) -> None:
    """In-transaction handler of `exchange.completed`: the returned sale's
    credit, then the replacement's receipt and entry (module docstring)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("exchange.completed must be handled inside the exchange's transaction")
    payload = event.payload
    returned = Return.objects.get(pk=payload["return_id"])
    order = Order.objects.select_related("channel__company").get(pk=payload["order_id"])
    replacement = Order.objects.select_related("terminal").get(pk=payload["replacement_order_id"])
    if replacement.terminal is None:
        raise ValidationFailed(
            "an exchange's replacement needs the terminal that handed it over", field="terminal"
        )
    payments = list(replacement.payments.order_by("pk"))
    credit = sum(
        (p.amount for p in payments if p.tender == Payment.Tender.EXCHANGE_CREDIT), Decimal(0)
    )
    if credit:
        returned_credit_book(returned=returned, order=order, credit=credit)
    receipt = receipt_issue(order=replacement, terminal=replacement.terminal, payments=payments)
    sale_book(  # the exchange credit tender is taken from 2330
        order=replacement,
        payments=payments,
        reference=f"{receipt.full_number} (exchange {returned.number})",
    )
