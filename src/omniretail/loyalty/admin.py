"""Back office for loyalty: programmes and earning rules are edited here;
ledgers and balances are read-only (they change only through the services).
A gift card shows its last four characters only: the code is never stored."""

from __future__ import annotations

from django.contrib import admin

from omniretail.core.admin_scoping import (
    ReadOnlyAdminMixin,
    ReadOnlyTabularInline,
    StoreScopedAdminMixin,
)
from omniretail.loyalty.models import (
    EarningRule,
    GiftCard,
    GiftCardEntry,
    LoyaltyAccount,
    LoyaltyEntry,
    LoyaltyProgram,
    StoreCreditAccount,
    StoreCreditEntry,
)


class EarningRuleInline(admin.TabularInline):
    model = EarningRule
    extra = 0
    fields = ("group", "points_per_unit")


@admin.register(LoyaltyProgram)
class LoyaltyProgramAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "currency", "point_value", "expiry_days", "active")
    inlines = [EarningRuleInline]


class LoyaltyEntryInline(ReadOnlyTabularInline):
    model = LoyaltyEntry
    fields = (
        "created_at",
        "kind",
        "points",
        "amount",
        "reference_type",
        "reference_id",
        "remaining",
        "expires_at",
        "reason",
        "actor_label",
    )
    ordering = ("-created_at", "-id")


@admin.register(LoyaltyAccount)
class LoyaltyAccountAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("customer", "program", "balance", "created_at")
    list_select_related = ("customer", "program")
    search_fields = ("customer__email", "customer__last_name", "=customer__loyalty_card")
    fields = ("customer", "program", "balance", "created_at")
    readonly_fields = fields
    inlines = [LoyaltyEntryInline]


@admin.register(LoyaltyEntry)
class LoyaltyEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "created_at",
        "account",
        "kind",
        "points",
        "amount",
        "reference_type",
        "reference_id",
        "remaining",
        "expires_at",
    )
    list_filter = ("kind",)
    list_select_related = ("account__customer", "account__program")
    search_fields = ("=reference_id", "account__customer__email")
    date_hierarchy = "created_at"


class GiftCardEntryInline(ReadOnlyTabularInline):
    model = GiftCardEntry
    fk_name = "card"
    fields = (
        "created_at",
        "kind",
        "amount",
        "reference_type",
        "reference_id",
        "refunded",
        "reason",
        "actor_label",
    )
    ordering = ("-created_at", "-id")


@admin.register(GiftCard)
class GiftCardAdmin(StoreScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    store_lookups = ("store",)
    store_permission = "loyalty.read"
    list_display = (
        "masked",
        "currency",
        "initial_value",
        "balance",
        "status",
        "sold",
        "expires_at",
        "store",
        "issued_at",
    )
    list_filter = ("status", "sold", "currency")
    search_fields = ("=last4",)
    date_hierarchy = "issued_at"
    # Never the hash either: it would let anyone holding it test guesses offline.
    fields = (
        "masked",
        "currency",
        "initial_value",
        "balance",
        "status",
        "sold",
        "expires_at",
        "store",
        "issued_at",
    )
    readonly_fields = fields
    inlines = [GiftCardEntryInline]

    @admin.display(description="card")
    def masked(self, obj: GiftCard) -> str:
        return f"…{obj.last4}"


class StoreCreditEntryInline(ReadOnlyTabularInline):
    model = StoreCreditEntry
    fk_name = "account"
    fields = (
        "created_at",
        "kind",
        "source",
        "amount",
        "reference_type",
        "reference_id",
        "reason",
        "actor_label",
    )
    ordering = ("-created_at", "-id")


@admin.register(StoreCreditAccount)
class StoreCreditAccountAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("customer", "currency", "balance", "created_at")
    list_select_related = ("customer",)
    search_fields = ("customer__email", "customer__last_name")
    fields = ("customer", "currency", "balance", "created_at")
    readonly_fields = fields
    inlines = [StoreCreditEntryInline]
