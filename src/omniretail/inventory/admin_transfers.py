"""Back office for transfers and cycle counts: viewable, never edited here.

A transfer or count changes only through its services (ship, receive,
close, post), which move stock and write the audit log; an edit in the admin
would do neither. Rows are scoped to the stores the user may read stock in
(a transfer is visible from either end).
"""

from __future__ import annotations

from django.contrib import admin

from omniretail.core.admin_scoping import (
    ReadOnlyAdminMixin,
    ReadOnlyTabularInline,
    StoreScopedAdminMixin,
)
from omniretail.inventory.models import StockCount, StockCountLine, Transfer, TransferLine


class TransferLineInline(ReadOnlyTabularInline):
    model = TransferLine
    fields = ("sku", "quantity", "quantity_received", "quantity_lost", "discrepancy_note")
    select_related = ("sku__product",)


@admin.register(Transfer)
class TransferAdmin(StoreScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    store_lookups = ("from_location__store", "to_location__store")
    store_permission = "stock.read"
    list_display = (
        "number",
        "status",
        "from_location",
        "to_location",
        "created_by",
        "created_at",
        "shipped_at",
        "closed_at",
    )
    list_filter = (
        "status",
        ("from_location", admin.RelatedOnlyFieldListFilter),
        ("to_location", admin.RelatedOnlyFieldListFilter),
    )
    list_select_related = ("from_location", "to_location")
    search_fields = ("=number", "note", "created_by")
    date_hierarchy = "created_at"
    fields = (
        "number",
        "status",
        "from_location",
        "to_location",
        "note",
        "created_by",
        "created_at",
        "shipped_at",
        "closed_at",
    )
    readonly_fields = fields
    inlines = (TransferLineInline,)


class StockCountLineInline(ReadOnlyTabularInline):
    model = StockCountLine
    fields = ("sku", "expected", "counted", "difference")
    readonly_fields = fields
    select_related = ("sku__product",)

    @admin.display(description="difference")
    def difference(self, obj: StockCountLine) -> int | None:
        return None if obj.counted is None else obj.difference


@admin.register(StockCount)
class StockCountAdmin(StoreScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    store_lookups = ("location__store",)
    store_permission = "stock.read"
    list_display = (
        "number",
        "status",
        "location",
        "scope",
        "created_by",
        "created_at",
        "posted_at",
    )
    list_filter = ("status", ("location", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("location",)
    search_fields = ("=number", "reason", "created_by")
    date_hierarchy = "created_at"
    fields = (
        "number",
        "status",
        "location",
        "scope",
        "reason",
        "created_by",
        "created_at",
        "posted_at",
    )
    readonly_fields = fields
    inlines = (StockCountLineInline,)
