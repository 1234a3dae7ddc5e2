"""Back office for customers: one record across every channel. Merging,
erasing and consents go through the customer pages (services), never
through a plain edit here."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from omniretail.customers.models import ConsentEvent, Customer, CustomerGroup
from omniretail.customers.services import customer_fields_derive


@admin.register(CustomerGroup)
class CustomerGroupAdmin(admin.ModelAdmin):
    list_display = ("code", "name")
    search_fields = ("code", "name")


class ConsentEventInline(admin.TabularInline):
    model = ConsentEvent
    fields = ("at", "purpose", "granted", "channel", "source", "actor_label")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("__str__", "email", "phone", "loyalty_card", "group", "created_at")
    list_display_links = ("__str__",)
    search_fields = ("first_name", "last_name", "email", "phone", "phone_e164", "=loyalty_card")
    list_filter = ("group", ("merged_into", admin.EmptyFieldListFilter), "erased_at")
    date_hierarchy = "created_at"
    fields = (
        "first_name",
        "last_name",
        "email",
        "phone",
        "phone_e164",
        "loyalty_card",
        "group",
        "consent_marketing_email",
        "consent_marketing_sms",
        "consent_profiling",
        "merged_into",
        "merged_at",
        "erased_at",
        "created_at",
    )
    readonly_fields = (
        "phone_e164",
        "consent_marketing_email",
        "consent_marketing_sms",
        "consent_profiling",
        "merged_into",
        "merged_at",
        "erased_at",
        "created_at",
    )
    inlines = [ConsentEventInline]

    def save_model(self, request: HttpRequest, obj: Customer, form: Any, change: bool) -> None:
        customer_fields_derive(obj)
        super().save_model(request, obj, form, change)
