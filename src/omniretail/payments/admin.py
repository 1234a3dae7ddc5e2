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
from omniretail.payments.models import (
    DrawerMovement,
    DrawerSession,
    Payment,
    Refund,
    WebhookEvent,
    ZReport,
)


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
    inlines = (*OrderAdmin.inlines, PaymentInline)  # type: ignore[assignment]


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
        "status",
        "card_brand",
        "card_last4",
    )
    list_filter = (
        "tender",
        "status",
        "order__channel__kind",
        ("order__store", admin.RelatedOnlyFieldListFilter),
        ("terminal", admin.RelatedOnlyFieldListFilter),
    )
    list_select_related = ("order__channel", "terminal__store")
    search_fields = ("order__id__exact", "order__external_id")
    date_hierarchy = "created_at"


class RefundInline(ReadOnlyTabularInline):
    model = Refund
    fields = ("created_at", "tender", "amount", "status", "reason", "requested_by", "approved_by")


@admin.register(Refund)
class RefundAdmin(StoreScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    store_lookups = ("payment__order__store",)
    store_permission = "orders.read"
    list_display = ("created_at", "payment", "tender", "amount", "status", "reason", "approved_by")
    list_filter = ("tender", "status")
    list_select_related = ("payment", "approved_by")


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("received_at", "gateway", "event_id", "type", "outcome", "payment", "detail")
    list_filter = ("gateway", "type", "outcome")
    search_fields = ("event_id", "reference")


class DrawerMovementInline(ReadOnlyTabularInline):
    model = DrawerMovement
    fields = ("created_at", "kind", "amount", "reason", "actor_label")


@admin.register(DrawerSession)
class DrawerSessionAdmin(StoreScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    store_lookups = ("store",)
    store_permission = "drawer.read"
    list_display = (
        "opened_at",
        "terminal",
        "status",
        "float_amount",
        "expected_cash",
        "counted_total",
        "over_short",
        "closed_at",
    )
    list_filter = ("status", ("terminal", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("terminal__store",)
    inlines = (DrawerMovementInline,)
    date_hierarchy = "opened_at"


@admin.register(ZReport)
class ZReportAdmin(StoreScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    store_lookups = ("store",)
    store_permission = "drawer.read"
    list_display = (
        "full_number",
        "issued_at",
        "terminal",
        "net_sales",
        "expected_cash",
        "counted_total",
        "over_short",
        "grand_total",
    )
    list_filter = (("terminal", admin.RelatedOnlyFieldListFilter),)
    list_select_related = ("terminal__store",)
    search_fields = ("full_number",)
    date_hierarchy = "issued_at"
