"""Back office for pricing: price lists (with their price history inline),
promotions, coupons, campaigns and source codes.

A price is never overwritten: an entry added in the list page goes through
`price_set`, which closes the price in force and opens the new one.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.forms import BaseFormSet
from django.http import HttpRequest

from omniretail.core.admin_scoping import admin_actor
from omniretail.pricing.models import (
    Campaign,
    Coupon,
    CouponRedemption,
    PriceList,
    PriceListEntry,
    Promotion,
    SourceCode,
)
from omniretail.pricing.services import price_set


class PriceListEntryInline(admin.TabularInline):
    model = PriceListEntry
    extra = 1
    fields = ("variant", "price", "valid_from", "valid_to", "created_at")
    readonly_fields = ("created_at",)
    autocomplete_fields = ("variant",)
    can_delete = False
    ordering = ("variant__sku", "-valid_from")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # History rows are closed by price_set, never edited by hand.
        return False


@admin.register(PriceList)
class PriceListAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "channel", "store", "customer_group", "currency", "priority")
    list_filter = ("active", "currency", "channel", "store", "customer_group")
    search_fields = ("code", "name")
    inlines = [PriceListEntryInline]

    def save_formset(
        self, request: HttpRequest, form: Any, formset: BaseFormSet, change: bool
    ) -> None:
        if formset.model is not PriceListEntry:
            super().save_formset(request, form, formset, change)
            return
        for entry in formset.save(commit=False):
            if entry.pk is None:
                price_set(
                    price_list=form.instance,
                    variant=entry.variant,
                    price=entry.price,
                    valid_from=entry.valid_from,
                    valid_to=entry.valid_to,
                    actor=admin_actor(request),
                    reason="back office",
                )


@admin.register(PriceListEntry)
class PriceListEntryAdmin(admin.ModelAdmin):
    list_display = ("price_list", "variant", "price", "valid_from", "valid_to", "created_at")
    list_filter = ("price_list",)
    list_select_related = ("price_list", "variant")
    search_fields = ("variant__sku", "price_list__code")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "valid_from", "valid_to")
    search_fields = ("code", "name")


@admin.register(SourceCode)
class SourceCodeAdmin(admin.ModelAdmin):
    list_display = ("code", "campaign", "active")
    list_filter = ("active", "campaign")
    search_fields = ("code",)


@admin.register(Promotion)
class PromotionAdmin(admin.ModelAdmin):
    list_display = (
        "code", "name", "kind", "value", "target", "priority", "exclusive",
        "coupon_required", "campaign", "valid_from", "valid_to", "active",
    )  # fmt: skip
    list_filter = ("active", "kind", "target", "exclusive", "coupon_required", "campaign")
    search_fields = ("code", "name")
    filter_horizontal = ("variants", "products", "categories", "channels", "customer_groups")


class CouponRedemptionInline(admin.TabularInline):
    model = CouponRedemption
    extra = 0
    fields = ("customer", "order_type", "order_id", "created_at")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Coupon)
class CouponAdmin(admin.ModelAdmin):
    list_display = ("code", "promotion", "uses", "max_uses", "per_customer_limit", "valid_to")
    list_filter = ("active", "promotion")
    search_fields = ("code",)
    readonly_fields = ("uses",)
    inlines = [CouponRedemptionInline]
