from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from uuid import UUID

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from omniretail.channels.pos.services import (
    OfflineSale,
    SaleLine,
    SaleResult,
    Tender,
    pos_sale_record,
    sale_load,
)
from omniretail.core.api_auth import idempotency_key, request_actor
from omniretail.core.errors import NotFound, ValidationFailed
from omniretail.core.idempotency import idempotent_call, request_fingerprint
from omniretail.core.models import Terminal

router = Router(tags=["pos"])


class SaleLineIn(Schema):
    sku: str | None = Field(None, description="SKU code; or give barcode")
    barcode: str | None = Field(None, description="What the scanner read")
    quantity: int = Field(1, description="Units sold, above 0")
    discount_percent: Decimal = Field(Decimal(0), description="Staff discount, % of the line")
    discount_amount: Decimal = Field(Decimal(0), description="Staff discount, amount off the line")


class TenderIn(Schema):
    type: str = Field(
        ..., description="cash | card | gift_card | store_credit | loyalty | check | on_account"
    )
    amount: Decimal = Field(..., description='Amount handed over or to apply, e.g. "50.00"')
    token: str | None = Field(None, description="card: the gateway token (never a card number)")
    code: str | None = Field(None, description="gift_card: the card's code")
    reference: str = Field("", description="check: the check number")
    offline_capture: bool = Field(
        False, description="card taken on the terminal while offline: captured later"
    )
    brand: str = Field("", description="card: brand, for the receipt")
    last4: str = Field("", description="card: last four digits, for the receipt")


def tenders_from(items: list[TenderIn]) -> list[Tender]:
    return [
        Tender(
            t.type,
            t.amount,
            token=t.token,
            code=t.code,
            reference=t.reference,
            offline_capture=t.offline_capture,
            brand=t.brand,
            last4=t.last4,
        )
        for t in items
    ]


class OfflineIn(Schema):
    receipt_number: int = Field(..., description="The number the till gave the sale offline")
    previous_hash: str
    hash: str = Field(..., description="sha256 of previous_hash + the sale's document")
    sold_at: datetime
    total_gross: Decimal | None = Field(
        None, description="The total the till charged (covered by the hash)"
    )


class SaleIn(Schema):
    terminal: str | None = Field(
        None, description="Terminal code; optional with a terminal key (its own terminal)"
    )
    client_uuid: UUID = Field(..., description="Made by the till; a resend returns the first sale")
    lines: list[SaleLineIn]
    tenders: list[TenderIn]
    customer_id: int | None = None
    order_discount: Decimal = Field(Decimal(0), description="Staff discount off the whole sale")
    discount_approved_by: int | None = Field(
        None, description="The manager (user id) who approved a discount above the cashier's limit"
    )
    discount_reason: str = ""
    coupon_codes: list[str] = Field(default_factory=list)
    cashier_id: int | None = Field(None, description="The signed-in cashier (user id)")
    offline: OfflineIn | None = Field(None, description="Set when the sale was made offline")


class SaleLineOut(Schema):
    line_no: int
    sku: str
    description: str
    quantity: int
    unit_price: str
    tax_rate: str
    gross: str
    list_price: str | None = None
    discount: str | None = None
    discounts: list[str] = []


class PaymentOut(Schema):
    tender: str
    amount: str
    tendered: str
    change: str
    card: str | None = None


class SaleOut(Schema):
    order_id: int
    channel: str
    store: str
    terminal: str
    status: str
    currency: str
    total_net: Decimal
    total_tax: Decimal
    total_gross: Decimal
    change: Decimal
    receipt_number: str
    receipt_hash: str
    receipt_previous_hash: str
    discount_total: Decimal = Decimal(0)
    lines: list[SaleLineOut]
    payments: list[PaymentOut] = []
    promotions: list[dict] = []
    replayed: bool
    warnings: list[str]
    gift_cards: list[dict] = Field(
        default_factory=list,
        description="Gift cards sold: code (shown this once, print it), last4, amount",
    )


def sale_out(result: SaleResult) -> dict:
    order, receipt = result.order, result.receipt
    return {
        "order_id": order.pk,
        "channel": order.channel.code,
        "store": receipt.store.code,
        "terminal": receipt.terminal.code,
        "status": order.status,
        "currency": order.currency,
        "total_net": str(order.total_net),
        "total_tax": str(order.total_tax),
        "total_gross": str(order.total_gross),
        "change": str(result.change.amount),
        "receipt_number": receipt.full_number,
        "receipt_hash": receipt.hash,
        "receipt_previous_hash": receipt.previous_hash,
        "discount_total": str(order.discount_total),
        "lines": [
            {
                k: line[k]
                for k in (
                    "line_no",
                    "sku",
                    "description",
                    "quantity",
                    "unit_price",
                    "tax_rate",
                    "gross",
                    "list_price",
                    "discount",
                    "discounts",
                )
                if k in line
            }
            for line in receipt.lines
        ],
        "payments": receipt.payments,
        "promotions": order.promotions,
        "replayed": result.replayed,
        "warnings": list(order.review_flags)
        or [f"stock below zero: {w}" for w in result.negative_stock],
    }


def _terminal(request_terminal_id: int | None, code: str | None) -> Terminal:
    qs = Terminal.objects.select_related("store__company", "channel", "receipt_series")
    if code:
        terminal = qs.filter(code=code).first()
        if terminal is None:
            raise ValidationFailed(
                f"unknown terminal {code!r}; use the till's code.", field="terminal"
            )
        return terminal
    if request_terminal_id is not None:
        return qs.get(pk=request_terminal_id)
    raise ValidationFailed("Name the terminal (its code) that rings up the sale.", field="terminal")


@router.post("/sales", response={201: SaleOut, 200: SaleOut})
def sale_create(request: HttpRequest, payload: SaleIn) -> Status:
    """Ring up a carry-out sale, priced by the pricing engine and paid with any
    mix of tenders. 201 with the numbered receipt; a resend (same client_uuid
    or Idempotency-Key) returns 200 with the first sale. An offline sale
    (`offline`) is accepted even when stock went negative; what does not add
    up is returned in `warnings` and flagged for the store manager."""
    actor = request_actor(request)
    terminal = _terminal(actor.terminal_id, payload.terminal)

    def effect() -> tuple[int, dict]:
        result = pos_sale_record(
            terminal=terminal,
            client_uuid=payload.client_uuid,
            lines=[
                SaleLine(ln.quantity, ln.sku, ln.barcode, ln.discount_percent, ln.discount_amount)
                for ln in payload.lines
            ],
            tenders=tenders_from(payload.tenders),
            customer_id=payload.customer_id,
            order_discount=payload.order_discount,
            discount_approved_by=payload.discount_approved_by,
            discount_reason=payload.discount_reason,
            coupon_codes=payload.coupon_codes,
            cashier_id=payload.cashier_id,
            offline=OfflineSale(**payload.offline.dict()) if payload.offline else None,
            actor=actor,
        )
        issued.extend(result.gift_cards)
        return (200 if result.replayed else 201), sale_out(result)

    # Gift card codes are shown once: kept out of the stored (replayable) response.
    issued: list[dict[str, str]] = []
    result = idempotent_call(
        scope=actor.idempotency_scope,
        key=idempotency_key(request),
        fingerprint=request_fingerprint("POST", request.path, payload.dict()),
        effect=effect,
    )
    body = dict(result.body)
    body["gift_cards"] = issued
    if result.replayed:
        body["replayed"] = True
    return Status(200 if result.replayed else result.status, body)


@router.get("/sales/{order_id}", response=SaleOut)
def sale_get(request: HttpRequest, order_id: int) -> dict:
    actor = request_actor(request)
    result = sale_load(order_id=order_id, actor=actor)
    if result is None:
        raise NotFound(f"No POS sale #{order_id}.", field="order_id")
    return sale_out(result)
