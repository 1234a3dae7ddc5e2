from __future__ import annotations

from decimal import Decimal

from django.http import HttpRequest
from ninja import Router, Schema

from omniretail.catalog.models import Variant
from omniretail.core.access import require
from omniretail.core.api_auth import request_actor
from omniretail.core.errors import NotFound

router = Router(tags=["catalog"])


class VariantOut(Schema):
    id: int
    sku: str
    barcode: str | None
    product: str
    name: str
    price: Decimal
    tax_rate: Decimal
    active: bool


def _out(v: Variant) -> VariantOut:
    return VariantOut(
        id=v.pk,
        sku=v.sku,
        barcode=v.barcode,
        product=v.product.name,
        name=v.name,
        price=v.price,
        tax_rate=v.product.tax_class.rate,
        active=v.active,
    )


@router.get("/variants", response=list[VariantOut])
def variants_search(request: HttpRequest, q: str = "", limit: int = 50) -> list[VariantOut]:
    """Find SKUs by barcode, SKU or product name."""
    require(request_actor(request), "catalog.read")
    qs = Variant.objects.select_related("product__tax_class").filter(active=True)
    if q:
        exact = qs.filter(barcode=q) | qs.filter(sku=q)
        qs = exact if exact.exists() else qs.filter(product__name__icontains=q)
    return [_out(v) for v in qs.order_by("sku")[: max(1, min(limit, 200))]]


@router.get("/variants/{code}", response=VariantOut)
def variant_get(request: HttpRequest, code: str) -> VariantOut:
    """One SKU by its SKU code or barcode (what a scanner reads)."""
    require(request_actor(request), "catalog.read")
    variant = (
        Variant.objects.select_related("product__tax_class").filter(barcode=code).first()
        or Variant.objects.select_related("product__tax_class").filter(sku=code).first()
    )
    if variant is None:
        raise NotFound(f"No SKU or barcode {code!r}; check the code.", field="code")
    return _out(variant)
