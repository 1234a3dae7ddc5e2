"""Invoices and credit notes: issued at posting, numbered per series with no
gaps, chained by hash, never changed (corrections are credit notes).

Series: `INV-<CHANNEL>-000001` / `CN-<CHANNEL>-000001` per channel, or
company-wide `INV-` / `CN-` when settings.OMNI_INVOICE_SERIES_PER_CHANNEL is
false. Amounts on both documents are positive; a credit note subtracts.

Books (one entry per document, reference `order`/<order id>, so an order's
sub-ledger is the sum of its entries):
- invoice of shipped goods: Dr 2400 customer deposits (what was already
  paid and not yet invoiced) and Dr 1200 receivables (the rest) / Cr 4000
  sales (net, channel on the entry) and Cr 2100 VAT; plus the cost of the
  goods that left (Dr 5000 / Cr 1300, from the stock moves' unit cost), less
  what came back in returns (books_returns.py books that back when it happens).
- an invoice made from a till receipt, and a replacement invoice with the
  buyer's details, book nothing: the revenue is already booked.
- a credit note: Dr 4100 sales discounts and refunds (net) and Dr 2100 VAT
  / Cr 1200 receivables (what is still owed) and Cr 2400 (the rest, owed to
  the customer until refunded). A refund books its own (books_orders.py).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone
from stdnum.eu import vat as eu_vat
from stdnum.exceptions import ValidationError as StdnumError

from omniretail.accounting.books_returns import order_returned_cost
from omniretail.accounting.domain import (
    ACCOUNTS_RECEIVABLE,
    COST_OF_GOODS_SOLD,
    CUSTOMER_DEPOSITS,
    GIFT_CARD_LIABILITY,
    INVENTORY,
    SALES,
    SALES_DISCOUNTS,
    VAT_PAYABLE,
    Posting,
)
from omniretail.accounting.models import CreditNote, Invoice, JournalLine, Receipt
from omniretail.accounting.services import journal_post
from omniretail.accounting.taxes import (
    CreditRequest,
    DocumentAmounts,
    LineIn,
    credit_lines,
    document_lines,
    tax_rate_for,
    tax_rounding,
)
from omniretail.core.access import Actor, require_in
from omniretail.core.audit import audit_record
from omniretail.core.errors import Conflict, ValidationFailed
from omniretail.core.models import Channel, NumberSeries
from omniretail.core.money import Money, tax_from_gross
from omniretail.core.series import series_get_or_create, series_take
from omniretail.fulfilment.models import Shipment
from omniretail.inventory.models import Location, StockMove
from omniretail.orders.models import Order, OrderLine

ZERO = Decimal(0)
CENT = Decimal("0.01")


# --- series, seller, buyer ------------------------------------------------------------------


def _per_channel() -> bool:
    value = getattr(settings, "OMNI_INVOICE_SERIES_PER_CHANNEL", None)
    if value is None:
        value = os.environ.get("OMNI_INVOICE_SERIES_PER_CHANNEL", "true").lower() != "false"
    return bool(value)


def document_series(*, kind: str, channel: Channel) -> NumberSeries:
    """`kind` is "inv" or "cn": the channel's series, or the company's."""
    if _per_channel():
        return series_get_or_create(
            code=f"{kind}-{channel.code}", prefix=f"{kind.upper()}-{channel.code.upper()}-"
        )
    return series_get_or_create(code=kind, prefix=f"{kind.upper()}-")


def seller_snapshot(order: Order) -> dict[str, str]:
    """The company as it is now. Company has no address of its own: the
    seller's address is settings.OMNI_SELLER_ADDRESS, else the order's store's."""
    company = order.channel.company
    store = order.store or order.channel.store
    address = getattr(settings, "OMNI_SELLER_ADDRESS", "") or (store.address if store else "")
    return {
        "name": company.name,
        "address": address,
        "country": company.country,
        "vat_id": company.tax_id,
    }


def buyer_from_order(order: Order) -> dict[str, str]:
    ship = order.shipping_address or {}
    customer = order.customer
    name = str(ship.get("name", "")) or (
        f"{customer.first_name} {customer.last_name}".strip() if customer else ""
    )
    parts = [ship.get(k, "") for k in ("line1", "line2", "postcode", "city")]
    return {
        "name": name,
        "address": ", ".join(str(p) for p in parts if p),
        "country": str(ship.get("country", "")),
        "tax_id": "",
        "email": order.email,
    }


def buyer_validate(*, tax_id: str, name: str, address: str) -> dict[str, str]:
    """A buyer for a full invoice: an EU VAT number with its country prefix
    (checked with python-stdnum), a name and an address."""
    name, address = (name or "").strip(), (address or "").strip()
    if not name or len(name) > 200:
        raise ValidationFailed("name: give the buyer's name (1 to 200 characters).", field="name")
    if not address or len(address) > 500:
        raise ValidationFailed(
            "address: give the buyer's postal address (1 to 500 characters).", field="address"
        )
    try:
        compact = eu_vat.validate(tax_id or "")
    except StdnumError:
        compact = ""
    if not compact:
        raise ValidationFailed(
            f"tax_id: {tax_id!r} is not a valid EU VAT number; give it with its country prefix, "
            "e.g. FR40303265045 or DE136695976.",
            field="tax_id",
        )
    country = eu_vat.guess_country(compact)
    return {
        "name": name,
        "address": address,
        "country": (country[0] if country else compact[:2]).upper(),
        "tax_id": compact,
        "email": "",
    }


# --- the order's sub-ledger -----------------------------------------------------------------


def order_balance(*, order_id: int, account: str) -> Decimal:
    """Debits − credits of an account in the entries of one order."""
    row = JournalLine.objects.filter(
        entry__reference_type="order", entry__reference_id=str(order_id), account__code=account
    ).aggregate(dr=Sum("debit"), cr=Sum("credit"))
    return (Decimal(str(row["dr"] or 0)) - Decimal(str(row["cr"] or 0))).quantize(CENT)


def order_shipped_cost(*, order_id: int) -> Decimal:
    """Cost of the goods of an order that went to the customer: its
    shipments' moves (less parcels brought back by the carrier) and moves
    referenced by the order itself (holds handed over without a shipment)."""
    numbers = list(Shipment.objects.filter(order_id=order_id).values_list("number", flat=True))
    total = ZERO
    moves = StockMove.objects.filter(
        Q(reference_type="shipment", reference_id__in=numbers)
        | Q(reference_type="order", reference_id=str(order_id)),
        unit_cost__isnull=False,
    ).values_list("quantity", "unit_cost", "to_location__kind", "from_location__kind")
    for qty, unit_cost, to_kind, from_kind in moves:
        if unit_cost is None:
            continue
        if to_kind == Location.Kind.CUSTOMER:
            total += qty * unit_cost
        elif from_kind == Location.Kind.CUSTOMER:
            total -= qty * unit_cost
    return total.quantize(CENT)


def _counter_postings(
    amount: Decimal, *, order_id: int, first: str, second: str, debit: bool
) -> list[Posting]:
    """Put `amount` on `first` up to what the order holds there, the rest on
    `second` (e.g. deposits first, receivables for the rest)."""
    held = order_balance(order_id=order_id, account=first)
    held = -held if debit else held  # deposits hold credits; receivables debits
    part = min(max(held, ZERO), amount)
    side = "debit" if debit else "credit"
    return [Posting(first, **{side: part}), Posting(second, **{side: amount - part})]


# --- posting -------------------------------------------------------------------------------


def _post(document: Invoice | CreditNote) -> None:
    def fields_for(number: int, full_number: str, previous_hash: str) -> dict[str, Any]:
        document.number, document.full_number = number, full_number
        return document.hash_fields()

    numbered = series_take(series_id=document.series_id, fields_for=fields_for)
    document.previous_hash, document.hash = numbered.previous_hash, numbered.hash
    document.save()


def _invoice_create(
    *,
    order: Order,
    amounts: DocumentAmounts,
    buyer: dict[str, str],
    source: str,
    books_revenue: bool,
    receipt: Receipt | None = None,
) -> Invoice:
    invoice = Invoice(
        series=document_series(kind="inv", channel=order.channel),
        order=order,
        receipt=receipt,
        channel_id=order.channel_id,
        store_id=order.store_id,
        source=source,
        books_revenue=books_revenue,
        issued_at=timezone.now(),
        currency=order.currency,
        seller=seller_snapshot(order),
        buyer=buyer,
        lines=amounts.lines,
        tax_summary=amounts.tax_summary,
        total_net=amounts.net,
        total_tax=amounts.tax,
        total_gross=amounts.gross,
    )
    _post(invoice)
    if books_revenue:
        invoice_book(invoice)
    return invoice


def _invoice_vouchers(invoice: Invoice) -> tuple[Decimal, Decimal, Decimal]:
    """Net, tax and gross of the invoice's gift card lines: a gift card sold
    is a liability until redeemed, not revenue."""
    line_ids = [row.get("order_line_id") for row in invoice.lines if row.get("order_line_id")]
    vouchers = set(
        OrderLine.objects.filter(pk__in=line_ids, sku__product__kind="gift_card").values_list(
            "pk", flat=True
        )
    )
    net = tax = gross = Decimal(0)
    for row in invoice.lines:
        if row.get("order_line_id") in vouchers:
            net += Decimal(row["net"])
            tax += Decimal(row["tax"])
            gross += Decimal(row["gross"])
    return net, tax, gross


def invoice_book(invoice: Invoice) -> None:
    """Revenue and tax of an invoice of shipped goods, and their cost."""
    order_id = invoice.order_id
    postings = _counter_postings(
        invoice.total_gross,
        order_id=order_id,
        first=CUSTOMER_DEPOSITS,
        second=ACCOUNTS_RECEIVABLE,
        debit=True,
    )
    vouchers = _invoice_vouchers(invoice)
    postings += [
        Posting(GIFT_CARD_LIABILITY, credit=vouchers[2]),
        Posting(SALES, credit=invoice.total_net - vouchers[0]),
        Posting(VAT_PAYABLE, credit=invoice.total_tax - vouchers[1]),
    ]
    # What the customer holds: shipped, less returns (booked back by books_returns).
    cost = (
        order_shipped_cost(order_id=order_id)
        - order_returned_cost(order_id=order_id)
        - order_balance(order_id=order_id, account=COST_OF_GOODS_SOLD)
    )
    if cost > 0:
        postings += [Posting(COST_OF_GOODS_SOLD, debit=cost), Posting(INVENTORY, credit=cost)]
    elif cost < 0:
        postings += [Posting(COST_OF_GOODS_SOLD, credit=-cost), Posting(INVENTORY, debit=-cost)]
    journal_post(
        date=timezone.localdate(invoice.issued_at),
        description=f"Invoice {invoice.full_number}",
        reference_type="order",
        reference_id=str(order_id),
        currency=invoice.currency,
        postings=postings,
        channel_id=invoice.channel_id,
        store_id=invoice.store_id,
    )


# --- what is left to invoice ----------------------------------------------------------------


@dataclass
class _Invoiced:
    quantity: int = 0
    net: Decimal = ZERO
    tax: Decimal = ZERO
    gross: Decimal = ZERO


def _invoiced_per_line(order: Order) -> tuple[dict[int | None, _Invoiced], bool]:
    """Per order line: what the order's invoices hold, less what was taken
    off them by credit notes that book nothing (replacements). Returns also
    whether shipping was invoiced."""
    per: dict[int | None, _Invoiced] = {}
    shipping = False

    def add(rows: list[dict[str, Any]], sign: int) -> None:
        nonlocal shipping
        for row in rows:
            if row.get("sku") == "SHIPPING":
                shipping = shipping or sign > 0
            entry = per.setdefault(row.get("order_line_id"), _Invoiced())
            entry.quantity += sign * int(row["quantity"])
            entry.net += sign * Decimal(row["net"])
            entry.tax += sign * Decimal(row["tax"])
            entry.gross += sign * Decimal(row["gross"])

    for lines in Invoice.objects.filter(order=order).values_list("lines", flat=True):
        add(lines, 1)
    for lines in CreditNote.objects.filter(order=order, books_revenue=False).values_list(
        "lines", flat=True
    ):
        add(lines, -1)
    return per, shipping


def _destination(order: Order) -> tuple[str, str]:
    ship = order.shipping_address or {}
    return str(ship.get("country", "")).upper(), str(ship.get("region", "")).upper()


def invoiceable_lines(order: Order) -> list[LineIn]:
    """Units fulfilled and not yet invoiced, per order line. The rate is the
    destination's (`tax_rate_for`, the shipping address's country/region);
    when it is the order line's own rate and the invoice takes the line's last
    units, the amounts are exactly what the line has left, so the invoices of
    an order add up to it to the cent."""
    invoiced, shipping_done = _invoiced_per_line(order)
    country, region = _destination(order)
    at = timezone.localdate(order.placed_at)
    company = order.channel.company
    rows: list[LineIn] = []
    order_lines = list(
        OrderLine.objects.filter(order=order).select_related("sku__product").order_by("line_no")
    )
    for line in order_lines:
        done = invoiced.get(line.pk, _Invoiced())
        quantity = line.quantity_fulfilled - done.quantity
        if quantity <= 0:
            continue
        rate = line.tax_rate
        if country:
            rate = tax_rate_for(
                tax_class_id=line.sku.product.tax_class_id, country=country, region=region, at=at
            )
        amounts = None
        if rate == line.tax_rate and done.quantity + quantity == line.quantity:
            amounts = (line.net - done.net, line.tax - done.tax, line.gross - done.gross)
        rows.append(
            LineIn(
                line.description,
                quantity,
                line.unit_price,
                rate,
                sku=line.sku.sku,
                order_line_id=line.pk,
                amounts=amounts,
            )
        )
    if rows and order.shipping_gross and not shipping_done:
        tax = order.total_tax - sum((ln.tax for ln in order_lines), ZERO)
        gross = order.shipping_gross
        rows.append(
            LineIn(
                "Shipping",
                1,
                gross if company.prices_include_tax else gross - tax,
                _shipping_rate(gross, tax, [ln.tax_rate for ln in order_lines]),
                sku="SHIPPING",
                amounts=(gross - tax, tax, gross),
            )
        )
    return rows


def _shipping_rate(gross: Decimal, tax: Decimal, candidates: list[Decimal]) -> Decimal:
    """The rate the order's shipping tax was computed at: the line rate that
    gives it back, else the rate it implies."""
    for rate in sorted(set(candidates), reverse=True):
        if tax_from_gross(Money(gross, "EUR"), rate).amount == tax:
            return rate
    net = gross - tax
    return (tax / net).quantize(Decimal("0.0001")) if net else ZERO


# --- services -------------------------------------------------------------------------------


def invoice_issue(
    *, order: Order, actor: Actor, buyer: dict[str, str] | None = None
) -> Invoice | None:
    """Invoice what of a (non-till) order was shipped or collected and not yet
    invoiced, and book it. None when nothing is left to invoice. Runs in the
    caller's transaction (the fulfilment's) or its own."""
    with transaction.atomic():
        order = (
            Order.objects.select_for_update().select_related("channel__company").get(pk=order.pk)
        )
        require_in(actor, "orders.fulfil", store_id=order.store_id)
        if order.terminal_id is not None:
            raise Conflict(
                f"Order #{order.pk} is a till sale: its receipt is its document; use "
                "invoice_for_sale to turn the receipt into a full invoice.",
                field="order",
            )
        lines = invoiceable_lines(order)
        if not lines:
            return None
        company = order.channel.company
        amounts = document_lines(
            lines,
            currency=order.currency,
            prices_include_tax=company.prices_include_tax,
            rounding=tax_rounding(),
        )
        return _invoice_create(
            order=order,
            amounts=amounts,
            buyer=buyer or buyer_from_order(order),
            source=Invoice.Source.FULFILMENT,
            books_revenue=True,
        )


def _credit_note_create(
    *,
    document: Invoice | Receipt,
    requests: Sequence[CreditRequest],
    reason: str,
    books_revenue: bool,
    refund_id: int | None = None,
) -> CreditNote:
    invoice = document if isinstance(document, Invoice) else None
    receipt = document if isinstance(document, Receipt) else None
    earlier = CreditNote.objects.filter(
        Q(invoice=invoice) if invoice else Q(receipt=receipt, invoice__isnull=True)
    )
    before = [row for lines in earlier.values_list("lines", flat=True) for row in lines]
    amounts = credit_lines(document.lines, before, requests, currency=document.currency)
    order = Order.objects.select_related("channel__company").get(pk=document.order_id)
    note = CreditNote(
        series=document_series(kind="cn", channel=order.channel),
        order=order,
        invoice=invoice,
        receipt=receipt,
        refund_id=refund_id,
        channel_id=order.channel_id,
        store_id=document.store_id,
        reason=reason,
        books_revenue=books_revenue,
        issued_at=timezone.now(),
        currency=document.currency,
        seller=invoice.seller if invoice else seller_snapshot(order),
        buyer=invoice.buyer if invoice else buyer_from_order(order),
        lines=amounts.lines,
        tax_summary=amounts.tax_summary,
        total_net=amounts.net,
        total_tax=amounts.tax,
        total_gross=amounts.gross,
    )
    _post(note)
    return note


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason or len(reason) > 300:
        raise ValidationFailed("reason: say why (1 to 300 characters).", field="reason")
    return reason


def credit_note_issue(
    *,
    document: Invoice | Receipt,
    lines: Sequence[CreditRequest],
    reason: str,
    actor: Actor,
) -> CreditNote:
    """Credit units or amounts of an invoice's (or a receipt's) lines: never
    more than the line minus earlier credit notes. A credit note on an
    invoice of a non-till order is booked (Dr 4100 + 2100 / Cr 1200 what is
    still owed, Cr 2400 the rest, owed back to the customer); one on a till
    receipt is not: till refunds are booked by the till's refund."""
    reason = _reason(reason)
    if not lines:
        raise ValidationFailed("lines: name at least one line to credit.", field="lines")
    with transaction.atomic():
        require_in(actor, "orders.return", store_id=document.store_id)
        Order.objects.select_for_update().filter(pk=document.order_id).first()
        # A credit on a replacement invoice is real and booked like any other;
        # one on a till receipt (or its invoice) is booked by the till's refund.
        books = isinstance(document, Invoice) and document.receipt_id is None
        note = _credit_note_create(
            document=document, requests=lines, reason=reason, books_revenue=True
        )
        if books:
            credit_note_book(note)
        audit_record(
            actor=actor,
            action="credit_note.issue",
            object_type="credit_note",
            object_id=note.full_number,
            store_id=note.store_id,
            reason=reason,
            data={"document": document.full_number, "gross": str(note.total_gross)},
        )
        return note


def credit_note_book(note: CreditNote) -> None:
    postings = [
        Posting(SALES_DISCOUNTS, debit=note.total_net),
        Posting(VAT_PAYABLE, debit=note.total_tax),
    ]
    postings += _counter_postings(
        note.total_gross,
        order_id=note.order_id,
        first=ACCOUNTS_RECEIVABLE,
        second=CUSTOMER_DEPOSITS,
        debit=False,
    )
    journal_post(
        date=timezone.localdate(note.issued_at),
        description=f"Credit note {note.full_number}",
        reference_type="order",
        reference_id=str(note.order_id),
        currency=note.currency,
        postings=postings,
        channel_id=note.channel_id,
        store_id=note.store_id,
    )


def _remaining_requests(document: Invoice | Receipt) -> list[CreditRequest]:
    """Credit whatever of each line is left (by amount: exactly what is left)."""
    earlier = CreditNote.objects.filter(
        Q(invoice=document) if isinstance(document, Invoice) else Q(receipt=document)
    )
    taken: dict[int, Decimal] = {}
    for lines in earlier.values_list("lines", flat=True):
        for row in lines:
            no = int(row["source_line_no"])
            taken[no] = taken.get(no, ZERO) + Decimal(row["gross"])
    requests = []
    for row in document.lines:
        left = Decimal(row["gross"]) - taken.get(int(row["line_no"]), ZERO)
        if left > 0:
            requests.append(CreditRequest(int(row["line_no"]), gross=left))
    return requests


def invoice_for_sale(
    *,
    tax_id: str,
    name: str,
    address: str,
    actor: Actor,
    order: Order | None = None,
    receipt: Receipt | None = None,
) -> Invoice:
    """A full invoice with the buyer's tax id, on request, for any sale.

    - A till sale (its receipt): an invoice of the receipt's lines, once per
      receipt; it books nothing (the receipt booked the sale).
    - A non-till order not yet invoiced: the invoice of what was shipped,
      with these buyer details, booked as usual.
    - A non-till order already invoiced: each invoice's open part is
      credited and reissued on one invoice with these details; both sides
      book nothing (they cancel out; the revenue stays booked once)."""
    buyer = buyer_validate(tax_id=tax_id, name=name, address=address)
    if receipt is None and order is not None and order.terminal_id is not None:
        receipt = Receipt.objects.filter(order=order).first()
    with transaction.atomic():
        if receipt is not None:
            order = Order.objects.select_for_update().get(pk=receipt.order_id)
            require_in(actor, "orders.write", store_id=receipt.store_id)
            existing = Invoice.objects.filter(receipt=receipt).first()
            if existing is not None:
                raise Conflict(
                    f"Receipt {receipt.full_number} is already invoiced as "
                    f"{existing.full_number}; a receipt becomes an invoice once.",
                    field="receipt",
                )
            amounts = DocumentAmounts(
                lines=[
                    {
                        **row,
                        "order_line_id": None,
                        "discount": row.get("discount", "0.00"),
                        "tax_rate": format(
                            Decimal(row["tax_rate"]).quantize(Decimal("0.0001")), "f"
                        ),
                    }
                    for row in receipt.lines
                ],
                tax_summary=[
                    {
                        "rate": format(Decimal(s["rate"]).quantize(Decimal("0.0001")), "f"),
                        "base": s["net"],
                        "tax": s["tax"],
                        "gross": format(Decimal(s["net"]) + Decimal(s["tax"]), "f"),
                    }
                    for s in receipt.tax_summary
                ],
                net=receipt.total_net,
                tax=receipt.total_tax,
                gross=receipt.total_gross,
            )
            invoice = _invoice_create(
                order=order,
                amounts=amounts,
                buyer=buyer,
                source=Invoice.Source.RECEIPT,
                books_revenue=False,
                receipt=receipt,
            )
        else:
            if order is None:
                raise ValidationFailed("order: name the order or the receipt.", field="order")
            order = Order.objects.select_for_update().get(pk=order.pk)
            require_in(actor, "orders.write", store_id=order.store_id)
            open_invoices = [
                inv for inv in Invoice.objects.filter(order=order) if _remaining_requests(inv)
            ]
            if not open_invoices:
                issued = invoice_issue(order=order, actor=actor, buyer=buyer)
                if issued is None:
                    raise Conflict(
                        f"Order #{order.pk} has nothing shipped or collected yet; its invoice "
                        "is issued when the goods leave.",
                        field="order",
                    )
                invoice = issued
            else:
                rows: list[LineIn] = []
                for inv in open_invoices:
                    note = _credit_note_create(
                        document=inv,
                        requests=_remaining_requests(inv),
                        reason="replaced by an invoice with the buyer's tax id",
                        books_revenue=False,
                    )
                    for row in note.lines:
                        rows.append(
                            LineIn(
                                row["description"],
                                int(row["quantity"]),
                                Decimal(row["unit_price"]),
                                Decimal(row["tax_rate"]),
                                sku=row["sku"],
                                order_line_id=row["order_line_id"],
                                amounts=(
                                    Decimal(row["net"]),
                                    Decimal(row["tax"]),
                                    Decimal(row["gross"]),
                                ),
                            )
                        )
                amounts = document_lines(
                    rows, currency=order.currency, prices_include_tax=True, rounding="line"
                )
                invoice = _invoice_create(
                    order=order,
                    amounts=amounts,
                    buyer=buyer,
                    source=Invoice.Source.REPLACEMENT,
                    books_revenue=False,
                )
        audit_record(
            actor=actor,
            action="invoice.for_sale",
            object_type="invoice",
            object_id=invoice.full_number,
            store_id=invoice.store_id,
            data={"tax_id": buyer["tax_id"], "order_id": order.pk},
        )
        return invoice
