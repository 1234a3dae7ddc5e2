"""Back office for payments: viewable under their order and on their own.

Payments sit above orders in the layers, so this module extends the order
admin with the payments inline instead of orders importing payments.
"""

from __future__ import annotations

from django.contrib import admin

from omniretail.core.admin_scoping import (
    ReadOnlyAdminMixin,
    ReadOnlyTabularInline,
    StoreScopedAdminMixin,
)
from omniretail.orders.admin import OrderAdmin
from omniretail.orders.models import Order
from omniretail.payments.models import Payment


class PaymentInline(ReadOnlyTabularInline):
    model = Payment
    select_related = ("terminal__store",)
    fields = (
        "created_at",
        "tender",
        "amount",
        "tendered",
        "change",
        "rounding",
        "currency",
        "terminal",
    )


class OrderWithPaymentsAdmin(OrderAdmin):
    inlines = (*OrderAdmin.inlines, PaymentInline)


admin.site.unregister(Order)
admin.site.register(Order, OrderWithPaymentsAdmin)


@admin.register(Payment)
class PaymentAdmin(StoreScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    store_lookups = ("order__store",)
    store_permission = "orders.read"
    list_display = (
        "created_at",
        "order",
        "tender",
        "amount",
        "tendered",
        "change",
        "currency",
        "terminal",
    )
    list_filter = (
        "tender",
        "order__channel__kind",
        ("order__store", admin.RelatedOnlyFieldListFilter),
        ("terminal", admin.RelatedOnlyFieldListFilter),
    )
    list_select_related = ("order__channel", "terminal__store")
    search_fields = ("order__id__exact", "order__external_id")
    date_hierarchy = "created_at"
