"""E-mails to customers, sent after commit from the outbox (AFTER_COMMIT
handlers in omniretail.wiring). Each handler takes the OutboxEvent row.

Delivery is at least once, so every e-mail is recorded in the audit log
(action "notification.sent") and a redelivered event sends nothing twice.
The order row is locked while checking and recording, so two workers never
both send the same e-mail. No e-mail when the order has no e-mail address.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from omniretail.core.access import SYSTEM
from omniretail.core.audit import audit_record
from omniretail.core.models import AuditLog, OutboxEvent
from omniretail.orders.domain import CANCELLED, ON_HOLD, PENDING_PAYMENT
from omniretail.orders.models import Order, Return

log = logging.getLogger(__name__)

SENT = "notification.sent"
NOT_CONFIRMED = (PENDING_PAYMENT, ON_HOLD, CANCELLED)


@dataclass(frozen=True)
class LineView:
    description: str
    quantity: int
    unit_price: str
    gross: str


def _money(amount: Decimal | str, currency: str) -> str:
    return f"{Decimal(amount):.2f} {currency}"


def _reference(order: Order) -> str:
    """The number the customer knows: the shop's own for online orders."""
    return str(order.pk) if order.channel.kind == "pos" else order.external_id


def _order_lines(order: Order) -> list[LineView]:
    return [
        LineView(
            line.description,
            line.quantity,
            _money(line.unit_price, order.currency),
            _money(line.gross, order.currency),
        )
        for line in order.lines.order_by("line_no")
    ]


def _locked_order(order_id: Any) -> Order | None:
    return (
        Order.objects.select_for_update(of=("self",))
        .select_related("channel__company", "pickup_store", "customer")
        .filter(pk=order_id)
        .first()
    )


def _already_sent(kind: str, key: str) -> bool:
    return AuditLog.objects.filter(action=SENT, object_type=f"email.{kind}", object_id=key).exists()


def _send(*, kind: str, key: str, order: Order, subject: str, context: dict[str, Any]) -> bool:
    """Render notifications/<kind>.txt and .html, send once per (kind, key)
    and record it. True when an e-mail went out now."""
    if not order.email:
        return False
    if _already_sent(kind, key):
        return False
    company = order.channel.company
    full_context = {
        "company": company.name,
        "order": order,
        "reference": _reference(order),
        "name": order.customer.first_name if order.customer else "",
        "currency": order.currency,
        **context,
    }
    message = EmailMultiAlternatives(
        subject=f"{company.name}: {subject}",
        body=render_to_string(f"notifications/{kind}.txt", full_context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[order.email],
    )
    message.attach_alternative(
        render_to_string(f"notifications/{kind}.html", full_context), "text/html"
    )
    message.send()
    audit_record(
        actor=SYSTEM,
        action=SENT,
        object_type=f"email.{kind}",
        object_id=key,
        store_id=order.store_id,
        data={"order_id": order.pk, "subject": message.subject},
    )
    return True


def _order_confirmed(order_id: Any, event: OutboxEvent) -> None:
    with transaction.atomic():
        order = _locked_order(order_id)
        if order is None or order.status in NOT_CONFIRMED:
            return
        # Once per order, whichever event (placed paid, or confirmed later) comes first.
        _send(
            kind="order_confirmed",
            key=str(order.pk),
            order=order,
            subject=f"your order {_reference(order)} is confirmed",
            context={
                "lines": _order_lines(order),
                "shipping": _money(order.shipping_gross, order.currency),
                "total_tax": _money(order.total_tax, order.currency),
                "total": _money(order.total_gross, order.currency),
                "pickup": order.fulfilment_method == Order.Fulfilment.PICKUP,
                "event_id": str(event.pk),
            },
        )


def on_order_placed(event: OutboxEvent) -> None:
    """order.placed: an order placed paid is confirmed at once."""
    _order_confirmed(event.payload["order_id"], event)


def on_order_status_changed(event: OutboxEvent) -> None:
    """order.status_changed: the first time an order is confirmed (or allocated)."""
    if event.payload.get("new_status") in ("confirmed", "allocated"):
        _order_confirmed(event.payload["order_id"], event)


def on_pickup_ready(event: OutboxEvent) -> None:
    """pickup.ready: the order waits at the store; give the collection code."""
    payload = event.payload
    with transaction.atomic():
        order = _locked_order(payload["order_id"])
        if order is None:
            return
        store = order.pickup_store
        expires = parse_datetime(str(payload.get("expires_at") or ""))
        _send(
            kind="pickup_ready",
            key=str(event.pk),
            order=order,
            subject=f"your order {_reference(order)} is ready to collect"
            + (f" at {store.name}" if store else ""),
            context={
                "lines": _order_lines(order),
                "total": _money(order.total_gross, order.currency),
                "store": store,
                "collection_code": payload.get("collection_code", ""),
                "expires_at": timezone.localtime(expires) if expires else None,
            },
        )


def on_shipment_shipped(event: OutboxEvent) -> None:
    """shipment.shipped: the parcel left, with the carrier's tracking number."""
    payload = event.payload
    with transaction.atomic():
        order = _locked_order(payload["order_id"])
        if order is None:
            return
        _send(
            kind="shipment_shipped",
            key=str(event.pk),
            order=order,
            subject=f"your order {_reference(order)} is on its way",
            context={
                "lines": _order_lines(order),
                "total": _money(order.total_gross, order.currency),
                "carrier": payload.get("carrier", ""),
                "tracking_number": payload.get("tracking_number", ""),
                "address": order.shipping_address,
            },
        )


def on_refund_requested(event: OutboxEvent) -> None:
    """refund.requested: tell the customer what comes back and how."""
    payload = event.payload
    with transaction.atomic():
        order = _locked_order(payload["order_id"])
        if order is None:
            return
        ret = None
        if payload.get("return_id"):
            ret = Return.objects.select_related("store").filter(pk=payload["return_id"]).first()
        currency = payload.get("currency") or order.currency
        if ret is not None:
            lines = [
                LineView(
                    rl.order_line.description,
                    rl.quantity,
                    _money(rl.order_line.unit_price, currency),
                    _money(rl.refund_amount, currency),
                )
                for rl in ret.lines.select_related("order_line").order_by("pk")
            ]
        else:
            lines = _order_lines(order)
        _send(
            kind="refunded",
            key=str(event.pk),
            order=order,
            subject=f"your refund of {_money(payload['amount'], currency)} for order "
            f"{_reference(order)}",
            context={
                "lines": lines,
                "amount": _money(payload["amount"], currency),
                "store_credit": payload.get("method") == "store_credit",
                "return_number": ret.number if ret else "",
                "return_store": ret.store.name if ret and ret.store else "",
                "cancelled": ret is None,
                "exchange": ret is not None and ret.refund_method == Return.RefundMethod.EXCHANGE,
            },
        )
