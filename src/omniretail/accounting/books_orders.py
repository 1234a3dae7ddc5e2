"""The books of non-till orders (web, marketplace, phone, pick-up in store).

In-transaction handlers of fulfilment's and payments' events (registered in
omniretail.wiring). Till sales (orders with a terminal) are not booked here:
their receipt and entry come from `services.on_sale_completed`.

- goods shipped or collected (`order.status_changed` to partly fulfilled or
  fulfilled, `shipment.shipped`): the invoice of what left and was not yet
  invoiced, and its entry (see invoicing.py). Both events may fire for one
  parcel; the second finds nothing left to invoice.
- money taken (`payment.captured`, `payment.card_authorised` charged at
  once): Dr 1100 card clearing / Cr 1200 receivables (what the order's
  invoices still wait for), Cr 2400 customer deposits (the rest: paid before
  it is invoiced).
- money given back (`payment.refunded`, status succeeded, cash or card):
  Cr the tender (1000 cash, 1100 card) and, on the debit side, in this order:
  1. goods returned and not yet credited: a credit note for them (at most
     the refund) — Dr 4100 net and 2100 VAT;
  2. money paid and not invoiced (deposits, e.g. a cancelled rest): Dr 2400;
  3. still more: a price reduction on the invoices (a credit note of the
     amount, spread over the lines left) — Dr 4100 and 2100;
  4. anything beyond (the order refunds more than it was paid for): Dr 2400,
     which then shows a debit balance for the order.
  Refunds with status "requested" (gift card, store credit, points, check, on
  account) are booked by the tender's owner when carried out.
- an authorisation voided (`payment.voided`) books nothing: nothing was booked
  when it was authorised.
"""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Q
from django.utils import timezone

from omniretail.accounting.domain import (
    CARD_CLEARING,
    CASH,
    CUSTOMER_DEPOSITS,
    SALES_DISCOUNTS,
    VAT_PAYABLE,
    Posting,
)
from omniretail.accounting.invoicing import (
    _counter_postings,
    _credit_note_create,
    _remaining_requests,
    invoice_issue,
    order_balance,
)
from omniretail.accounting.models import CreditNote, Invoice
from omniretail.accounting.services import journal_post, tender_account
from omniretail.accounting.taxes import CreditRequest, credit_lines
from omniretail.core.access import SYSTEM
from omniretail.core.models import OutboxEvent
from omniretail.core.money import Money, allocate
from omniretail.orders.models import Order

ZERO = Decimal(0)
FULFILLED_STATUSES = ("partly_fulfilled", "fulfilled")
TENDER_ACCOUNTS = {"cash": CASH, "card": CARD_CLEARING}


def _non_till_order(order_id: int) -> Order | None:
    order = Order.objects.select_related("channel__company").filter(pk=order_id).first()
    if order is None or order.terminal_id is not None:
        return None
    return order


def on_order_status_changed(event: OutboxEvent) -> None:
    if event.payload["new_status"] not in FULFILLED_STATUSES:
        return
    order = _non_till_order(event.payload["order_id"])
    if order is not None:
        invoice_issue(order=order, actor=SYSTEM)


def on_shipment_shipped(event: OutboxEvent) -> None:
    order = _non_till_order(event.payload["order_id"])
    if order is not None:
        invoice_issue(order=order, actor=SYSTEM)


def capture_book(
    *, order: Order, payment_id: int, amount: Decimal, account: str = CARD_CLEARING
) -> None:
    """Money in for a non-till order: Dr the tender's account (card clearing,
    or the gift card / points / store credit liability it used up) / Cr what
    the invoices wait for (1200), the rest a customer deposit (2400)."""
    postings = [Posting(account, debit=amount)]
    postings += _counter_postings(
        amount, order_id=order.pk, first="1200", second=CUSTOMER_DEPOSITS, debit=False
    )
    journal_post(
        date=timezone.localdate(),
        description=f"Payment #{payment_id} received"
        if account != CARD_CLEARING
        else f"Card payment #{payment_id} captured",
        reference_type="order",
        reference_id=str(order.pk),
        currency=order.currency,
        postings=postings,
        channel_id=order.channel_id,
        store_id=order.store_id,
    )


def on_payment_captured(event: OutboxEvent) -> None:
    p = event.payload
    if event.name == "payment.card_authorised" and not p.get("captured"):
        return
    order = _non_till_order(p["order_id"])
    if order is not None:
        capture_book(order=order, payment_id=p["payment_id"], amount=Decimal(p["amount"]))


def _credited_units(order: Order) -> dict[int, int]:
    """Units of each order line credited by credit notes that reverse revenue."""
    units: dict[int, int] = {}
    for lines in CreditNote.objects.filter(order=order, books_revenue=True).values_list(
        "lines", flat=True
    ):
        for row in lines:
            if row.get("order_line_id"):
                units[row["order_line_id"]] = units.get(row["order_line_id"], 0) + int(
                    row["quantity"]
                )
    return units


def _returned_requests(order: Order) -> list[tuple[Invoice, list[CreditRequest]]]:
    """Per invoice: the units returned that no credit note took yet."""
    credited = _credited_units(order)
    owed = {
        line.pk: line.quantity_returned - credited.get(line.pk, 0)
        for line in order.lines.all()
        if line.quantity_returned > credited.get(line.pk, 0)
    }
    result = []
    for invoice in Invoice.objects.filter(order=order).order_by("pk"):
        on_invoice = {
            int(r["source_line_no"]): int(r["quantity"])
            for n in CreditNote.objects.filter(invoice=invoice).values_list("lines", flat=True)
            for r in n
        }
        requests = []
        for row in invoice.lines:
            line_id = row.get("order_line_id")
            need = owed.get(line_id, 0) if line_id else 0
            free = int(row["quantity"]) - on_invoice.get(int(row["line_no"]), 0)
            take = min(need, free)
            if take > 0:
                requests.append(CreditRequest(int(row["line_no"]), quantity=take))
                owed[line_id] -= take
        if requests:
            result.append((invoice, requests))
    return result


def _as_amounts(
    invoice: Invoice, requests: list[CreditRequest], cap: Decimal
) -> list[CreditRequest]:
    """Credit `cap` instead of the units when they are worth more than it."""
    before = [
        r
        for n in CreditNote.objects.filter(invoice=invoice).values_list("lines", flat=True)
        for r in n
    ]
    value = credit_lines(invoice.lines, before, requests, currency=invoice.currency)
    if value.gross <= cap:
        return requests
    weights = [Decimal(row["gross"]) for row in value.lines]
    parts = allocate(Money(cap, invoice.currency), weights)
    return [
        CreditRequest(req.line_no, gross=part.amount)
        for req, part in zip(requests, parts, strict=True)
        if part.amount > 0
    ]


def _spread(invoice: Invoice, cap: Decimal) -> list[CreditRequest]:
    """A price reduction of `cap` over what is left of an invoice's lines."""
    left = _remaining_requests(invoice)
    total = sum((r.gross or ZERO for r in left), ZERO)
    if total <= 0:
        return []
    amount = min(cap, total)
    parts = allocate(Money(amount, invoice.currency), [r.gross or ZERO for r in left])
    return [
        CreditRequest(r.line_no, gross=p.amount)
        for r, p in zip(left, parts, strict=True)
        if p.amount > 0
    ]


def refund_book(
    *,
    order: Order,
    refund_id: int | None,
    amount: Decimal,
    account: str,
    label: str | None = None,
) -> list[CreditNote]:
    """The refund's entry and the credit notes it needs (module docstring).
    `label` names what gives the value back when it is not a refund (an
    exchange's credit, see books_exchanges)."""
    rest = amount
    notes: list[CreditNote] = []
    reason = label or f"refund #{refund_id}"
    for invoice, requests in _returned_requests(order):
        if rest <= 0:
            break
        requests = _as_amounts(invoice, requests, rest)
        if requests:
            note = _credit_note_create(
                document=invoice,
                requests=requests,
                reason=f"goods returned ({reason})",
                books_revenue=True,
                refund_id=refund_id,
            )
            notes.append(note)
            rest -= note.total_gross
    deposit = min(rest, max(-order_balance(order_id=order.pk, account=CUSTOMER_DEPOSITS), ZERO))
    rest -= deposit
    if rest > 0:
        for invoice in (
            Invoice.objects.filter(order=order).filter(~Q(source="receipt")).order_by("-pk")
        ):
            requests = _spread(invoice, rest)
            if not requests:
                continue
            note = _credit_note_create(
                document=invoice,
                requests=requests,
                reason=f"price reduction ({reason})",
                books_revenue=True,
                refund_id=refund_id,
            )
            notes.append(note)
            rest -= note.total_gross
            if rest <= 0:
                break
    postings = [Posting(account, credit=amount), Posting(CUSTOMER_DEPOSITS, debit=deposit + rest)]
    for note in notes:
        postings += [
            Posting(SALES_DISCOUNTS, debit=note.total_net),
            Posting(VAT_PAYABLE, debit=note.total_tax),
        ]
    numbers = ", ".join(n.full_number for n in notes)
    journal_post(
        date=timezone.localdate(),
        description=(label[:1].upper() + label[1:] if label else f"Refund #{refund_id}")
        + (f" ({numbers})" if numbers else ""),
        reference_type="order",
        reference_id=str(order.pk),
        currency=order.currency,
        postings=postings,
        channel_id=order.channel_id,
        store_id=order.store_id,
    )
    return notes


def on_payment_refunded(event: OutboxEvent) -> None:
    p = event.payload
    if p["status"] != "succeeded":
        return
    account = TENDER_ACCOUNTS.get(p["tender"])
    order = _non_till_order(p["order_id"])
    if order is None or account is None:
        return
    refund_book(
        order=order, refund_id=int(p["refund_id"]), amount=Decimal(p["amount"]), account=account
    )


def on_payment_received(event: OutboxEvent) -> None:
    """`payment.received`: a tender other than a card paid part of an order
    (points, gift card, store credit, on account, check). Till sales book
    their tenders with the sale; other orders here."""
    p = event.payload
    order = _non_till_order(p["order_id"])
    if order is not None:
        capture_book(
            order=order,
            payment_id=p["payment_id"],
            amount=Decimal(p["amount"]),
            account=tender_account(p["tender"]),
        )
