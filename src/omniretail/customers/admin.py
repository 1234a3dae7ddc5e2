"""Back office for customers: one record across every channel."""

from __future__ import annotations

from django.contrib import admin

from omniretail.customers.models import Customer, CustomerGroup


@admin.register(CustomerGroup)
class CustomerGroupAdmin(admin.ModelAdmin):
    list_display = ("code", "name")
    search_fields = ("code", "name")


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("__str__", "email", "phone", "loyalty_card", "group", "created_at")
    list_display_links = ("__str__",)
    search_fields = ("first_name", "last_name", "email", "phone", "=loyalty_card")
    list_filter = ("group",)
    date_hierarchy = "created_at"
    fields = ("first_name", "last_name", "email", "phone", "loyalty_card", "group", "created_at")
    readonly_fields = ("created_at",)
