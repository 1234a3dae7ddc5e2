"""A sale at a store's till: one transaction from scan to books."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from uuid import UUID

from django.db import transaction

from omniretail.accounting.models import Receipt
from omniretail.accounting.selectors import receipt_for_order
from omniretail.catalog.models import Variant
from omniretail.catalog.selectors import variants_by_code
from omniretail.core.access import Actor, require
from omniretail.core.errors import Conflict, ValidationFailed
from omniretail.core.events import event_publish
from omniretail.core.models import Terminal
from omniretail.core.money import Money
from omniretail.inventory.domain import kit_expand
from omniretail.inventory.models import Location
from omniretail.inventory.selectors import kit_components, store_location
from omniretail.inventory.services import (
    MoveSpec,
    NegativeStock,
    location_virtual,
    stock_moves_post,
)
from omniretail.orders.domain import LineInput, lines_price
from omniretail.orders.events import SaleCompleted
from omniretail.orders.models import Order
from omniretail.orders.services import DuplicateExternalId, order_record_carry_out
from omniretail.payments.domain import TenderInput
from omniretail.payments.services import payments_record, payments_settle


@dataclass(frozen=True)
class SaleLine:
    quantity: int
    sku: str | None = None
    barcode: str | None = None


@dataclass(frozen=True)
class Tender:
    type: str
    amount: Decimal


@dataclass(frozen=True)
class SaleResult:
    order: Order
    receipt: Receipt
    change: Money
    replayed: bool = False
    negative_stock: list[str] = field(default_factory=list)


def _resolve_lines(lines: list[SaleLine]) -> tuple[list[tuple[int, int]], dict]:
    """(variant id, quantity) per line, or one error naming every bad line."""
    if not lines:
        raise ValidationFailed("A sale needs at least one line; scan an item.", field="lines")
    errors: list[dict[str, str]] = []
    for i, line in enumerate(lines):
        if bool(line.sku) == bool(line.barcode):
            errors.append(
                {"field": f"lines[{i}]", "message": "give either a sku or a barcode, not both"}
            )
        if not isinstance(line.quantity, int) or line.quantity <= 0:
            errors.append(
                {
                    "field": f"lines[{i}].quantity",
                    "message": f"quantity must be a whole number above 0 (got {line.quantity}); "
                    "use a return to take items back",
                }
            )
    found = variants_by_code(
        skus=[line.sku for line in lines if line.sku],
        barcodes=[line.barcode for line in lines if line.barcode],
    )
    resolved: list[tuple[int, int]] = []
    for i, line in enumerate(lines):
        code = line.sku or line.barcode
        if not code:
            continue
        variant = found.get(code)
        label = "sku" if line.sku else "barcode"
        if variant is None:
            errors.append(
                {
                    "field": f"lines[{i}].{label}",
                    "message": f"unknown {label} {code!r}; check the code or look the item up "
                    "by name",
                }
            )
        elif not variant.active:
            errors.append(
                {"field": f"lines[{i}].{label}", "message": f"{code!r} is no longer sold"}
            )
        else:
            resolved.append((variant.pk, line.quantity))
    if errors:
        first = errors[0]
        raise ValidationFailed(
            f"{first['field']}: {first['message']}"
            + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""),
            field=first["field"],
            errors=errors,
        )
    return resolved, {v.pk: v for v in found.values()}


@transaction.atomic
def pos_sale_record(
    *,
    terminal: Terminal,
    client_uuid: UUID,
    lines: list[SaleLine],
    tenders: list[Tender],
    actor: Actor,
    customer_id: int | None = None,
) -> SaleResult:
    """Ring up a carry-out sale: order, stock store → customer, payments,
    then (in the same transaction, through `sale.completed`) the numbered,
    chained receipt and the journal entry. A retry with the same client UUID
    returns the first sale. Refused input changes nothing."""
    require(actor, "sale.create", store_id=terminal.store_id)
    if actor.terminal_id is not None and actor.terminal_id != terminal.pk:
        raise Conflict(
            "This key belongs to another terminal; sell from the terminal the key was issued for.",
            field="terminal",
            code="forbidden",
        )
    if not terminal.active:
        raise Conflict(f"Terminal {terminal.code} is deactivated.", field="terminal")
    company = terminal.store.company
    resolved, variants = _resolve_lines(lines)
    priced, totals = lines_price(
        [
            LineInput(
                sku_id=sku_id,
                quantity=qty,
                unit_price=variants[sku_id].price,
                tax_rate=variants[sku_id].product.tax_class.rate,
            )
            for sku_id, qty in resolved
        ],
        currency=company.currency,
        prices_include_tax=company.prices_include_tax,
    )
    settlements = payments_settle(
        due=totals.gross,
        tenders=[TenderInput(t.type, Money(t.amount, company.currency)) for t in tenders],
        cash_rounding_step=company.cash_rounding_step,
    )
    shop_floor = store_location(store_id=terminal.store_id)
    if shop_floor is None:
        raise Conflict(
            f"Store {terminal.store.code} has no store location to sell from; create one.",
            field="terminal",
        )
    try:
        order = order_record_carry_out(
            channel=terminal.channel,
            external_id=str(client_uuid),
            terminal=terminal,
            customer_id=customer_id,
            lines=priced,
            variants=variants,
            totals=totals,
            actor=actor,
        )
    except DuplicateExternalId as dup:
        return _result_of(dup.order, replayed=True)
    # A kit leaves as its components; the kit itself holds no stock.
    customer = location_virtual(Location.Kind.CUSTOMER)
    goods = kit_expand([(line.sku_id, line.quantity) for line in priced], kit_components(variants))
    negatives = stock_moves_post(
        moves=[MoveSpec(sku_id, shop_floor.pk, customer.pk, qty) for sku_id, qty in goods],
        actor=actor,
        reference_type="order",
        reference_id=str(order.pk),
        reason="POS sale",
        allow_negative=True,  # the goods are in the customer's hands: the ledger was wrong
    )
    payments_record(order=order, terminal=terminal, settlements=settlements)
    event_publish(
        SaleCompleted(
            order_id=order.pk,
            channel_id=order.channel_id,
            store_id=order.store_id,
            terminal_id=terminal.pk,
            total_gross=str(order.total_gross),
            currency=order.currency,
        )
    )
    receipt = receipt_for_order(order_id=order.pk)
    if receipt is None:
        raise RuntimeError("sale.completed was not handled: check omniretail.wiring")
    change = sum((s.change for s in settlements), Money.zero(company.currency))
    return SaleResult(
        order=order,
        receipt=receipt,
        change=change,
        negative_stock=_negative_report(negatives, shop_floor),
    )


def sale_load(*, order_id: int, actor: Actor) -> SaleResult | None:
    """A POS sale with its receipt, for the stores the actor may see."""
    order = Order.objects.select_related("channel").filter(pk=order_id).first()
    if order is None or order.terminal_id is None:
        return None
    require(actor, "orders.read", store_id=order.store_id)
    return _result_of(order, replayed=False)


def _result_of(order: Order, *, replayed: bool) -> SaleResult:
    receipt = receipt_for_order(order_id=order.pk)
    if receipt is None:
        raise Conflict("This sale exists without a receipt; call support.", code="inconsistent")
    change = sum((p.change for p in order.payments.all()), Decimal(0))
    return SaleResult(order, receipt, Money(change, order.currency), replayed=replayed)


def _negative_report(negatives: list[NegativeStock], location: Location) -> list[str]:
    """Levels a sale took below zero: the ledger was wrong, flag it to the store."""
    if not negatives:
        return []
    codes = dict(
        Variant.objects.filter(pk__in=[n.sku_id for n in negatives]).values_list("pk", "sku")
    )
    return [f"{codes[n.sku_id]} at {location.code}: {n.on_hand}" for n in negatives]
