"""Back-office pages for stock work that is a workflow, not a record."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied as HttpForbidden
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_http_methods

from omniretail.core.access import actor_for_user
from omniretail.core.errors import DomainError
from omniretail.inventory.models import Location
from omniretail.inventory.selectors_purchasing import purchase_location_ids, reorder_proposals
from omniretail.inventory.services.purchasing import purchase_orders_propose


def _orders_changelist() -> str:
    try:
        return reverse("admin:inventory_purchaseorder_changelist") + "?status__exact=draft"
    except NoReverseMatch:  # purchase orders not registered in this admin site
        return reverse("inventory:reorder")


@staff_member_required
@require_http_methods(["GET", "POST"])
def reorder_page(request: HttpRequest) -> HttpResponse:
    """Reorder proposals for the locations the signed-in user buys for, and a
    button that turns them into draft purchase orders."""
    actor = actor_for_user(request.user)
    if not actor.can("stock.purchase"):
        raise HttpForbidden("Your roles do not include purchasing; ask a store manager.")
    location_ids = purchase_location_ids(actor=actor)

    if request.method == "POST":
        try:
            orders = purchase_orders_propose(actor=actor, location_ids=location_ids)
        except DomainError as exc:
            messages.error(request, exc.message)
            return HttpResponseRedirect(reverse("inventory:reorder"))
        if not orders:
            messages.info(request, "Nothing to order: every SKU is above its reorder point.")
            return HttpResponseRedirect(reverse("inventory:reorder"))
        numbers = ", ".join(order.number for order in orders)
        messages.success(
            request,
            f"Created {len(orders)} draft purchase order{'s' if len(orders) != 1 else ''}: "
            f"{numbers}. Check them and send them to the suppliers.",
        )
        return HttpResponseRedirect(_orders_changelist())

    proposals = reorder_proposals(location_ids=location_ids)
    locations = Location.objects.filter(kind__in=Location.PHYSICAL, active=True)
    if location_ids is not None:
        locations = locations.filter(pk__in=location_ids)
    context = {
        **admin.site.each_context(request),
        "title": "Reorder proposals",
        "proposals": proposals,
        "location_count": locations.count(),
        "orders_url": _orders_changelist(),
    }
    return render(request, "inventory/reorder.html", context)
