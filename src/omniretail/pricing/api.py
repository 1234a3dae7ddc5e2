"""Pricing API: quote a cart with the one engine; download the offline rules bundle."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema

from omniretail.core.access import Actor, require
from omniretail.core.api_auth import request_actor
from omniretail.core.errors import NotFound, ValidationFailed
from omniretail.core.models import Channel, Store
from omniretail.pricing.engine_types import to_dict
from omniretail.pricing.selectors import QuoteItem, cart_price, pricing_rules_export

router = Router(tags=["pricing"])


class QuoteLineIn(Schema):
    sku: str = Field(..., min_length=1)
    quantity: int = Field(..., gt=0, description="Units, above 0")
    manual_discount: Decimal = Field(Decimal(0), ge=0, description="Amount off the whole line")
    line_id: str | None = Field(None, max_length=64)


class QuoteIn(Schema):
    channel: str | None = Field(None, description="Channel code; default: the API key's channel")
    store: str | None = Field(None, description="Store code; default: the channel's store")
    customer_id: int | None = None
    currency: str | None = Field(None, min_length=3, max_length=3)
    at: dt.datetime | None = Field(None, description="Price at this moment (default: now)")
    lines: list[QuoteLineIn] = Field(..., min_length=1)
    coupon_codes: list[str] = Field(default_factory=list, max_length=10)
    source_code: str | None = Field(None, max_length=64)
    rounding: str = Field("line", pattern="^(line|total)$")


def _channel(actor: Actor, code: str | None) -> Channel:
    if code:
        channel = Channel.objects.filter(code=code, active=True).first()
        if channel is None:
            raise NotFound(
                f"No channel {code!r}; use a channel code such as 'web'.", field="channel"
            )
        return channel
    if actor.channel_id is not None:
        return Channel.objects.get(pk=actor.channel_id)
    raise ValidationFailed("channel: send the channel code to price for.", field="channel")


def _store_id(code: str | None, channel: Channel) -> int | None:
    if not code:
        return channel.store_id
    store_id = Store.objects.filter(code=code).values_list("pk", flat=True).first()
    if store_id is None:
        raise NotFound(f"No store {code!r}; check the store code.", field="store")
    return store_id


@router.post("/quote", response=dict[str, Any])
def pricing_quote(request: HttpRequest, payload: QuoteIn) -> dict[str, Any]:
    """Price a cart: each line's list and unit price, discounts with reasons,
    net, tax and gross, totals, tax summary, applied and rejected promotions
    and coupons, campaign. Nothing is written (coupons are redeemed with the order)."""
    actor = request_actor(request)
    channel = _channel(actor, payload.channel)
    store_id = _store_id(payload.store, channel)
    require(actor, "pricing.read", store_id=store_id)
    result = cart_price(
        channel_id=channel.pk,
        store_id=store_id,
        customer_id=payload.customer_id,
        currency=payload.currency,
        at=payload.at,
        items=[
            QuoteItem(
                quantity=line.quantity,
                sku=line.sku,
                manual_discount=line.manual_discount,
                line_id=line.line_id,
            )
            for line in payload.lines
        ],
        coupon_codes=payload.coupon_codes,
        source_code=payload.source_code,
        rounding="total" if payload.rounding == "total" else "line",
    )
    body: dict[str, Any] = to_dict(result)
    return body


@router.get("/rules", response=dict[str, Any])
def pricing_rules(
    request: HttpRequest, store: str | None = None, channel: str | None = None
) -> dict[str, Any]:
    """The rules bundle a POS terminal downloads to price offline with the same engine."""
    actor = request_actor(request)
    chosen: Channel | None = None
    if channel or actor.channel_id is not None:
        chosen = _channel(actor, channel)
    elif store:
        chosen = Channel.objects.filter(store__code=store, kind="pos", active=True).first()
    if chosen is None:
        raise ValidationFailed(
            "channel: send channel=<code> or store=<code> of a store with a POS channel.",
            field="channel",
        )
    store_id = _store_id(store, chosen)
    require(actor, "pricing.read", store_id=store_id)
    return pricing_rules_export(channel_id=chosen.pk, store_id=store_id)
