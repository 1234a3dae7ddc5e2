"""Customers API (mounted at /api/v1/customers beside loyalty's router):
search, one customer, find-or-create for any channel, consents, merge and
erasure. History and export need orders: channels/customer_api.py."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from omniretail.core.api_auth import request_actor
from omniretail.core.errors import NotFound
from omniretail.core.models import Channel
from omniretail.customers.domain import phone_display
from omniretail.customers.models import Customer
from omniretail.customers.selectors import consent_state, customer_get, customer_search
from omniretail.customers.services import (
    customer_consent_record,
    customer_erase,
    customer_match_or_create,
    customer_merge,
)

router = Router(tags=["customers"])


class CustomerOut(Schema):
    id: int
    first_name: str
    last_name: str
    email: str | None
    phone: str = Field(description="Normalised, international format")
    loyalty_card: str | None
    group: str | None
    created_at: dt.datetime


class ConsentOut(Schema):
    purpose: str
    granted: bool
    at: dt.datetime | None
    source: str
    channel: str


class CustomerDetailOut(CustomerOut):
    consents: list[ConsentOut]
    erased: bool


class MatchIn(Schema):
    email: str | None = Field(None, max_length=254)
    phone: str | None = Field(None, max_length=32, description="Any format; +33… or 06…")
    loyalty_card: str | None = Field(None, max_length=32)
    first_name: str = Field("", max_length=100)
    last_name: str = Field("", max_length=100)
    consents: dict[str, bool] = Field(
        default_factory=dict, description="marketing_email, marketing_sms, profiling"
    )
    source: str = Field("", max_length=64, description="Where consent was given")


class MatchOut(Schema):
    customer: CustomerOut
    created: bool
    matched_by: str


class ConsentsIn(Schema):
    consents: dict[str, bool]
    source: str = Field("", max_length=64)


class MergeIn(Schema):
    duplicate_id: int
    reason: str = Field(..., max_length=300)


class ReasonIn(Schema):
    reason: str = Field(..., max_length=300)


def customer_out(customer: Customer) -> CustomerOut:
    return CustomerOut(
        id=customer.pk,
        first_name=customer.first_name,
        last_name=customer.last_name,
        email=customer.email,
        phone=phone_display(customer.phone_e164) if customer.phone_e164 else customer.phone,
        loyalty_card=customer.loyalty_card,
        group=customer.group.code if customer.group else None,
        created_at=customer.created_at,
    )


def _detail(customer: Customer) -> CustomerDetailOut:
    return CustomerDetailOut(
        **customer_out(customer).dict(),
        consents=[
            ConsentOut(
                purpose=s.purpose, granted=s.granted, at=s.at, source=s.source, channel=s.channel
            )
            for s in consent_state(customer)
        ],
        erased=customer.erased_at is not None,
    )


def _channel(request: HttpRequest) -> Channel | None:
    channel_id = request_actor(request).channel_id
    return Channel.objects.filter(pk=channel_id).first() if channel_id else None


@router.get("/search", response=list[CustomerOut])
def customers_search(
    request: HttpRequest,
    q: str = Query(..., max_length=200, description="E-mail, phone, card number or name"),
    limit: int = Query(20, ge=1, le=100),
) -> list[CustomerOut]:
    """Customers by e-mail (any case), phone (any format), loyalty card or
    name (accents optional). A merged duplicate leads to the customer kept."""
    found = customer_search(query=q, actor=request_actor(request), limit=limit)
    return [customer_out(c) for c in found]


@router.post("/match", response={200: MatchOut, 201: MatchOut})
def customers_match(request: HttpRequest, payload: MatchIn) -> Status:
    """The one customer with these details (e-mail, then card, then phone),
    created only when nobody matches: 201 created, 200 found. Safe to retry."""
    actor = request_actor(request)
    match = customer_match_or_create(
        actor=actor,
        email=payload.email,
        phone=payload.phone,
        loyalty_card=payload.loyalty_card,
        first_name=payload.first_name,
        last_name=payload.last_name,
        consents=payload.consents,
        channel=_channel(request),
        source=payload.source,
    )
    body = MatchOut(
        customer=customer_out(match.customer), created=match.created, matched_by=match.matched_by
    )
    return Status(201 if match.created else 200, body)


@router.get("/{int:customer_id}", response=CustomerDetailOut)
def customer_detail(request: HttpRequest, customer_id: int) -> CustomerDetailOut:
    """One customer with their consents; a merged duplicate's id answers
    with the customer kept (compare the id)."""
    return _detail(customer_get(customer_id=customer_id, actor=request_actor(request)))


def _customer(customer_id: int) -> Customer:
    found = Customer.objects.filter(pk=customer_id).first()
    if found is None:
        raise NotFound(f"No customer #{customer_id}; check the id.", field="customer_id")
    return found


@router.post("/{int:customer_id}/consents", response=CustomerDetailOut)
def customer_consents(
    request: HttpRequest, customer_id: int, payload: ConsentsIn
) -> CustomerDetailOut:
    """Consents given or withdrawn: {"consents": {"marketing_email": true}}."""
    actor = request_actor(request)
    customer = _customer(customer_id)
    customer_consent_record(
        customer=customer,
        consents=payload.consents,
        actor=actor,
        channel=_channel(request),
        source=payload.source,
    )
    return _detail(customer_get(customer_id=customer_id, actor=actor))


@router.post("/{int:customer_id}/merge", response=CustomerDetailOut)
def customer_merge_into(
    request: HttpRequest, customer_id: int, payload: MergeIn
) -> CustomerDetailOut:
    """Merge customer `duplicate_id` into this one (store managers, admins)."""
    kept = customer_merge(
        keep=_customer(customer_id),
        duplicate=_customer(payload.duplicate_id),
        actor=request_actor(request),
        reason=payload.reason,
    )
    return _detail(kept)


@router.post("/{int:customer_id}/erase", response=CustomerDetailOut)
def customer_erase_person(
    request: HttpRequest, customer_id: int, payload: ReasonIn
) -> CustomerDetailOut:
    """Anonymise the person (refused while an order is open); fiscal
    documents stay as they are. Store managers and admins."""
    erased = customer_erase(
        customer=_customer(customer_id), actor=request_actor(request), reason=payload.reason
    )
    return _detail(erased)
