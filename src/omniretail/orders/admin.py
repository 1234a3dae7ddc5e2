"""Back office for orders from every channel: viewable, never edited here.

An order changes only through its state machine's services; payments show
under it (payments/admin.py adds their inline, since payments sits above
orders in the layers).
"""

from __future__ import annotations

from django.contrib import admin

from omniretail.core.admin_scoping import (
    ReadOnlyAdminMixin,
    ReadOnlyTabularInline,
    StoreScopedAdminMixin,
)
from omniretail.orders.models import Order, OrderLine


class OrderLineInline(ReadOnlyTabularInline):
    model = OrderLine
    select_related = ("sku__product",)
    fields = (
        "line_no",
        "sku",
        "description",
        "quantity",
        "unit_price",
        "tax_rate",
        "net",
        "tax",
        "gross",
    )


@admin.register(Order)
class OrderAdmin(StoreScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    store_permission = "orders.read"
    list_display = (
        "__str__",
        "placed_at",
        "channel",
        "store",
        "terminal",
        "customer",
        "status",
        "total_gross",
        "currency",
        "external_id",
    )
    list_display_links = ("__str__",)
    list_filter = (
        "status",
        "channel__kind",
        ("channel", admin.RelatedOnlyFieldListFilter),
        ("store", admin.RelatedOnlyFieldListFilter),
    )
    list_select_related = ("channel", "store", "terminal__store", "customer")
    search_fields = (
        "id__exact",
        "external_id",
        "customer__email",
        "customer__last_name",
        "=customer__loyalty_card",
    )
    date_hierarchy = "placed_at"
    fieldsets = (
        (None, {"fields": ("channel", "external_id", "status", "placed_at", "created_by")}),
        ("Where and who", {"fields": ("store", "terminal", "customer")}),
        ("Totals", {"fields": ("currency", "total_net", "total_tax", "total_gross")}),
    )
    inlines = (OrderLineInline,)


@admin.register(OrderLine)
class OrderLineAdmin(StoreScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Lines across orders: what sold, where (search a SKU)."""

    store_lookups = ("order__store",)
    store_permission = "orders.read"
    list_display = ("order", "line_no", "sku", "description", "quantity", "unit_price", "gross")
    list_filter = (
        "order__channel__kind",
        ("order__store", admin.RelatedOnlyFieldListFilter),
    )
    list_select_related = ("order__channel", "sku__product")
    search_fields = ("sku__sku", "=sku__barcode", "description", "order__id__exact")
    date_hierarchy = "order__placed_at"


# Returns register themselves on import.
from omniretail.orders import admin_returns  # noqa: E402, F401
