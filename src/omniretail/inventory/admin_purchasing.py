"""Back office for buying: suppliers and reorder rules (master data, edited
here) and purchase orders (read-only here: drafts are made from the reorder
page or the API, and send, cancel and receive go through the services).

Imported by inventory/admin.py.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet, Sum
from django.http import HttpRequest

from omniretail.core.admin import adopt_created
from omniretail.core.admin_scoping import (
    ReadOnlyAdminMixin,
    ReadOnlyTabularInline,
    StoreScopedAdminMixin,
    admin_actor,
    visible_store_ids,
)
from omniretail.core.errors import DomainError
from omniretail.inventory.models import (
    Location,
    PurchaseOrder,
    PurchaseOrderLine,
    ReorderRule,
    Supplier,
)
from omniretail.inventory.services.purchasing import (
    purchase_order_cancel,
    purchase_order_send,
    reorder_rule_set,
)


@admin.register(Supplier)
class SupplierAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "email", "lead_time_days", "active")
    list_filter = ("active",)
    search_fields = ("code", "name", "email")

    def get_readonly_fields(self, request: HttpRequest, obj: Supplier | None = None) -> Any:
        # Orders and rules point at the supplier by code in exports and audits.
        return ("code",) if obj else ()


@admin.register(ReorderRule)
class ReorderRuleAdmin(StoreScopedAdminMixin, admin.ModelAdmin):
    """Saved through `reorder_rule_set`: permissions checked, audit-logged."""

    store_lookups = ("location__store",)
    store_permission = "stock.purchase"
    list_display = (
        "sku",
        "location",
        "supplier",
        "reorder_point",
        "reorder_quantity",
        "unit_cost",
    )
    list_filter = (
        ("location", admin.RelatedOnlyFieldListFilter),
        ("supplier", admin.RelatedOnlyFieldListFilter),
    )
    list_select_related = ("sku", "location", "supplier")
    search_fields = ("sku__sku", "=sku__barcode", "sku__product__name", "location__code")
    autocomplete_fields = ("sku",)
    ordering = ("location__code", "sku__sku")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = super().get_queryset(request)
        # Rows without a store (warehouses) only for roles that cover every store.
        if visible_store_ids(request, self.store_permission) is not None:
            queryset = queryset.filter(location__store__isnull=False)
        return queryset

    def get_readonly_fields(self, request: HttpRequest, obj: ReorderRule | None = None) -> Any:
        # A rule is the rule of one SKU at one location; for another, add one.
        return ("sku", "location") if obj else ()

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.related_model is Location:
            locations = Location.objects.filter(kind__in=Location.PHYSICAL, active=True)
            store_ids = visible_store_ids(request, self.store_permission)
            if store_ids is not None:
                locations = locations.filter(store_id__in=store_ids)
            kwargs["queryset"] = locations
        if db_field.related_model is Supplier:
            kwargs["queryset"] = Supplier.objects.filter(active=True)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: ReorderRule, form: Any, change: bool) -> None:
        rule = reorder_rule_set(
            sku=obj.sku,
            location=obj.location,
            supplier=obj.supplier,
            reorder_point=obj.reorder_point,
            reorder_quantity=obj.reorder_quantity,
            unit_cost=obj.unit_cost,
            actor=admin_actor(request),
        )
        adopt_created(obj, rule)


class PurchaseOrderLineInline(ReadOnlyTabularInline):
    model = PurchaseOrderLine
    fields = ("sku", "quantity_ordered", "quantity_received", "unit_cost", "over_received")
    select_related = ("sku",)


@admin.register(PurchaseOrder)
class PurchaseOrderAdmin(StoreScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    store_lookups = ("location__store",)
    store_permission = "stock.read"
    list_display = (
        "number",
        "supplier",
        "location",
        "status",
        "expected_date",
        "units_ordered",
        "units_received",
        "created_by",
        "created_at",
    )
    list_filter = (
        "status",
        ("supplier", admin.RelatedOnlyFieldListFilter),
        ("location", admin.RelatedOnlyFieldListFilter),
    )
    list_select_related = ("supplier", "location")
    search_fields = ("=number", "supplier__name", "supplier__code", "location__code")
    date_hierarchy = "created_at"
    inlines = (PurchaseOrderLineInline,)
    actions = ("send_selected", "cancel_selected")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = super().get_queryset(request)
        if visible_store_ids(request, self.store_permission) is not None:
            queryset = queryset.filter(location__store__isnull=False)
        return queryset.annotate(
            _ordered=Sum("lines__quantity_ordered"), _received=Sum("lines__quantity_received")
        )

    @admin.display(description="ordered", ordering="_ordered")
    def units_ordered(self, obj: Any) -> int:
        return obj._ordered or 0

    @admin.display(description="received", ordering="_received")
    def units_received(self, obj: Any) -> int:
        return obj._received or 0

    def _apply(
        self, request: HttpRequest, queryset: QuerySet[Any], verb: str, service: Any
    ) -> None:
        actor = admin_actor(request)
        done: list[str] = []
        for order in queryset.order_by("pk"):
            try:
                service(order=order, actor=actor)
            except DomainError as exc:
                messages.error(request, exc.message)
            else:
                done.append(order.number)
        if done:
            messages.success(request, f"{verb}: {', '.join(done)}.")

    @admin.action(description="Send selected drafts to the supplier")
    def send_selected(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        self._apply(request, queryset, "Sent", purchase_order_send)

    @admin.action(description="Cancel selected orders (only before goods arrive)")
    def cancel_selected(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        self._apply(request, queryset, "Cancelled", purchase_order_cancel)
