"""Fiscal documents and the books. Reacts to events inside the transaction
that causes them (see omniretail.wiring): nothing imports this app."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from omniretail.accounting.domain import (
    ACCOUNTS_RECEIVABLE,
    CARD_CLEARING,
    CASH,
    CASH_ROUNDING,
    CHECKS_TO_DEPOSIT,
    COST_OF_GOODS_SOLD,
    DEFAULT_CHART,
    EXCHANGE_CREDIT,
    GIFT_CARD_LIABILITY,
    INVENTORY,
    INVENTORY_SHRINKAGE,
    LOYALTY_LIABILITY,
    OFFLINE_SHORTFALL,
    SALES,
    STORE_CREDIT_LIABILITY,
    VAT_PAYABLE,
    Posting,
    postings_balanced,
    postings_net,
)
from omniretail.accounting.models import Account, JournalEntry, JournalLine, Receipt
from omniretail.core.errors import ValidationFailed
from omniretail.core.models import Company, OutboxEvent, Terminal
from omniretail.core.series import series_take
from omniretail.inventory.models import StockMove
from omniretail.orders.models import Order, OrderLine
from omniretail.payments.models import Payment


def accounts_ensure_default() -> dict[str, Account]:
    existing = {a.code: a for a in Account.objects.all()}
    missing = [
        Account(code=code, name=name, type=kind)
        for code, name, kind in DEFAULT_CHART
        if code not in existing
    ]
    if missing:
        Account.objects.bulk_create(missing, ignore_conflicts=True)
        existing = {a.code: a for a in Account.objects.all()}
    return existing


def journal_post(
    *,
    date: Any,
    description: str,
    reference_type: str,
    reference_id: str,
    currency: str,
    postings: list[Posting],
    channel_id: int | None = None,
    store_id: int | None = None,
) -> JournalEntry:
    """Post one balanced entry; an unbalanced one is a bug and is refused."""
    lines = postings_net(postings)
    if not lines or not postings_balanced(lines):
        raise ValidationFailed(
            f"journal entry for {reference_type} {reference_id} does not balance",
            code="unbalanced",
        )
    accounts = accounts_ensure_default()
    entry = JournalEntry.objects.create(
        date=date,
        description=description,
        reference_type=reference_type,
        reference_id=reference_id,
        channel_id=channel_id,
        store_id=store_id,
        currency=currency,
    )
    JournalLine.objects.bulk_create(
        [
            JournalLine(entry=entry, account=accounts[p.account], debit=p.debit, credit=p.credit)
            for p in lines
        ]
    )
    return entry


def _money(value: Decimal) -> str:
    return format(value, "f")


def receipt_issue(*, order: Order, terminal: Terminal, payments: list[Payment]) -> Receipt:
    """Number, chain and store the receipt of a paid POS order. The number is
    taken now, at posting, in the sale's transaction."""
    order_lines = list(order.lines.select_related("sku").order_by("line_no"))
    lines = [
        {
            "line_no": line.line_no,
            "sku": line.sku.sku,
            "description": line.description,
            "quantity": line.quantity,
            "unit_price": _money(line.unit_price),
            "tax_rate": _money(line.tax_rate),
            "net": _money(line.net),
            "tax": _money(line.tax),
            "gross": _money(line.gross),
            **(
                {
                    "list_price": _money(line.list_price or line.unit_price),
                    "discount": _money(line.discount),
                    "discounts": [d.get("reason", "") for d in line.discounts],
                }
                if line.discount
                else {}
            ),
        }
        for line in order_lines
    ]
    summary: dict[str, dict[str, Decimal]] = {}
    for line in order_lines:
        bucket = summary.setdefault(_money(line.tax_rate), {"net": Decimal(0), "tax": Decimal(0)})
        bucket["net"] += line.net
        bucket["tax"] += line.tax
    tax_summary = [
        {"rate": rate, "net": _money(v["net"]), "tax": _money(v["tax"])}
        for rate, v in sorted(summary.items())
    ]
    payment_rows = [
        {
            "tender": p.tender,
            "amount": _money(p.amount),
            "tendered": _money(p.tendered),
            "change": _money(p.change),
            "rounding": _money(p.rounding),
            **({"card": f"{p.card_brand} …{p.card_last4}".strip()} if p.card_last4 else {}),
        }
        for p in payments
    ]
    receipt = Receipt(
        series_id=terminal.receipt_series_id,
        order=order,
        terminal=terminal,
        store_id=terminal.store_id,
        channel_id=order.channel_id,
        issued_at=timezone.now(),
        currency=order.currency,
        total_net=order.total_net,
        total_tax=order.total_tax,
        total_gross=order.total_gross,
        lines=lines,
        tax_summary=tax_summary,
        payments=payment_rows,
    )

    def fields_for(number: int, full_number: str, previous_hash: str) -> Mapping[str, Any]:
        receipt.number, receipt.full_number = number, full_number
        return receipt.hash_fields()

    numbered = series_take(series_id=terminal.receipt_series_id, fields_for=fields_for)
    receipt.previous_hash, receipt.hash = numbered.previous_hash, numbered.hash
    receipt.save(force_insert=True)
    return receipt


def order_cost_of_goods(*, order_id: int) -> Decimal:
    """Cost of the goods that left stock for an order, at the moving average
    cost each move carried (inventory's valuation)."""
    total = Decimal(0)
    for quantity, unit_cost in StockMove.objects.filter(
        reference_type="order", reference_id=str(order_id), unit_cost__isnull=False
    ).values_list("quantity", "unit_cost"):
        total += quantity * (unit_cost or Decimal(0))
    return total.quantize(Decimal("0.01"))


# Where each tender's money is when a sale is paid with it.
TENDER_ACCOUNTS: dict[str, str] = {
    "cash": CASH,
    "card": CARD_CLEARING,
    "gift_card": GIFT_CARD_LIABILITY,
    "store_credit": STORE_CREDIT_LIABILITY,
    "loyalty": LOYALTY_LIABILITY,
    "check": CHECKS_TO_DEPOSIT,
    "on_account": ACCOUNTS_RECEIVABLE,
    "offline_short": OFFLINE_SHORTFALL,
    "exchange_credit": EXCHANGE_CREDIT,  # returned goods paying for their replacement
}


def tender_account(tender: str) -> str:
    account = TENDER_ACCOUNTS.get(tender)
    if account is None:
        raise ValidationFailed(f"no account for tender {tender!r}", code="unknown_tender")
    return account


@dataclass(frozen=True)
class Vouchers:
    net: Decimal = Decimal(0)
    tax: Decimal = Decimal(0)
    gross: Decimal = Decimal(0)


def sale_vouchers(*, order_id: int) -> Vouchers:
    """What an order's gift card lines add up to (they are booked as the
    gift card liability, not as sales)."""
    totals = OrderLine.objects.filter(order_id=order_id, sku__product__kind="gift_card").aggregate(
        net=Sum("net"), tax=Sum("tax"), gross=Sum("gross")
    )
    return Vouchers(*(totals[k] or Decimal(0) for k in ("net", "tax", "gross")))


def sale_book(*, order: Order, payments: list[Payment], reference: str) -> JournalEntry:
    """Dr each tender's account (cash, card clearing, the gift card, store
    credit or points liability it used up, checks, receivables); Cr sales
    (net, by channel) and VAT; cash rounding apart."""
    postings: list[Posting] = []
    for p in payments:
        postings.append(Posting(tender_account(p.tender), debit=p.amount + p.rounding))
        if p.rounding:
            postings.append(Posting(CASH_ROUNDING, credit=p.rounding))
    # Gift cards sold are a liability until redeemed, not revenue (no VAT).
    vouchers = sale_vouchers(order_id=order.pk)
    postings.append(Posting(GIFT_CARD_LIABILITY, credit=vouchers.gross))
    postings.append(Posting(SALES, credit=order.total_net - vouchers.net))
    postings.append(Posting(VAT_PAYABLE, credit=order.total_tax - vouchers.tax))
    cost = order_cost_of_goods(order_id=order.pk)
    if cost:
        postings.append(Posting(COST_OF_GOODS_SOLD, debit=cost))
        postings.append(Posting(INVENTORY, credit=cost))
    return journal_post(
        date=timezone.localdate(order.placed_at),
        description=f"Sale {reference}",
        reference_type="order",
        reference_id=str(order.pk),
        currency=order.currency,
        postings=postings,
        channel_id=order.channel_id,
        store_id=order.store_id,
    )


def on_sale_completed(event: OutboxEvent) -> None:
    """In-transaction handler of `sale.completed`: the receipt and the books."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("sale.completed must be handled inside the sale's transaction")
    order = Order.objects.select_related("terminal").get(pk=event.payload["order_id"])
    if order.terminal is None:
        raise ValidationFailed(
            "a carry-out sale needs the terminal that rang it up", field="terminal"
        )
    payments = list(order.payments.order_by("pk"))
    receipt = receipt_issue(order=order, terminal=order.terminal, payments=payments)
    sale_book(order=order, payments=payments, reference=receipt.full_number)


def on_stock_adjusted(event: OutboxEvent) -> None:
    """In-transaction handler of `stock.adjusted`: write-offs and finds move
    value between inventory and shrinkage."""
    payload = event.payload
    shrinkage = Decimal(payload["value_lost"]) - Decimal(payload["value_found"])
    if not shrinkage:
        return  # what was lost elsewhere was found here: the stock value is unchanged
    journal_post(
        date=timezone.localdate(),
        description=f"Stock adjustment: {payload['reason'] or payload['reference_type']}",
        reference_type=payload["reference_type"] or "adjustment",
        reference_id=payload["reference_id"],
        currency=Company.objects.values_list("currency", flat=True).first() or "EUR",
        postings=[
            Posting(INVENTORY_SHRINKAGE, debit=shrinkage)
            if shrinkage > 0
            else Posting(INVENTORY_SHRINKAGE, credit=-shrinkage),
            Posting(INVENTORY, credit=shrinkage)
            if shrinkage > 0
            else Posting(INVENTORY, debit=-shrinkage),
        ],
        store_id=payload["store_id"],
    )
