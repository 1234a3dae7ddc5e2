"""Back-office customer pages (mounted at /backoffice/customers/, namespace
`backoffice_customers`): search by e-mail, phone, card or name; one customer
with their purchases from every channel, loyalty balances and consents; and
the staff verbs (merge a duplicate, export the data, erase the person).

Here, in channels, because a customer's page reads orders and loyalty,
which the customers app (layer 1) cannot import. Pages parse and call one
service; the services check permissions (reading: orders.read; merge,
export, erase: store managers and admins).
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied as HttpForbidden
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from omniretail.core.access import Actor, actor_for_user
from omniretail.core.errors import DomainError
from omniretail.customers.domain import CONSENT_PURPOSES, phone_display
from omniretail.customers.models import Customer
from omniretail.customers.selectors import READ_PERMISSION, consent_state, customer_search
from omniretail.customers.services import (
    REASON_MAX,
    STAFF_PERMISSION,
    customer_consent_record,
    customer_erase,
    customer_merge,
)
from omniretail.loyalty.selectors import loyalty_summary
from omniretail.orders.customer_history import customer_export, customer_history

SEARCH_LIMIT = 25


def _actor(request: HttpRequest) -> Actor:
    actor = actor_for_user(request.user)
    if not actor.can(READ_PERMISSION):
        raise HttpForbidden("Your roles do not include reading customers; ask a store manager.")
    return actor


def _customer(customer_id: int) -> Customer:
    customer = Customer.objects.select_related("group").filter(pk=customer_id).first()
    if customer is None:
        raise Http404(f"No customer #{customer_id}.")
    return customer


def _detail_url(customer_id: int) -> str:
    return reverse("backoffice_customers:detail", args=[customer_id])


@staff_member_required
@require_GET
def customer_list(request: HttpRequest) -> HttpResponse:
    """Search customers by e-mail, phone (any format), loyalty card or name."""
    actor = _actor(request)
    query = request.GET.get("q", "").strip()
    found = customer_search(query=query, actor=actor, limit=SEARCH_LIMIT) if query else []
    rows = [
        {
            "customer": c,
            "phone": phone_display(c.phone_e164) if c.phone_e164 else c.phone,
        }
        for c in found
    ]
    context = {
        **admin.site.each_context(request),
        "title": "Customers",
        "query": query,
        "rows": rows,
        "limit": SEARCH_LIMIT,
    }
    return render(request, "backoffice/customers/list.html", context)


@staff_member_required
@require_GET
def customer_detail(request: HttpRequest, customer_id: int) -> HttpResponse:
    """One customer: details, consents, loyalty, purchases in every channel."""
    actor = _actor(request)
    customer = _customer(customer_id)
    if customer.merged_into_id is not None:
        messages.info(
            request,
            f"Customer #{customer.pk} was merged into customer #{customer.merged_into_id}; "
            "this is the record kept.",
        )
        return HttpResponseRedirect(_detail_url(customer.merged_into_id))
    loyalty = (
        loyalty_summary(customer_id=customer.pk, actor=actor) if actor.can("loyalty.read") else None
    )
    can_manage = actor.can(STAFF_PERMISSION)
    context = {
        **admin.site.each_context(request),
        "title": str(customer) or f"Customer #{customer.pk}",
        "customer": customer,
        "phone": phone_display(customer.phone_e164) if customer.phone_e164 else customer.phone,
        "consents": consent_state(customer),
        "history": customer_history(customer=customer, actor=actor),
        "loyalty": loyalty,
        "duplicates": list(customer.merged_from.order_by("pk")),
        "can_manage": can_manage and customer.erased_at is None,
        "can_export": can_manage,
        "can_record_consent": customer.erased_at is None
        and (can_manage or actor.can("sale.create") or actor.can("orders.intake")),
        "reason_max": REASON_MAX,
    }
    return render(request, "backoffice/customers/detail.html", context)


def _run(request: HttpRequest, customer_id: int, action: Any, done: str) -> HttpResponse:
    """Run one service; a refusal is shown as it is and changes nothing."""
    try:
        action()
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done)
    return HttpResponseRedirect(_detail_url(customer_id))


@staff_member_required
@require_POST
def customer_merge_action(request: HttpRequest, customer_id: int) -> HttpResponse:
    actor = _actor(request)
    keep = _customer(customer_id)
    raw = request.POST.get("duplicate", "").strip().lstrip("#")
    if not raw.isdigit():
        messages.error(request, "Duplicate: type the number of the customer to merge, e.g. 42.")
        return HttpResponseRedirect(_detail_url(keep.pk))
    duplicate = Customer.objects.filter(pk=int(raw)).first()
    if duplicate is None:
        messages.error(request, f"Duplicate: there is no customer #{raw}; check the number.")
        return HttpResponseRedirect(_detail_url(keep.pk))
    return _run(
        request,
        keep.pk,
        lambda: customer_merge(
            keep=keep, duplicate=duplicate, actor=actor, reason=request.POST.get("reason", "")
        ),
        f"Customer #{duplicate.pk} was merged into this customer: orders, points and store "
        "credit follow.",
    )


@staff_member_required
@require_POST
def customer_erase_action(request: HttpRequest, customer_id: int) -> HttpResponse:
    actor = _actor(request)
    customer = _customer(customer_id)
    if request.POST.get("confirm") != "yes":
        messages.error(request, "Tick the box to confirm: an erasure cannot be undone.")
        return HttpResponseRedirect(_detail_url(customer.pk))
    return _run(
        request,
        customer.pk,
        lambda: customer_erase(
            customer=customer, actor=actor, reason=request.POST.get("reason", "")
        ),
        f"Customer #{customer.pk} was erased; receipts and invoices are unchanged.",
    )


@staff_member_required
@require_POST
def customer_consents_action(request: HttpRequest, customer_id: int) -> HttpResponse:
    actor = _actor(request)
    customer = _customer(customer_id)
    consents = {purpose: request.POST.get(purpose) == "on" for purpose in CONSENT_PURPOSES}
    source = request.POST.get("source", "").strip() or "back office"
    return _run(
        request,
        customer.pk,
        lambda: customer_consent_record(
            customer=customer, consents=consents, actor=actor, source=source
        ),
        "Consents recorded.",
    )


@staff_member_required
@require_GET
def customer_export_download(request: HttpRequest, customer_id: int) -> HttpResponse:
    """The customer's data as a JSON file (audit-logged)."""
    actor = _actor(request)
    customer = _customer(customer_id)
    try:
        data = customer_export(customer=customer, actor=actor)
    except DomainError as exc:
        raise HttpForbidden(exc.message)
    response = HttpResponse(
        json.dumps(data, indent=2, ensure_ascii=False), content_type="application/json"
    )
    response["Content-Disposition"] = (
        f'attachment; filename="customer-{data["customer"]["id"]}.json"'
    )
    return response
