"""Reads: finding the one customer, following merges, consent state."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Q

from omniretail.core.access import Actor, require
from omniretail.core.errors import NotFound
from omniretail.core.models import Company
from omniretail.customers.domain import (
    PhoneInvalid,
    looks_like_phone,
    phone_e164,
    query_words,
)
from omniretail.customers.models import ConsentEvent, Customer

READ_PERMISSION = "orders.read"  # whoever may read orders may look a customer up
SEARCH_MAX = 100
MERGE_HOPS = 10


def phone_region() -> str:
    """The region a phone number typed without its country code belongs to:
    settings.OMNI_DEFAULT_PHONE_REGION, else the company's country."""
    region = str(getattr(settings, "OMNI_DEFAULT_PHONE_REGION", "") or "")
    if region:
        return region.upper()
    country = Company.objects.order_by("pk").values_list("country", flat=True).first()
    return (country or "").upper()


def customer_resolve(customer: Customer) -> Customer:
    """The customer a record stands for: itself, or the customer a merged
    duplicate (a tombstone) was merged into."""
    seen = 0
    while customer.merged_into_id is not None and seen < MERGE_HOPS:
        customer = Customer.objects.select_related("group").get(pk=customer.merged_into_id)
        seen += 1
    return customer


def customer_get(*, customer_id: int, actor: Actor) -> Customer:
    """One customer by id; a merged duplicate's id leads to the customer kept."""
    require(actor, READ_PERMISSION)
    found = Customer.objects.select_related("group").filter(pk=customer_id).first()
    if found is None:
        raise NotFound(f"No customer #{customer_id}; check the id.", field="customer_id")
    return customer_resolve(found)


def customer_search(*, query: str, actor: Actor, limit: int = 20) -> list[Customer]:
    """Customers matching what was typed: an e-mail (any case), a phone number
    in any format ('06 12 34 56 78', '+33 6 12…'), a loyalty card number, or
    words of a name (any case, with or without accents). A merged duplicate
    found by its old details leads to the customer kept. Erased people are
    not found."""
    require(actor, READ_PERMISSION)
    text = (query or "").strip()[:200]
    if len(text) < 2:
        return []
    limit = max(1, min(limit, SEARCH_MAX))
    condition = Q(loyalty_card=text) | Q(loyalty_card=text.upper())
    if "@" in text:
        condition |= Q(email__icontains=text)
    if looks_like_phone(text):
        try:
            condition |= Q(phone_e164=phone_e164(text, phone_region()))
        except PhoneInvalid:
            digits = "".join(c for c in text if c.isdigit()).lstrip("0")
            if len(digits) >= 5:
                condition |= Q(phone_e164__contains=digits)
    words = query_words(text)
    if words:
        by_name = Q()
        for word in words:
            # Records written before search keys existed are matched on their fields.
            by_name &= Q(search_key__contains=word) | Q(
                Q(search_key="") & (Q(first_name__icontains=word) | Q(last_name__icontains=word))
            )
        condition |= by_name
    rows = (
        Customer.objects.filter(condition, erased_at__isnull=True)
        .select_related("group", "merged_into__group")
        .order_by("last_name", "first_name", "pk")[: limit * 2]
    )
    found: dict[int, Customer] = {}
    for row in rows:
        customer = row.merged_into if row.merged_into_id is not None else row
        assert customer is not None
        if customer.merged_into_id is not None:
            customer = customer_resolve(customer)
        if customer.erased_at is None:
            found.setdefault(customer.pk, customer)
    return sorted(found.values(), key=lambda c: (c.last_name, c.first_name, c.pk))[:limit]


@dataclass(frozen=True)
class ConsentState:
    purpose: str
    label: str
    granted: bool
    at: dt.datetime | None
    source: str
    channel: str


def consent_state(customer: Customer) -> list[ConsentState]:
    """Each purpose: granted or not, and when, where and through which
    channel the latest decision was given."""
    latest: dict[str, ConsentEvent] = {}
    for event in ConsentEvent.objects.filter(customer=customer).select_related("channel"):
        latest.setdefault(event.purpose, event)  # newest first (Meta.ordering)
    states = []
    for purpose, label in ConsentEvent.Purpose.choices:
        last = latest.get(purpose)
        states.append(
            ConsentState(
                purpose,
                str(label),
                bool(getattr(customer, f"consent_{purpose}")),
                last.at if last else None,
                last.source if last else "",
                last.channel.code if last and last.channel else "",
            )
        )
    return states


def consent_history(customer: Customer) -> list[ConsentEvent]:
    return list(ConsentEvent.objects.filter(customer=customer).select_related("channel"))
