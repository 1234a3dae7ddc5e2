from django.contrib import admin

from .models import Cart, CartLine, ReturnRequest, ReturnRequestLine, ShippingMethod, ShopAccount


@admin.register(ShippingMethod)
class ShippingMethodAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "price", "active", "position")
    list_editable = ("price", "active", "position")


class CartLineInline(admin.TabularInline):
    model = CartLine
    extra = 0
    raw_id_fields = ("sku",)


@admin.register(Cart)
class CartAdmin(admin.ModelAdmin):
    """Read-only: carts change through the shop's services (holds follow)."""

    list_display = ("pk", "status", "customer", "holds_expire_at", "order", "updated_at")
    list_filter = ("status",)
    inlines = [CartLineInline]
    readonly_fields = ("token", "channel", "customer", "status", "coupon_codes", "order")

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(ShopAccount)
class ShopAccountAdmin(admin.ModelAdmin):
    list_display = ("user", "customer", "created_at")
    raw_id_fields = ("user", "customer")
    search_fields = ("user__username", "customer__email")


class ReturnRequestLineInline(admin.TabularInline):
    model = ReturnRequestLine
    extra = 0
    raw_id_fields = ("order_line",)


@admin.register(ReturnRequest)
class ReturnRequestAdmin(admin.ModelAdmin):
    """Accepted through `return_request_accept` (the returns desk), which
    books the return in orders; the admin shows the queue."""

    list_display = ("pk", "order", "customer", "status", "created_at", "return_number")
    list_filter = ("status",)
    inlines = [ReturnRequestLineInline]
    readonly_fields = ("order", "customer", "status", "return_number", "decided_by", "decided_at")
