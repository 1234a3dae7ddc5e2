from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Q

from omniretail.catalog.models import Variant


def variants_by_code(
    *, skus: Iterable[str] = (), barcodes: Iterable[str] = ()
) -> dict[str, Variant]:
    """Resolve SKUs and barcodes in one query; keys are the codes as given."""
    skus, barcodes = set(skus), set(barcodes)
    if not skus and not barcodes:
        return {}
    found = Variant.objects.select_related("product__tax_class").filter(
        Q(sku__in=skus) | Q(barcode__in=barcodes)
    )
    result: dict[str, Variant] = {}
    for variant in found:
        if variant.sku in skus:
            result[variant.sku] = variant
        if variant.barcode in barcodes:
            result[variant.barcode] = variant
    return result
