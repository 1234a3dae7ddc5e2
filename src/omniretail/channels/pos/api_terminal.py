"""The till's API beyond the sale itself (mounted under /api/v1/pos/):
pairing profile, cashier PIN sign-in, manager overrides, offline feeds,
customer look-up, pick-up hand-over, orders to take back, e-mailed receipts.

Every call comes from a paired till (its terminal key, `Authorization:
Bearer omni_…`); calls made on a cashier's behalf also carry the cashier
session token (`X-Cashier-Token`) that PIN sign-in returned.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from omniretail.accounting.models import Receipt
from omniretail.channels.exchanges import exchange_at_till
from omniretail.channels.models import CashierPin
from omniretail.channels.pos import till_selectors as sel
from omniretail.channels.pos.api import TenderIn, tenders_from
from omniretail.channels.pos.till import (
    Cashier,
    cashier_of,
    cashier_session,
    cashier_sign_in,
    cashier_sign_out,
    manager_override,
    receipt_email,
    refund_override,
    refund_override_proven,
)
from omniretail.core.access import Actor, require
from omniretail.core.api_auth import request_actor
from omniretail.core.errors import NotFound, PermissionDenied, ValidationFailed
from omniretail.core.models import StaffMembership, Terminal
from omniretail.customers.models import Customer
from omniretail.fulfilment.models import Shipment
from omniretail.fulfilment.shipping import pickup_hand_over
from omniretail.loyalty.selectors import loyalty_summary
from omniretail.orders.models import Order
from omniretail.orders.returns import ExchangeQuote, ReturnRequestLine, exchange_quote

router = Router(tags=["pos till"])

CASHIER_HEADER = "X-Cashier-Token"


def _till(request: HttpRequest) -> tuple[Actor, Terminal]:
    actor = request_actor(request)
    if actor.terminal_id is None:
        raise PermissionDenied(
            "Call this from a paired till: send its terminal key (Bearer omni_…).",
            field="terminal",
        )
    terminal = Terminal.objects.select_related("store__company", "channel").get(
        pk=actor.terminal_id
    )
    if not terminal.active:
        raise PermissionDenied(f"Terminal {terminal.code} is deactivated.", field="terminal")
    return actor, terminal


def _cashier(request: HttpRequest, terminal: Terminal) -> Cashier:
    return cashier_session(terminal=terminal, token=request.headers.get(CASHIER_HEADER))


def _cashier_out(c: Cashier) -> dict[str, Any]:
    return {
        "cashier_id": c.user_id,
        "name": c.name,
        "role": c.role,
        "max_discount_percent": str(c.max_discount_percent),
    }


# --- pairing and cashiers -------------------------------------------------------------


@router.get("/terminal", response=dict[str, Any])
def terminal_me(request: HttpRequest) -> dict[str, Any]:
    """The paired till's profile: store, channel, currency, receipt series
    head (next number and hash, for offline numbering), discount limits per
    role, offline allowance."""
    _, terminal = _till(request)
    return sel.terminal_profile(terminal=terminal)


class CashierOut(Schema):
    cashier_id: int
    name: str
    role: str
    max_discount_percent: str


@router.get("/cashiers", response=list[CashierOut])
def cashiers(request: HttpRequest) -> list[dict[str, Any]]:
    """Staff who may sell at this till and have a PIN (for the sign-in screen)."""
    _, terminal = _till(request)
    in_store = StaffMembership.objects.filter(
        Q(store_id=terminal.store_id) | Q(store__isnull=True)
    ).values("user_id")
    users = (
        get_user_model()
        .objects.filter(
            Q(pk__in=in_store) | Q(is_superuser=True),
            is_active=True,
            pk__in=CashierPin.objects.values("user_id"),
        )
        .order_by("first_name", "username")
    )
    out = []
    for user in users:
        c = cashier_of(user=user, terminal=terminal)
        if c is not None:
            out.append(_cashier_out(c))
    return out


class SignInIn(Schema):
    cashier_id: int
    pin: str = Field(..., min_length=1, max_length=16)


class SignedInOut(CashierOut):
    token: str
    expires_at: dt.datetime


@router.post("/cashiers/sign-in", response=SignedInOut)
def sign_in(request: HttpRequest, payload: SignInIn) -> dict[str, Any]:
    """PIN → a cashier session token bound to this till (send it as
    X-Cashier-Token). Five wrong PINs in a row lock the PIN for five minutes."""
    actor, terminal = _till(request)
    signed = cashier_sign_in(
        terminal=terminal, user_id=payload.cashier_id, pin=payload.pin, actor=actor
    )
    return {**_cashier_out(signed.cashier), "token": signed.token, "expires_at": signed.expires_at}


@router.get("/cashiers/me", response=CashierOut)
def cashier_me(request: HttpRequest) -> dict[str, Any]:
    _, terminal = _till(request)
    return _cashier_out(_cashier(request, terminal))


@router.post("/cashiers/sign-out", response=dict[str, int])
def sign_out(request: HttpRequest) -> dict[str, int]:
    _, terminal = _till(request)
    ended = cashier_sign_out(terminal=terminal, token=request.headers.get(CASHIER_HEADER, ""))
    return {"ended": ended}


class OverrideIn(Schema):
    kind: str = Field("discount", description="'discount' (percent) or 'refund' (amount)")
    manager_id: int
    pin: str = Field(..., min_length=1, max_length=16)
    percent: Decimal | None = Field(None, description="discount: the discount asked, in percent")
    amount: Decimal | None = Field(None, description="refund: the refund to approve")
    reason: str = Field(..., max_length=300)
    sale_ref: str = Field(
        "", max_length=64, description="The sale's client UUID, or the order taken back"
    )


class OverrideOut(Schema):
    override_id: int
    manager_id: int
    manager_name: str
    max_percent: str


@router.post("/overrides", response=OverrideOut)
def override(request: HttpRequest, payload: OverrideIn) -> dict[str, Any]:
    """A manager's PIN lets the signed-in cashier give a larger discount
    (kind 'discount', audit action pos.discount_override) or a refund above
    the cashier's refund limit (kind 'refund', pos.refund_override: send the
    manager as the return's `approved_by_user_id`); both people and why are
    audit-logged."""
    _, terminal = _till(request)
    cashier = _cashier(request, terminal)
    if payload.kind == "refund":
        if payload.amount is None:
            raise ValidationFailed("amount: give the refund to approve.", field="amount")
        result = refund_override(
            terminal=terminal,
            cashier=cashier,
            manager_id=payload.manager_id,
            pin=payload.pin,
            amount=payload.amount,
            reason=payload.reason,
            sale_ref=payload.sale_ref,
        )
    elif payload.kind == "discount":
        if payload.percent is None:
            raise ValidationFailed("percent: give the discount to approve.", field="percent")
        result = manager_override(
            terminal=terminal,
            cashier=cashier,
            manager_id=payload.manager_id,
            pin=payload.pin,
            percent=payload.percent,
            reason=payload.reason,
            sale_ref=payload.sale_ref,
        )
    else:
        raise ValidationFailed("kind: use 'discount' or 'refund'.", field="kind")
    return {
        "override_id": result.audit_id,
        "manager_id": result.manager_id,
        "manager_name": result.manager_name,
        "max_percent": str(result.max_percent),
    }


# --- offline feeds ----------------------------------------------------------------------


class FeedOut(Schema):
    cursor: str
    reset: bool = Field(..., description="true: replace what you hold; false: add/replace rows")
    rows: list[dict[str, Any]]


@router.get("/sync/catalog", response=FeedOut)
def sync_catalog(request: HttpRequest, cursor: str | None = None) -> sel.Feed:
    """Variants with barcodes and base prices; send back `cursor` for changes only."""
    actor, terminal = _till(request)
    return sel.catalog_feed(actor=actor, store_id=terminal.store_id, cursor=cursor)


@router.get("/sync/customers", response=FeedOut)
def sync_customers(request: HttpRequest, cursor: str | None = None) -> sel.Feed:
    """Customers the store needs offline; send back `cursor` for changes only."""
    actor, terminal = _till(request)
    return sel.customers_feed(actor=actor, store_id=terminal.store_id, cursor=cursor)


# --- customers --------------------------------------------------------------------------


@router.get("/customers/search", response=list[dict[str, Any]])
def customer_search(request: HttpRequest, q: str = "") -> list[dict[str, Any]]:
    """By name, e-mail, phone or loyalty card."""
    actor, terminal = _till(request)
    return sel.customers_search(actor=actor, store_id=terminal.store_id, q=q)


@router.get("/customers/{customer_id}/card", response=dict[str, Any])
def customer_card(request: HttpRequest, customer_id: int) -> dict[str, Any]:
    """The customer at the counter: details, orders on every channel, points
    (and their value) and store credit."""
    actor, _ = _till(request)
    customer = Customer.objects.select_related("group").filter(pk=customer_id).first()
    if customer is None:
        raise NotFound(f"No customer #{customer_id}.", field="customer_id")
    summary = loyalty_summary(customer_id=customer_id, actor=actor, recent=5)
    return {
        "customer": sel.customer_row(customer),
        "orders": sel.customer_history(actor=actor, customer_id=customer_id),
        "points": [
            {
                "program": p.program,
                "currency": p.currency,
                "points": p.points,
                "value": str(p.value),
            }
            for p in summary.points
        ],
        "store_credit": {cur: str(v) for cur, v in summary.store_credit.items()},
    }


# --- pick-ups ---------------------------------------------------------------------------


@router.get("/pickups", response=list[dict[str, Any]])
def pickups(request: HttpRequest) -> list[dict[str, Any]]:
    """Bags ready for pick-up at this store."""
    actor, terminal = _till(request)
    return sel.pickups_waiting(actor=actor, store_id=terminal.store_id)


class HandOverIn(Schema):
    code: str = Field(..., max_length=32, description="The customer's collection code")


@router.post("/pickups/{number}/hand-over", response=dict[str, Any])
def pickup_give(request: HttpRequest, number: str, payload: HandOverIn) -> dict[str, Any]:
    """The signed-in cashier hands the bag over against its collection code."""
    _, terminal = _till(request)
    cashier = _cashier(request, terminal)
    shipment = Shipment.objects.filter(
        number=number, kind=Shipment.Kind.PICKUP, location__store_id=terminal.store_id
    ).first()
    if shipment is None:
        raise NotFound(f"No pick-up {number!r} at this store.", field="number")
    done = pickup_hand_over(shipment=shipment, code=payload.code, actor=cashier.actor)
    return {"number": done.number, "status": done.status, "order_id": done.order_id}


# --- returns and receipts -----------------------------------------------------------------


@router.get("/orders/find", response=list[dict[str, Any]])
def orders_find(request: HttpRequest, q: str = "") -> list[dict[str, Any]]:
    """Orders of any channel to take back: receipt number or barcode, order
    id, the channel's order number, or the customer (e-mail, name, card).
    Each line says how many units can still come back."""
    actor, _ = _till(request)
    return sel.orders_find(actor=actor, q=q)


# --- exchanges --------------------------------------------------------------------------


class ExchangeReturnLineIn(Schema):
    line_id: int = Field(..., description="The order line coming back")
    quantity: int = Field(..., description="Units coming back, above 0")
    condition: str = Field("restock", description="'restock' or 'scrap'")
    reason: str = ""


class ReplacementLineIn(Schema):
    sku: str | None = Field(None, description="SKU handed over instead; or give barcode")
    barcode: str | None = None
    quantity: int = Field(1, description="Units handed over, above 0")


class ExchangeQuoteIn(Schema):
    order_id: int
    return_lines: list[ExchangeReturnLineIn]
    replacement_lines: list[ReplacementLineIn]


class ExchangeIn(ExchangeQuoteIn):
    client_uuid: UUID = Field(..., description="Made by the till; a resend returns the first")
    tenders: list[TenderIn] = Field(
        default_factory=list,
        description="Only when the replacement costs more: any till tender (cash, card by "
        "gateway token, gift card, store credit, points, check, on account)",
    )
    refund_method: str = Field(
        "original", description="When it costs less: 'original' or 'store_credit'"
    )
    approved_by_user_id: int | None = Field(
        None, description="Manager who approved (PIN override) a refund above the limit"
    )


class ExchangeQuoteOut(Schema):
    currency: str
    refund_total: Decimal
    replacement_total: Decimal
    customer_pays: Decimal
    store_refunds: Decimal


class ExchangeOut(ExchangeQuoteOut):
    return_number: str
    receipt_number: str | None = Field(None, description="The replacement sale's receipt")
    order_id: int
    replacement_order_id: int
    change: Decimal
    replayed: bool


def _quote_out(quote: ExchangeQuote) -> dict[str, Any]:
    return {
        "currency": quote.refund_total.currency,
        "refund_total": quote.refund_total.amount,
        "replacement_total": quote.replacement_total.amount,
        "customer_pays": quote.customer_pays.amount,
        "store_refunds": quote.store_refunds.amount,
    }


def _exchange_input(
    payload: ExchangeQuoteIn,
) -> tuple[Order, list[ReturnRequestLine], list[tuple[int, int]]]:
    order = Order.objects.select_related("channel__company").filter(pk=payload.order_id).first()
    if order is None:
        raise NotFound(f"No order #{payload.order_id}; find it again.", field="order_id")
    back = [
        ReturnRequestLine(ln.line_id, ln.quantity, ln.condition, ln.reason)
        for ln in payload.return_lines
    ]
    out = sel.replacement_lines_resolve(
        lines=[(ln.sku, ln.barcode, ln.quantity) for ln in payload.replacement_lines]
    )
    return order, back, out


@router.post("/exchanges/quote", response=ExchangeQuoteOut)
def exchange_quote_view(request: HttpRequest, payload: ExchangeQuoteIn) -> dict[str, Any]:
    """What an exchange comes to, before anything is written: the returned
    lines' value against the replacement at today's prices; who pays whom."""
    actor, terminal = _till(request)
    _cashier(request, terminal)
    order, back, out = _exchange_input(payload)
    require(actor, "orders.read")
    return _quote_out(exchange_quote(order=order, return_lines=back, replacement_lines=out))


@router.post("/exchanges", response={201: ExchangeOut, 200: ExchangeOut})
def exchange_create(request: HttpRequest, payload: ExchangeIn) -> Status:
    """Exchange at this till: the chosen lines come back on the shelf, the
    replacement goes out as a new sale with its own receipt; the customer pays
    the difference with any till tender, or the store refunds it
    (`refund_method`). 201; a resend with the
    same client_uuid returns the first exchange (200)."""
    actor, terminal = _till(request)
    _cashier(request, terminal)
    order, back, out = _exchange_input(payload)
    if payload.approved_by_user_id is not None:
        refund_override_proven(
            terminal_id=terminal.pk, manager_id=payload.approved_by_user_id, order_id=order.pk
        )
    result = exchange_at_till(
        terminal=terminal,
        order=order,
        return_lines=back,
        replacement_lines=out,
        tenders=tenders_from(payload.tenders),
        actor=actor,
        client_uuid=payload.client_uuid,
        refund_method=payload.refund_method,
        approved_by_user_id=payload.approved_by_user_id,
    )
    body = {
        **_quote_out(result.quote),
        "return_number": result.returned.number,
        "receipt_number": result.receipt.full_number if result.receipt else None,
        "order_id": order.pk,
        "replacement_order_id": result.replacement.pk,
        "change": result.change.amount,
        "replayed": result.replayed,
    }
    return Status(200 if result.replayed else 201, body)


class EmailIn(Schema):
    email: str = Field(..., max_length=254)


@router.post("/sales/{order_id}/email", response=dict[str, str])
def sale_email(request: HttpRequest, order_id: int, payload: EmailIn) -> dict[str, str]:
    """E-mail this till's receipt of a sale to the customer."""
    actor, _ = _till(request)
    receipt = Receipt.objects.select_related("store").filter(order_id=order_id).first()
    if receipt is None:
        raise NotFound(f"No receipt for sale #{order_id}.", field="order_id")
    receipt_email(receipt=receipt, to=payload.email.strip(), actor=actor)
    return {"sent_to": payload.email.strip(), "receipt_number": receipt.full_number}
