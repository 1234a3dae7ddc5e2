"""A customer's purchase history across channels and the export of their
data (mounted at /api/v1/customers beside the customers and loyalty
routers). Here because they read orders and loyalty, which customers (layer
1) cannot import."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema

from omniretail.core.api_auth import request_actor
from omniretail.customers.selectors import customer_get
from omniretail.orders.customer_history import customer_export, customer_history

router = Router(tags=["customers"])


class HistoryRowOut(Schema):
    order_id: int
    number: str
    external_id: str
    channel: str
    channel_kind: str
    store: str
    placed_at: dt.datetime
    total: Decimal
    currency: str
    status: str
    payment_status: str
    lines: int


class HistoryOut(Schema):
    customer_id: int
    orders: list[HistoryRowOut]


@router.get("/{int:customer_id}/history", response=HistoryOut)
def customer_purchase_history(
    request: HttpRequest, customer_id: int, limit: int = Query(200, ge=1, le=500)
) -> HistoryOut:
    """Orders from every channel (POS, web, marketplace, phone), newest
    first, in the stores the caller may read; a merged duplicate's id
    answers for the customer kept."""
    actor = request_actor(request)
    customer = customer_get(customer_id=customer_id, actor=actor)
    rows = customer_history(customer=customer, actor=actor, limit=limit)
    return HistoryOut(
        customer_id=customer.pk,
        orders=[
            HistoryRowOut(
                order_id=r.order_id,
                number=r.number,
                external_id=r.external_id,
                channel=r.channel,
                channel_kind=r.channel_kind,
                store=r.store,
                placed_at=r.placed_at,
                total=r.total,
                currency=r.currency,
                status=r.status,
                payment_status=r.payment_status,
                lines=r.lines,
            )
            for r in rows
        ],
    )


@router.get("/{int:customer_id}/export", response=dict[str, Any])
def customer_data_export(request: HttpRequest, customer_id: int) -> dict[str, Any]:
    """Everything held about the person (profile, consents, orders, points,
    store credit, gift cards by their last four characters). Store
    managers and admins; audit-logged."""
    actor = request_actor(request)
    return customer_export(customer=customer_get(customer_id=customer_id, actor=actor), actor=actor)
