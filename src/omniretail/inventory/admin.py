"""Back office for stock: locations, cached levels and the append-only ledger.

Levels and moves are read-only here: every change of stock is a move made by
a service (receive, sell, transfer, count), so stock stays conserved.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from omniretail.core.admin_scoping import ReadOnlyAdminMixin, StoreScopedAdminMixin
from omniretail.inventory.models import (
    ChannelLocation,
    Location,
    Reservation,
    SkuValuation,
    StockLevel,
    StockMove,
)


@admin.register(Location)
class LocationAdmin(StoreScopedAdminMixin, admin.ModelAdmin):
    store_permission = "stock.read"
    list_display = ("code", "name", "kind", "store", "active")
    list_filter = ("kind", "active", ("store", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("store",)
    search_fields = ("code", "name")

    def get_readonly_fields(self, request: HttpRequest, obj: Location | None = None) -> Any:
        # Moves and levels point at a location; what and where it is stays fixed.
        return ("code", "kind", "store") if obj else ()


@admin.register(StockLevel)
class StockLevelAdmin(StoreScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    store_lookups = ("location__store",)
    store_permission = "stock.read"
    list_display = ("sku", "product_name", "location", "on_hand", "reserved", "available")
    list_filter = (
        "location__kind",
        ("location__store", admin.RelatedOnlyFieldListFilter),
        ("location", admin.RelatedOnlyFieldListFilter),
    )
    list_select_related = ("sku__product", "location")
    search_fields = ("sku__sku", "=sku__barcode", "sku__product__name", "location__code")
    ordering = ("location__code", "sku__sku")

    @admin.display(description="product", ordering="sku__product__name")
    def product_name(self, obj: StockLevel) -> str:
        return f"{obj.sku.product.name} {obj.sku.name}"


@admin.register(StockMove)
class StockMoveAdmin(StoreScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    store_lookups = ("from_location__store", "to_location__store")
    store_permission = "stock.read"
    list_display = (
        "created_at",
        "sku",
        "quantity",
        "from_location",
        "to_location",
        "reference_type",
        "reference_id",
        "reason",
        "actor_label",
    )
    list_filter = (
        "reference_type",
        "from_location__kind",
        "to_location__kind",
        ("from_location", admin.RelatedOnlyFieldListFilter),
        ("to_location", admin.RelatedOnlyFieldListFilter),
    )
    list_select_related = ("sku__product", "from_location", "to_location")
    search_fields = ("sku__sku", "=sku__barcode", "=reference_id", "reason", "actor_label")
    date_hierarchy = "created_at"


@admin.register(Reservation)
class ReservationAdmin(StoreScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Holds change through the reservation services (reserve, release,
    fulfil, expire) so `reserved` always equals the active holds."""

    store_lookups = ("location__store",)
    store_permission = "stock.read"
    list_display = (
        "created_at",
        "sku",
        "location",
        "quantity",
        "status",
        "demand_type",
        "demand_id",
        "channel",
        "expires_at",
        "expected_date",
    )
    list_filter = ("status", "demand_type", ("channel", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("sku", "location", "channel")
    search_fields = ("sku__sku", "demand_id")
    date_hierarchy = "created_at"


@admin.register(ChannelLocation)
class ChannelLocationAdmin(admin.ModelAdmin):
    """Which locations each channel sells from, by priority, with the units
    kept back for walk-in customers."""

    list_display = ("channel", "location", "priority", "safety_buffer")
    list_filter = (("channel", admin.RelatedOnlyFieldListFilter),)
    list_select_related = ("channel", "location")
    list_editable = ("priority", "safety_buffer")


@admin.register(SkuValuation)
class SkuValuationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("sku", "average_cost", "updated_at")
    list_select_related = ("sku",)
    search_fields = ("sku__sku",)


# Documents of their own modules register themselves on import.
from omniretail.inventory import admin_purchasing, admin_transfers  # noqa: E402, F401
