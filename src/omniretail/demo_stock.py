"""The demo retailer's inventory set-up beyond opening stock: suppliers with
reorder rules at the warehouse, a gift-set kit, and products sold on
backorder and pre-order. Idempotent like the rest of `omni demo`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from omniretail.catalog.models import KitComponent, Product, TaxClass, Variant
from omniretail.catalog.services import VariantSpec, product_create
from omniretail.core.access import SYSTEM
from omniretail.inventory.models import Location, ReorderRule, Supplier
from omniretail.inventory.services.purchasing import reorder_rule_set, supplier_create

# code, name, e-mail, lead time (days), the category codes it supplies
SUPPLIERS = (
    (
        "atelier-lin",
        "Atelier du Lin (Lille)",
        "orders@atelier-lin.example",
        10,
        ("tops", "bottoms", "dresses", "knitwear", "outerwear", "nightwear", "accessories"),
    ),
    (
        "faience-sud",
        "Faïencerie du Sud (Aubagne)",
        "commandes@faience-sud.example",
        14,
        ("table", "pantry"),
    ),
    (
        "maison-textile",
        "Maison Textile (Roubaix)",
        "sales@maison-textile.example",
        7,
        ("bed-bath", "decor", "candles", "books"),
    ),
)
RULES_PER_SUPPLIER = 24
KIT = ("gift-cosy-evening", "Cosy Evening Gift Set", "GIFT-COSY", Decimal("59.90"))
BACKORDER_PRODUCTS = 3
PREORDER_PRODUCTS = 2

Tally = Any  # demo.Tally; typed loosely to keep this module independent of demo.py


def suppliers_ensure(tally: Tally) -> dict[str, tuple[Supplier, tuple[str, ...]]]:
    existing = {s.code: s for s in Supplier.objects.filter(code__in=[s[0] for s in SUPPLIERS])}
    result = {}
    for code, name, email, lead_time, categories in SUPPLIERS:
        supplier = existing.get(code)
        if supplier is None:
            supplier = supplier_create(
                code=code, name=name, email=email, lead_time_days=lead_time, actor=SYSTEM
            )
        tally.add("suppliers", created=int(code not in existing), existing=int(code in existing))
        result[code] = (supplier, categories)
    return result


def reorder_rules_ensure(
    suppliers: dict[str, tuple[Supplier, tuple[str, ...]]],
    warehouse: Location,
    sku_costs: dict[int, Decimal],
    tally: Tally,
) -> None:
    """Reorder points at the warehouse for the best sellers of each supplier:
    reorder when 5 or fewer are left, 24 at a time."""
    ruled = set(ReorderRule.objects.filter(location=warehouse).values_list("sku_id", flat=True))
    for supplier, categories in suppliers.values():
        skus = list(
            Variant.objects.filter(
                product__category__code__in=categories, active=True, components__isnull=True
            )
            .select_related("product")
            .order_by("pk")[:RULES_PER_SUPPLIER]
        )
        for sku in skus:
            if sku.pk in ruled:
                tally.add("reorder rules", existing=1)
                continue
            reorder_rule_set(
                sku=sku,
                location=warehouse,
                supplier=supplier,
                reorder_point=5,
                reorder_quantity=24,
                unit_cost=sku_costs.get(sku.pk),
                actor=SYSTEM,
            )
            tally.add("reorder rules", created=1)


def kit_ensure(tax_classes: dict[str, TaxClass], tally: Tally) -> None:
    """A gift set of two mugs and a candle; selling it consumes them."""
    code, name, sku, price = KIT
    if Product.objects.filter(code=code).exists():
        tally.add("kits", existing=1)
        return
    mug = _first("MUG", "table")
    candle = _first("CANDLE", "candles")
    if mug is None or candle is None:
        tally.notes.append("kit: no mug or candle in this catalogue, skipped")
        return
    product_create(
        code=code,
        name=name,
        tax_class=tax_classes["standard"],
        variants=[VariantSpec(sku, "2 mugs + 1 candle", price)],
        description="Two stoneware mugs and a scented candle, gift-boxed.",
        actor=SYSTEM,
    )
    kit = Variant.objects.get(sku=sku)
    KitComponent.objects.bulk_create(
        [
            KitComponent(kit=kit, component=mug, quantity=2),
            KitComponent(kit=kit, component=candle, quantity=1),
        ]
    )
    tally.add("kits", created=1)


def _first(sku_part: str, category: str) -> Variant | None:
    return (
        Variant.objects.filter(sku__contains=sku_part, product__category__code=category)
        .order_by("pk")
        .first()
    )


def stock_policies_ensure(today: Callable[[], dt.date], tally: Tally) -> None:
    """A few knitwear products are sold on backorder; the autumn coats are
    taken as pre-orders with an expected date."""
    _set_policy("knitwear", "backorder", None, BACKORDER_PRODUCTS, tally)
    _set_policy("outerwear", "preorder", today() + dt.timedelta(days=21), PREORDER_PRODUCTS, tally)


def _set_policy(
    category: str, policy: str, expected: dt.date | None, count: int, tally: Tally
) -> None:
    products: Sequence[Product] = list(
        Product.objects.filter(category__code=category).order_by("pk")[:count]
    )
    changed = [p.pk for p in products if p.stock_policy != policy]
    if changed:
        Product.objects.filter(pk__in=changed).update(stock_policy=policy, expected_date=expected)
    tally.add(f"{policy} products", created=len(changed), existing=len(products) - len(changed))
