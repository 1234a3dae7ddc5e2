"""Promises 4 and 5 of ARCHITECTURE.md, recomputed from the stored documents:
every receipt series is gapless and its hash chain intact; every journal
entry balances."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Count, Q, Sum

from omniretail.accounting.domain import CASH_OVER_SHORT, INVENTORY
from omniretail.accounting.models import (
    Closing,
    CreditNote,
    Invoice,
    JournalEntry,
    JournalLine,
    Receipt,
)
from omniretail.core.fiscal import ChainLink, chain_verify
from omniretail.core.models import NumberSeries
from omniretail.inventory.models import Location, StockMove
from omniretail.orders.models import Order
from omniretail.payments.models import DrawerSession, Payment

CENT = Decimal("0.01")


def verify_receipt_chains() -> tuple[list[str], str]:
    problems: list[str] = []
    documents = 0
    series_list = list(
        NumberSeries.objects.filter(Q(receipts__isnull=False) | Q(terminal__isnull=False))
        .distinct()
        .order_by("code")
    )
    for series in series_list:
        receipts = list(Receipt.objects.filter(series=series).order_by("number", "pk"))
        documents += len(receipts)
        links = (ChainLink(r.number, r.previous_hash, r.hash, r.hash_fields()) for r in receipts)
        found = chain_verify(links, expected_next=series.next_number, head_hash=series.head_hash)
        for p in found:
            where = f"{series.prefix}{p.number:0{series.padding}d}" if p.number else series.code
            problems.append(f"receipts: series {series.code}: {where}: {p.message}")
    summary = f"receipts: {documents} receipts in {len(series_list)} series gapless, chains intact"
    return problems, summary


def verify_journal_balanced() -> tuple[list[str], str]:
    problems: list[str] = []
    rows = JournalEntry.objects.annotate(
        dr=Sum("lines__debit"), cr=Sum("lines__credit"), n=Count("lines")
    ).values_list("pk", "reference_type", "reference_id", "dr", "cr", "n")
    count = 0
    for pk, ref_type, ref_id, dr, cr, n in rows.iterator(2000):
        count += 1
        if n == 0:
            problems.append(f"journal: entry #{pk} ({ref_type} {ref_id}) has no lines")
            continue
        # SQLite sums decimals in floating point: compare and show cents, as on the lines.
        dr, cr = (Decimal(str(v)).quantize(CENT) for v in (dr, cr))
        if dr != cr:
            problems.append(
                f"journal: entry #{pk} ({ref_type} {ref_id}) debits {dr} != credits {cr}"
            )
    return problems, f"journal: {count} entries balanced"


# --- invoices, credit notes, closings, orders and drawers (issue 5) -------------------------


def _verify_documents(
    model: type[Invoice | CreditNote | Closing], label: str, codes: Q
) -> tuple[list[str], str]:
    """Every series of a document kind: gapless, unique, chain intact; a
    document deleted from the end shows as a mismatch with the series counter."""
    problems: list[str] = []
    documents = 0
    series_list = list(NumberSeries.objects.filter(codes).order_by("code"))
    for series in series_list:
        rows = list(model.objects.filter(series=series).order_by("number", "pk"))
        documents += len(rows)
        by_number = {d.number: d.full_number for d in rows}
        links = (ChainLink(d.number, d.previous_hash, d.hash, d.hash_fields()) for d in rows)
        found = chain_verify(links, expected_next=series.next_number, head_hash=series.head_hash)
        for p in found:
            if p.number:
                stored = by_number.get(p.number, series.format(p.number))
                where = (
                    stored
                    if stored == series.format(p.number)
                    else (f"{series.format(p.number)} (stored as {stored})")
                )
            else:
                where = series.code
            problems.append(f"{label}: series {series.code}: {where}: {p.message}")
    summary = f"{label}: {documents} documents in {len(series_list)} series gapless, chains intact"
    return problems, summary


def verify_invoice_chains() -> tuple[list[str], str]:
    return _verify_documents(Invoice, "invoices", Q(code="inv") | Q(code__startswith="inv-"))


def verify_credit_note_chains() -> tuple[list[str], str]:
    return _verify_documents(CreditNote, "credit notes", Q(code="cn") | Q(code__startswith="cn-"))


def verify_closing_chains() -> tuple[list[str], str]:
    return _verify_documents(Closing, "closings", Q(code__startswith="close-"))


def verify_orders_settled() -> tuple[list[str], str]:
    """Per non-till order that is settled — fulfilled or completed, with
    payments recorded and none still only authorised:
      its invoices of shipped goods = the order's lines + tax − discounts
        (when nothing was returned or cancelled), and
      invoices − credit notes = payments − refunds.
    Orders in progress are skipped: goods shipped and not yet paid, or paid
    and not yet shipped, are rightly apart and show as receivables or
    deposits. Orders whose money the channel collected (no payment rows,
    e.g. a marketplace) have nothing to compare with."""
    problems: list[str] = []
    orders = (
        Order.objects.filter(
            terminal__isnull=True, status__in=["fulfilled", "completed"], payments__isnull=False
        )
        .exclude(payments__status=Payment.Status.AUTHORISED)
        .distinct()
        .order_by("pk")
    )
    count = 0
    for order in orders.prefetch_related("payments__refunds", "lines"):
        count += 1
        first_invoices = sum(
            Invoice.objects.filter(order=order, books_revenue=True).values_list(
                "total_gross", flat=True
            ),
            Decimal(0),
        )
        invoiced = sum(
            Invoice.objects.filter(order=order).values_list("total_gross", flat=True), Decimal(0)
        ) - sum(
            CreditNote.objects.filter(order=order).values_list("total_gross", flat=True),
            Decimal(0),
        )
        paid = Decimal(0)
        for payment in order.payments.all():
            if payment.status != Payment.Status.VOIDED:
                paid += payment.settled_amount
            paid -= sum((r.amount for r in payment.refunds.all()), Decimal(0))
        # What the order gave to replacement sales at a till (an exchange)
        # left it like a refund, though no money moved.
        paid -= sum(
            Payment.objects.filter(
                tender=Payment.Tender.EXCHANGE_CREDIT, order__replaces_returns__order=order
            ).values_list("amount", flat=True),
            Decimal(0),
        )
        untouched = all(
            line.quantity_returned == 0 and line.quantity_cancelled == 0
            for line in order.lines.all()
        )
        if untouched and first_invoices != order.total_gross:
            problems.append(
                f"order #{order.pk}: invoices {first_invoices} != order total "
                f"{order.total_gross} (lines + tax − discounts)"
            )
        if invoiced != paid:
            problems.append(
                f"order #{order.pk}: invoices − credit notes {invoiced} != "
                f"payments − refunds {paid}"
            )
    return problems, f"orders: {count} settled orders invoiced as paid"


def verify_drawer_over_short() -> tuple[list[str], str]:
    """Every closed drawer: over/short = counted − expected, and the journal
    holds exactly that on 6200 cash over/short (none when it is zero)."""
    problems: list[str] = []
    booked: dict[str, Decimal] = {}
    for ref, dr, cr in JournalLine.objects.filter(
        entry__reference_type="drawer_session", account__code=CASH_OVER_SHORT
    ).values_list("entry__reference_id", "debit", "credit"):
        booked[ref] = booked.get(ref, Decimal(0)) + cr - dr  # over is a credit
    sessions = DrawerSession.objects.filter(status=DrawerSession.Status.CLOSED).order_by("pk")
    count = 0
    for s in sessions:
        count += 1
        name = f"drawer session #{s.pk} ({s.terminal_id and s.terminal.code})"
        if s.counted_total is None or s.expected_cash is None or s.over_short is None:
            problems.append(f"drawers: {name} is closed without counted/expected cash")
            continue
        if s.counted_total - s.expected_cash != s.over_short:
            problems.append(
                f"drawers: {name}: counted {s.counted_total} − expected {s.expected_cash} != "
                f"over/short {s.over_short}"
            )
        in_books = booked.get(str(s.pk), Decimal(0)).quantize(CENT)
        if in_books != s.over_short:
            problems.append(
                f"drawers: {name}: over/short {s.over_short} but the journal books {in_books}"
            )
    return problems, f"drawers: {count} closed drawers with over/short booked"


def inventory_ledger_value() -> Decimal:
    """The value the stock ledger moved into and out of own stock (stores,
    warehouses, goods in transit) from and to suppliers, customers, scrap and
    adjustments, each move at the unit cost it carried: what the inventory
    account must hold."""
    kinds = dict(Location.objects.values_list("pk", "kind"))
    outside = {pk for pk, kind in kinds.items() if kind in Location.VIRTUAL}
    total = Decimal(0)
    moves = StockMove.objects.filter(unit_cost__isnull=False).values_list(
        "from_location_id", "to_location_id", "quantity", "unit_cost"
    )
    for source, target, quantity, unit_cost in moves.iterator(5000):
        if (source in outside) == (target in outside):
            continue
        value = quantity * unit_cost
        total += value if source in outside else -value
    return total


def verify_inventory_account() -> tuple[list[str], str]:
    """The journal's 1300 inventory = the stock ledger's value of what left
    own stock for customers, scrap and adjustments and came back
    (`inventory_ledger_value`): every sale, invoice, return, count and
    write-off booked its goods at the moves' cost. Each entry rounds to the
    cent, so up to half a cent per entry may separate them."""
    rows = JournalLine.objects.filter(account__code=INVENTORY).values_list(
        "entry_id", "debit", "credit"
    )
    booked = Decimal(0)
    entries: set[int] = set()
    for entry_id, debit, credit in rows.iterator(5000):
        booked += debit - credit
        entries.add(entry_id)
    ledger = inventory_ledger_value()
    problems = []
    if abs(booked - ledger) > CENT / 2 * max(len(entries), 1):
        problems.append(
            f"inventory: the journal's {INVENTORY} holds {booked.quantize(CENT)} but the stock "
            f"ledger moved {ledger.quantize(CENT)} in and out of stock"
        )
    return problems, (f"inventory: {INVENTORY} in {len(entries)} entries matches the stock ledger")
