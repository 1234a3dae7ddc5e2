"""What the till reads: its own settings, the catalog and customers it keeps
offline (with incremental change feeds), customer cards, pick-ups waiting in
the store and orders to take back."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Q

from omniretail.accounting.models import Receipt
from omniretail.catalog.models import Category, Variant
from omniretail.catalog.selectors import variants_by_code
from omniretail.channels.models import TerminalAllowance
from omniretail.channels.pos.till import discount_limits
from omniretail.core.access import Actor, require
from omniretail.core.errors import ValidationFailed
from omniretail.core.models import NumberSeries, Terminal
from omniretail.customers.models import Customer
from omniretail.fulfilment.models import Shipment
from omniretail.inventory.selectors import store_location
from omniretail.loyalty.models import LoyaltyProgram
from omniretail.orders.models import Order


def _money(value: Decimal) -> str:
    return format(value, "f")


def terminal_profile(*, terminal: Terminal) -> dict[str, Any]:
    """Everything a paired till needs to start: who it is, where, its receipt
    series head (to number offline sales), discount limits, offline allowance."""
    series = NumberSeries.objects.get(pk=terminal.receipt_series_id)
    company = terminal.store.company
    allowance = TerminalAllowance.objects.filter(terminal=terminal).first()
    limits = {role: str(v) for role, v in discount_limits().items()}
    floor = store_location(store_id=terminal.store_id)
    program = LoyaltyProgram.objects.filter(currency=company.currency, active=True).first()
    return {
        "terminal": terminal.code,
        "name": terminal.name,
        "store": terminal.store.code,
        "store_name": terminal.store.name,
        "store_address": terminal.store.address,
        "channel": terminal.channel.code,
        "location": floor.code if floor else None,
        "currency": company.currency,
        "company": company.name,
        "tax_id": company.tax_id,
        "prices_include_tax": company.prices_include_tax,
        "cash_rounding_step": _money(company.cash_rounding_step),
        "receipt_series": {
            "prefix": series.prefix,
            "padding": series.padding,
            "next_number": series.next_number,
            "head_hash": series.head_hash,
        },
        "max_discount_percent": limits,
        "offline_allowance": {
            "gift_card_amount": _money(
                allowance.gift_card_amount if allowance else Decimal("100.00")
            ),
            "points": allowance.points if allowance else 5000,
        },
        # What one point pays, to count the points a loyalty tender spends offline.
        "loyalty_point_value": format(program.point_value.normalize(), "f") if program else None,
    }


# --- incremental feeds -----------------------------------------------------------
#
# Neither variants nor customers carry an "updated at", so a feed's cursor is
# "<last id>.<digest of every row up to that id>": when the rows the till
# already holds are unchanged only newer rows are sent; when any of them
# changed (a price, a barcode, a name) the whole set comes again with
# reset=true. An unchanged store transfers nothing but the cursor.


@dataclass(frozen=True)
class Feed:
    cursor: str
    reset: bool
    rows: list[dict[str, Any]]


def _feed(rows: list[dict[str, Any]], cursor: str | None) -> Feed:
    def digest(upto: int) -> str:
        h = hashlib.sha256()
        for row in rows:
            if row["id"] <= upto:
                h.update(json.dumps(row, sort_keys=True, default=str).encode())
        return h.hexdigest()[:32]

    last = rows[-1]["id"] if rows else 0
    now_cursor = f"{last}.{digest(last)}"
    if cursor:
        head, _, seen_digest = cursor.partition(".")
        if not head.isdigit() or not seen_digest:
            raise ValidationFailed(
                "cursor: send back the cursor of the last answer, or none for everything.",
                field="cursor",
            )
        seen = int(head)
        if digest(seen) == seen_digest:
            return Feed(now_cursor, False, [r for r in rows if r["id"] > seen])
    return Feed(now_cursor, True, rows)


def _category_chains() -> dict[int, list[int]]:
    parents = dict(Category.objects.values_list("pk", "parent_id"))
    chains: dict[int, list[int]] = {}
    for start in parents:
        chain: list[int] = []
        seen: set[int] = set()
        current: int | None = start
        while current is not None and current not in seen:
            seen.add(current)
            chain.append(current)
            current = parents.get(current)
        chains[start] = chain
    return chains


def catalog_feed(*, actor: Actor, store_id: int, cursor: str | None) -> Feed:
    """Sellable variants with barcodes, base prices and what the pricing
    engine needs (product, categories, tax class)."""
    require(actor, "catalog.read", store_id=store_id)
    chains = _category_chains()
    rows = [
        {
            "id": v.pk,
            "sku": v.sku,
            "barcode": v.barcode or "",
            "name": f"{v.product.name} {v.name}".strip(),
            "product_id": v.product_id,
            "category_ids": chains.get(v.product.category_id, []) if v.product.category_id else [],
            "tax_class": v.product.tax_class.code,
            "tax_rate": _money(v.product.tax_class.rate),
            "price": _money(v.price),
            "active": v.active and v.product.active,
        }
        for v in Variant.objects.select_related("product__tax_class").order_by("pk")
    ]
    return _feed(rows, cursor)


def customer_row(c: Customer) -> dict[str, Any]:
    return {
        "id": c.pk,
        "name": f"{c.first_name} {c.last_name}".strip(),
        "email": c.email or "",
        "phone": c.phone,
        "loyalty_card": c.loyalty_card or "",
        "group": c.group.code if c.group else None,
    }


def customers_feed(*, actor: Actor, store_id: int, cursor: str | None) -> Feed:
    """The customers this store needs offline: card holders and everyone who
    bought here."""
    require(actor, "orders.read", store_id=store_id)
    bought_here = Order.objects.filter(store_id=store_id).values("customer_id")
    qs = (
        Customer.objects.select_related("group")
        .filter(Q(loyalty_card__isnull=False) | Q(pk__in=bought_here))
        .order_by("pk")
    )
    return _feed([customer_row(c) for c in qs], cursor)


def customers_search(*, actor: Actor, store_id: int, q: str, limit: int = 20) -> list[dict]:
    """By name, e-mail, phone or loyalty card (any part, any case)."""
    require(actor, "orders.read", store_id=store_id)
    words = q.split()
    if not words:
        raise ValidationFailed("q: type part of a name, e-mail, phone or card.", field="q")
    qs = Customer.objects.select_related("group")
    for word in words:
        qs = qs.filter(
            Q(first_name__icontains=word)
            | Q(last_name__icontains=word)
            | Q(email__icontains=word)
            | Q(phone__icontains=word)
            | Q(loyalty_card__iexact=word)
        )
    return [customer_row(c) for c in qs.order_by("last_name", "first_name", "pk")[:limit]]


def customer_history(*, actor: Actor, customer_id: int, limit: int = 20) -> list[dict]:
    """The customer's orders on every channel, newest first."""
    require(actor, "orders.read")
    orders = (
        Order.objects.select_related("channel", "store")
        .filter(customer_id=customer_id)
        .order_by("-placed_at", "-pk")[:limit]
    )
    receipts = dict(
        Receipt.objects.filter(order__in=[o.pk for o in orders]).values_list(
            "order_id", "full_number"
        )
    )
    return [
        {
            "order_id": o.pk,
            "channel": o.channel.code,
            "channel_kind": o.channel.kind,
            "store": o.store.code if o.store else None,
            "placed_at": o.placed_at.isoformat(),
            "status": o.status,
            "total_gross": _money(o.total_gross),
            "currency": o.currency,
            "receipt_number": receipts.get(o.pk),
        }
        for o in orders
    ]


def pickups_waiting(*, actor: Actor, store_id: int) -> list[dict]:
    """Pick-up bags ready at this store's counter, oldest first."""
    require(actor, "orders.read", store_id=store_id)
    shipments = (
        Shipment.objects.select_related("order__customer", "order__channel")
        .prefetch_related("lines__order_line")
        .filter(
            kind=Shipment.Kind.PICKUP, status=Shipment.Status.READY, location__store_id=store_id
        )
        .order_by("ready_at", "pk")
    )
    out = []
    for s in shipments:
        customer = s.order.customer
        out.append(
            {
                "number": s.number,
                "order_id": s.order_id,
                "channel": s.order.channel.code,
                "external_id": s.order.external_id,
                "customer": f"{customer.first_name} {customer.last_name}".strip()
                if customer
                else "",
                "ready_at": s.ready_at.isoformat() if s.ready_at else None,
                "expires_at": s.pickup_expires_at.isoformat() if s.pickup_expires_at else None,
                "lines": [
                    {"description": ln.order_line.description, "quantity": ln.quantity}
                    for ln in s.lines.all()
                ],
            }
        )
    return out


def orders_find(*, actor: Actor, q: str, limit: int = 10) -> list[dict]:
    """Orders to take back, from any channel: by receipt number (as printed
    or scanned), order id (#12), the channel's order number, or customer."""
    require(actor, "orders.read")
    text = q.strip()
    if not text:
        raise ValidationFailed(
            "q: scan the receipt or type an order number or a customer's name.", field="q"
        )
    match = Q(receipt__full_number__iexact=text) | Q(external_id=text)
    digits = text.lstrip("#")
    if digits.isdigit():
        match |= Q(pk=int(digits))
    if len(text) >= 3:
        match |= (
            Q(customer__email__iexact=text)
            | Q(customer__last_name__icontains=text)
            | Q(customer__loyalty_card__iexact=text)
        )
    orders = list(
        Order.objects.select_related("channel", "customer")
        .prefetch_related("lines__sku", "payments")
        .filter(match)
        .order_by("-placed_at", "-pk")[:limit]
    )
    receipts = dict(
        Receipt.objects.filter(order__in=[o.pk for o in orders]).values_list(
            "order_id", "full_number"
        )
    )
    return [
        {
            "order_id": o.pk,
            "channel": o.channel.code,
            "external_id": o.external_id,
            "receipt_number": receipts.get(o.pk),
            "customer": f"{o.customer.first_name} {o.customer.last_name}".strip()
            if o.customer
            else "",
            "placed_at": o.placed_at.isoformat(),
            "status": o.status,
            "currency": o.currency,
            "total_gross": _money(o.total_gross),
            "tenders": sorted({p.tender for p in o.payments.all()}),
            "lines": [
                {
                    "line_id": ln.pk,
                    "sku": ln.sku.sku,
                    "description": ln.description,
                    "quantity": ln.quantity,
                    "returnable": max(ln.quantity_fulfilled - ln.quantity_returned, 0),
                    "gross": _money(ln.gross),
                }
                for ln in sorted(o.lines.all(), key=lambda ln: ln.line_no)
            ],
        }
        for o in orders
    ]


def replacement_lines_resolve(
    *, lines: list[tuple[str | None, str | None, int]]
) -> list[tuple[int, int]]:
    """(sku, barcode, quantity) of goods handed over in an exchange → (variant
    id, quantity), or one error naming every unknown code."""
    found = variants_by_code(
        skus=[sku for sku, _, _ in lines if sku],
        barcodes=[code for _, code, _ in lines if code],
    )
    errors: list[dict[str, str]] = []
    out: list[tuple[int, int]] = []
    for i, (sku, barcode, quantity) in enumerate(lines):
        code = sku or barcode
        if bool(sku) == bool(barcode):
            errors.append(
                {"field": f"replacement_lines[{i}]", "message": "give a sku or a barcode"}
            )
        elif code not in found:
            errors.append(
                {
                    "field": f"replacement_lines[{i}].{'sku' if sku else 'barcode'}",
                    "message": f"unknown code {code!r}; scan the item again",
                }
            )
        else:
            out.append((found[code].pk, quantity))
    if errors:
        first = errors[0]
        raise ValidationFailed(
            f"{first['field']}: {first['message']}", field=first["field"], errors=errors
        )
    return out
