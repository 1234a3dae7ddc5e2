"""Back office for fulfilment: routing decisions and shipments, viewable,
never edited here.

A shipment changes only through its verbs (fulfilment/shipping.py), which
move stock, update the order and write the audit log; the admin actions
below call them. Shipments are scoped to the stores in which the user may
fulfil orders (warehouse shipments: company-wide roles). The collection code
of a pick-up is never shown: only the customer should be able to collect.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from omniretail.core.admin_scoping import (
    ReadOnlyAdminMixin,
    ReadOnlyTabularInline,
    StoreScopedAdminMixin,
    admin_actor,
)
from omniretail.core.errors import DomainError
from omniretail.fulfilment.models import RoutingDecision, Shipment, ShipmentLine
from omniretail.fulfilment.shipping import pickup_ready, shipment_delivered, shipment_pack


@admin.register(RoutingDecision)
class RoutingDecisionAdmin(StoreScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Why each order is fulfilled from where it is."""

    store_lookups = ("order__store",)
    store_permission = "orders.read"
    list_display = ("order", "at", "rule", "reason")
    list_filter = ("rule",)
    list_select_related = ("order__channel",)
    search_fields = ("order__id__exact", "=order__external_id", "reason")
    date_hierarchy = "at"
    fields = ("order", "at", "rule", "reason", "plan", "backordered")
    readonly_fields = fields


class ShipmentLineInline(ReadOnlyTabularInline):
    model = ShipmentLine
    fields = ("order_line", "sku", "quantity")
    readonly_fields = fields
    select_related = ("order_line__sku",)

    @admin.display(description="SKU")
    def sku(self, obj: ShipmentLine) -> str:
        return obj.order_line.sku.sku


@admin.register(Shipment)
class ShipmentAdmin(StoreScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    store_lookups = ("location__store",)
    store_permission = "orders.fulfil"
    list_display = (
        "number",
        "order",
        "kind",
        "status",
        "location",
        "carrier",
        "tracking_number",
        "delivery_attempts",
        "pickup_expires_at",
        "created_at",
    )
    list_filter = ("status", "kind", ("location", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("order__channel", "location")
    search_fields = ("=number", "order__id__exact", "=order__external_id", "=tracking_number")
    date_hierarchy = "created_at"
    fields = (
        "number",
        "order",
        "kind",
        "status",
        "location",
        "carrier",
        "tracking_number",
        "delivery_attempts",
        "ready_at",
        "pickup_expires_at",
        "created_at",
        "updated_at",
    )
    readonly_fields = fields
    inlines = (ShipmentLineInline,)
    actions = ("pack_selected", "deliver_selected", "ready_selected")

    def _apply(
        self,
        request: HttpRequest,
        queryset: QuerySet[Any],
        done_label: str,
        verb: Callable[..., Shipment],
    ) -> None:
        actor = admin_actor(request)
        done: list[str] = []
        for shipment in queryset.order_by("pk"):
            try:
                verb(shipment=shipment, actor=actor)
            except DomainError as exc:
                messages.error(request, exc.message)
            else:
                done.append(shipment.number)
        if done:
            messages.success(request, f"{done_label}: {', '.join(done)}.")

    @admin.action(description="Pack selected shipments")
    def pack_selected(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        self._apply(request, queryset, "Packed", shipment_pack)

    @admin.action(description="Mark selected shipments delivered")
    def deliver_selected(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        self._apply(request, queryset, "Delivered", shipment_delivered)

    @admin.action(description="Make selected pick-ups ready (the customer gets a code)")
    def ready_selected(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        self._apply(request, queryset, "Ready for pick-up", pickup_ready)
