from __future__ import annotations

from collections.abc import Iterable

from omniretail.inventory.models import Location, StockLevel


def store_location(*, store_id: int) -> Location | None:
    """The selling location of a store (its shop floor)."""
    return (
        Location.objects.filter(store_id=store_id, kind=Location.Kind.STORE, active=True)
        .order_by("pk")
        .first()
    )


def stock_on_hand(*, sku_ids: Iterable[int], location_id: int) -> dict[int, int]:
    rows = StockLevel.objects.filter(sku_id__in=list(sku_ids), location_id=location_id)
    return dict(rows.values_list("sku_id", "on_hand"))
