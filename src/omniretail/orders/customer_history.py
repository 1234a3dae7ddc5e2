"""A customer's purchases in every channel (POS receipts, web, marketplace,
phone) in one list, and the export of everything held about a person.

Orders are layer 3, so these reads live here rather than in customers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from omniretail.core.access import Actor, require
from omniretail.core.audit import audit_record
from omniretail.customers.models import Customer
from omniretail.customers.selectors import (
    consent_history,
    consent_state,
    customer_resolve,
)
from omniretail.customers.services import staff_require
from omniretail.loyalty.models import (
    GiftCard,
    GiftCardEntry,
    LoyaltyAccount,
    LoyaltyEntry,
    StoreCreditAccount,
    StoreCreditEntry,
)
from omniretail.orders.models import Order

HISTORY_MAX = 500
EXPORT_FORMAT = "omniretail.customer-export/1"


@dataclass(frozen=True)
class HistoryRow:
    order_id: int
    number: str
    external_id: str
    channel: str
    channel_name: str
    channel_kind: str
    store: str
    placed_at: dt.datetime
    total: Decimal
    currency: str
    status: str
    status_label: str
    payment_status: str
    lines: int


def _orders_visible(actor: Actor) -> QuerySet[Order]:
    """Staff see orders of the stores where they may read orders; orders of
    no store (online, shipped from a warehouse) need a role over every store."""
    require(actor, "orders.read")
    store_ids = actor.store_ids("orders.read")
    if store_ids is None:
        return Order.objects.all()
    return Order.objects.filter(store_id__in=store_ids)


def customer_history(*, customer: Customer, actor: Actor, limit: int = 200) -> list[HistoryRow]:
    """Every order of the customer (a merged duplicate's id leads to the
    customer kept), newest first, from every channel the actor may see."""
    customer = customer_resolve(customer)
    limit = max(1, min(limit, HISTORY_MAX))
    rows = (
        _orders_visible(actor)
        .filter(customer=customer)
        .select_related("channel", "store")
        .annotate(line_count=Count("lines"))
        .order_by("-placed_at", "-pk")[:limit]
    )
    return [
        HistoryRow(
            order_id=o.pk,
            number=f"#{o.pk}",
            external_id=o.external_id,
            channel=o.channel.code,
            channel_name=o.channel.name,
            channel_kind=o.channel.kind,
            store=o.store.name if o.store else "",
            placed_at=o.placed_at,
            total=o.total_gross,
            currency=o.currency,
            status=o.status,
            status_label=o.get_status_display(),
            payment_status=o.payment_status,
            lines=o.line_count,  # type: ignore[attr-defined]
        )
        for o in rows
    ]


def _at(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def _order_out(order: Order) -> dict[str, Any]:
    return {
        "id": order.pk,
        "number": f"#{order.pk}",
        "external_id": order.external_id,
        "channel": order.channel.code,
        "channel_kind": order.channel.kind,
        "store": order.store.code if order.store else None,
        "placed_at": _at(order.placed_at),
        "status": order.status,
        "payment_status": order.payment_status,
        "fulfilment": order.fulfilment_method,
        "currency": order.currency,
        "total_net": str(order.total_net),
        "total_tax": str(order.total_tax),
        "total_gross": str(order.total_gross),
        "shipping_address": order.shipping_address,
        "email": order.email,
        "lines": [
            {
                "sku": line.sku.sku,
                "description": line.description,
                "quantity": line.quantity,
                "unit_price": str(line.unit_price),
                "gross": str(line.gross),
                "returned": line.quantity_returned,
            }
            for line in order.lines.all()
        ],
    }


def _gift_cards(orders: list[Order]) -> list[dict[str, Any]]:
    """Cards bought or spent on the customer's orders (a card is a bearer
    code: it belongs to nobody, so only these are the person's data).
    Only the last four characters are shown."""
    if not orders:
        return []
    entries = (
        GiftCardEntry.objects.filter(
            Q(reference_type="order", reference_id__in=[str(o.pk) for o in orders])
            | Q(reference_type="pos_sale", reference_id__in=[o.external_id for o in orders])
        )
        .select_related("card")
        .order_by("card_id", "pk")
    )
    cards: dict[int, dict[str, Any]] = {}
    for entry in entries:
        card: GiftCard = entry.card
        out = cards.setdefault(
            card.pk,
            {
                "last4": card.last4,
                "currency": card.currency,
                "balance": str(card.balance),
                "status": card.status,
                "expires_at": _at(card.expires_at),
                "uses": [],
            },
        )
        out["uses"].append(
            {
                "kind": entry.kind,
                "amount": str(entry.amount),
                "reference": f"{entry.reference_type}:{entry.reference_id}",
                "at": _at(entry.created_at),
            }
        )
    return list(cards.values())


@transaction.atomic
def customer_export(*, customer: Customer, actor: Actor) -> dict[str, Any]:
    """Everything held about a person, as JSON-ready data: profile, consents
    (current and every decision), orders from every channel with their
    lines, loyalty points and store credit (balances and every entry), gift
    cards bought or spent on their orders (last four characters only).
    Store managers and admins; each export is audit-logged."""
    staff_require(actor, "export a customer's data")
    person = customer_resolve(customer)
    ids = [person.pk, *Customer.objects.filter(merged_into=person).values_list("pk", flat=True)]
    orders = list(
        Order.objects.filter(customer=person)
        .select_related("channel", "store")
        .prefetch_related("lines__sku")
        .order_by("placed_at", "pk")
    )
    points_accounts = LoyaltyAccount.objects.filter(customer=person).select_related("program")
    credit_accounts = StoreCreditAccount.objects.filter(customer=person)
    data: dict[str, Any] = {
        "format": EXPORT_FORMAT,
        "exported_at": _at(timezone.now()),
        "customer": {
            "id": person.pk,
            "first_name": person.first_name,
            "last_name": person.last_name,
            "email": person.email,
            "phone": person.phone,
            "phone_e164": person.phone_e164,
            "loyalty_card": person.loyalty_card,
            "group": person.group.code if person.group else None,
            "created_at": _at(person.created_at),
            "erased_at": _at(person.erased_at),
            "merged_from": ids[1:],
        },
        "consents": {
            "current": [
                {
                    "purpose": s.purpose,
                    "granted": s.granted,
                    "at": _at(s.at),
                    "source": s.source,
                    "channel": s.channel,
                }
                for s in consent_state(person)
            ],
            "history": [
                {
                    "purpose": e.purpose,
                    "granted": e.granted,
                    "at": _at(e.at),
                    "source": e.source,
                    "channel": e.channel.code if e.channel else None,
                    "recorded_by": e.actor_label,
                }
                for e in consent_history(person)
            ],
        },
        "orders": [_order_out(o) for o in orders],
        "loyalty": {
            "accounts": [
                {"program": a.program.code, "currency": a.program.currency, "points": a.balance}
                for a in points_accounts.order_by("program__code")
            ],
            "entries": [
                {
                    "program": e.account.program.code,
                    "kind": e.kind,
                    "points": e.points,
                    "amount": str(e.amount),
                    "reference": f"{e.reference_type}:{e.reference_id}",
                    "expires_at": _at(e.expires_at),
                    "at": _at(e.created_at),
                }
                for e in LoyaltyEntry.objects.filter(account__customer=person)
                .select_related("account__program")
                .order_by("created_at", "pk")
            ],
        },
        "store_credit": {
            "accounts": [
                {"currency": a.currency, "balance": str(a.balance)}
                for a in credit_accounts.order_by("currency")
            ],
            "entries": [
                {
                    "currency": e.account.currency,
                    "kind": e.kind,
                    "source": e.source,
                    "amount": str(e.amount),
                    "reference": f"{e.reference_type}:{e.reference_id}",
                    "at": _at(e.created_at),
                }
                for e in StoreCreditEntry.objects.filter(account__customer=person)
                .select_related("account")
                .order_by("created_at", "pk")
            ],
        },
        "gift_cards": _gift_cards(orders),
    }
    audit_record(
        actor=actor,
        action="customer.export",
        object_type="customer",
        object_id=person.pk,
        data={"orders": len(orders)},
    )
    return data
