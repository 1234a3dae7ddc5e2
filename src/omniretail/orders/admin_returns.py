"""Back office for returns: viewable, never edited here (returns are made by
`orders.returns.return_accept`). Imported by orders/admin.py."""

from __future__ import annotations

from django.contrib import admin

from omniretail.core.admin_scoping import (
    ReadOnlyAdminMixin,
    ReadOnlyTabularInline,
    StoreScopedAdminMixin,
)
from omniretail.orders.models import Return, ReturnLine


class ReturnLineInline(ReadOnlyTabularInline):
    model = ReturnLine
    select_related = ("order_line__sku",)
    fields = ("order_line", "quantity", "condition", "reason", "refund_amount")


@admin.register(Return)
class ReturnAdmin(StoreScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Returns where they were taken back; a store sees the returns taken at
    its counter, whichever channel sold the goods. Returns by post (no store)
    show to roles over every store."""

    store_permission = "orders.read"
    list_display = (
        "number",
        "created_at",
        "order",
        "channel",
        "store",
        "location",
        "refund_method",
        "refund_amount",
        "currency",
        "status",
    )
    list_filter = (
        "status",
        "refund_method",
        ("store", admin.RelatedOnlyFieldListFilter),
        ("channel", admin.RelatedOnlyFieldListFilter),
    )
    list_select_related = ("order__channel", "channel", "store", "location")
    search_fields = ("number", "order__id__exact", "order__external_id", "order__customer__email")
    date_hierarchy = "created_at"
    fieldsets = (
        (None, {"fields": ("number", "order", "status", "created_at", "created_by")}),
        ("Where", {"fields": ("channel", "store", "location")}),
        (
            "Refund",
            {"fields": ("refund_method", "refund_amount", "currency", "reason")},
        ),
        ("Exchange", {"fields": ("replacement_order", "client_uuid")}),
    )
    readonly_fields = (
        "number",
        "order",
        "status",
        "created_at",
        "created_by",
        "channel",
        "store",
        "location",
        "refund_method",
        "refund_amount",
        "currency",
        "reason",
        "replacement_order",
        "client_uuid",
    )
    inlines = (ReturnLineInline,)
