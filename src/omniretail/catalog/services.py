from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction

from omniretail.catalog.domain import barcode_normalise
from omniretail.catalog.models import Category, Product, TaxClass, Variant
from omniretail.core.access import SYSTEM, Actor, require
from omniretail.core.audit import audit_record
from omniretail.core.errors import ValidationFailed


@dataclass(frozen=True)
class VariantSpec:
    sku: str
    name: str
    price: Decimal
    barcode: str | None = None
    attributes: dict[str, str] = field(default_factory=dict)


@transaction.atomic
def product_create(
    *,
    code: str,
    name: str,
    tax_class: TaxClass,
    variants: list[VariantSpec],
    category: Category | None = None,
    brand: str = "",
    description: str = "",
    actor: Actor = SYSTEM,
    kind: str = Product.Kind.GOODS,
) -> Product:
    """Create a product with its SKUs; every barcode is checked first so a bad
    one changes nothing. `kind` "gift_card": a voucher sold at face value,
    issued as a card when paid (no stock; give it a 0 % tax class)."""
    if kind not in Product.Kind.values:
        raise ValidationFailed(
            f"kind must be one of {', '.join(Product.Kind.values)} (got {kind!r}).", field="kind"
        )
    require(actor, "catalog.write")
    if not variants:
        raise ValidationFailed(
            "A product needs at least one variant (SKU); add one.", field="variants"
        )
    rows = []
    for i, spec in enumerate(variants):
        if spec.price < 0:
            raise ValidationFailed(
                f"variants[{i}].price is negative; enter a price of 0 or more.",
                field=f"variants[{i}].price",
            )
        barcode = None
        if spec.barcode:
            try:
                barcode = barcode_normalise(spec.barcode)
            except ValueError as exc:
                raise ValidationFailed(str(exc), field=f"variants[{i}].barcode")
        rows.append((spec, barcode))
    product = Product.objects.create(
        code=code,
        name=name,
        tax_class=tax_class,
        category=category,
        brand=brand,
        description=description,
        kind=kind,
    )
    Variant.objects.bulk_create(
        [
            Variant(
                product=product,
                sku=spec.sku,
                name=spec.name,
                price=spec.price,
                barcode=barcode,
                attributes=spec.attributes,
            )
            for spec, barcode in rows
        ]
    )
    audit_record(actor=actor, action="product.create", object_type="product", object_id=product.pk)
    return product
