"""A sale at a store's till: one transaction from scan to books."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from uuid import UUID

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from omniretail.accounting.models import Receipt
from omniretail.accounting.selectors import receipt_for_order
from omniretail.catalog.models import Product, Variant
from omniretail.catalog.selectors import variants_by_code
from omniretail.channels.pos.offline import offline_hash_check
from omniretail.channels.pos.till import discount_limit_of
from omniretail.core.access import SYSTEM, Actor, actor_for_user, require
from omniretail.core.audit import audit_record
from omniretail.core.errors import Conflict, PermissionDenied, ValidationFailed
from omniretail.core.events import event_publish
from omniretail.core.models import AuditLog, Terminal
from omniretail.core.money import Money, allocate
from omniretail.customers.models import Customer
from omniretail.inventory.domain import kit_expand
from omniretail.inventory.models import Location
from omniretail.inventory.selectors import kit_components, store_location
from omniretail.inventory.services import (
    MoveSpec,
    NegativeStock,
    location_virtual,
    stock_moves_post,
)
from omniretail.loyalty.domain import Reference
from omniretail.loyalty.services import giftcard_issue, points_earn
from omniretail.orders.domain import priced_from_engine
from omniretail.orders.events import SaleCompleted
from omniretail.orders.models import Order
from omniretail.orders.services import DuplicateExternalId, order_record_carry_out
from omniretail.payments.models import Payment
from omniretail.payments.take import TenderRequest, payments_take, tenders_check
from omniretail.pricing.engine_types import PricingResult
from omniretail.pricing.selectors import QuoteItem, cart_price
from omniretail.pricing.services import coupon_redeem

CENT = Decimal("0.01")
GIFT_CARD_KIND = Product.Kind.GIFT_CARD


@dataclass(frozen=True)
class SaleLine:
    quantity: int
    sku: str | None = None
    barcode: str | None = None
    discount_percent: Decimal = Decimal(0)  # staff's line discount, percent of the line
    discount_amount: Decimal = Decimal(0)  # or an amount off the line


@dataclass(frozen=True)
class Tender:
    type: str
    amount: Decimal
    token: str | None = None  # card: the gateway token from the card terminal
    code: str | None = None  # gift card code
    reference: str = ""  # check number
    offline_capture: bool = False  # card taken while offline: captured later
    brand: str = ""
    last4: str = ""


def tender_requests(tenders: Sequence[Tender]) -> list[TenderRequest]:
    """The till's tenders as payments takes them."""
    return [
        TenderRequest(
            type=t.type,
            amount=t.amount,
            token=t.token,
            code=t.code,
            reference=t.reference,
            offline_capture=t.offline_capture,
            brand=t.brand,
            last4=t.last4,
        )
        for t in tenders
    ]


@dataclass(frozen=True)
class OfflineSale:
    """A sale the till made while the server was unreachable: the number and
    hash the device gave it on the terminal's own series, and when."""

    receipt_number: int
    previous_hash: str
    hash: str
    sold_at: dt.datetime
    total_gross: Decimal | None = None  # what the till charged; covered by the hash


@dataclass(frozen=True)
class SaleResult:
    order: Order
    receipt: Receipt
    change: Money
    replayed: bool = False
    negative_stock: list[str] = field(default_factory=list)
    # Gift cards sold: code (shown this once, never stored), last4, amount.
    gift_cards: list[dict[str, str]] = field(default_factory=list)


def _resolve_lines(lines: list[SaleLine]) -> tuple[list[tuple[int, int]], dict]:
    """(variant id, quantity) per line, or one error naming every bad line."""
    if not lines:
        raise ValidationFailed("A sale needs at least one line; scan an item.", field="lines")
    errors: list[dict[str, str]] = []
    for i, line in enumerate(lines):
        if bool(line.sku) == bool(line.barcode):
            errors.append(
                {"field": f"lines[{i}]", "message": "give either a sku or a barcode, not both"}
            )
        if not isinstance(line.quantity, int) or line.quantity <= 0:
            errors.append(
                {
                    "field": f"lines[{i}].quantity",
                    "message": f"quantity must be a whole number above 0 (got {line.quantity}); "
                    "use a return to take items back",
                }
            )
    found = variants_by_code(
        skus=[line.sku for line in lines if line.sku],
        barcodes=[line.barcode for line in lines if line.barcode],
    )
    resolved: list[tuple[int, int]] = []
    for i, line in enumerate(lines):
        code = line.sku or line.barcode
        if not code:
            continue
        variant = found.get(code)
        label = "sku" if line.sku else "barcode"
        if variant is None:
            errors.append(
                {
                    "field": f"lines[{i}].{label}",
                    "message": f"unknown {label} {code!r}; check the code or look the item up "
                    "by name",
                }
            )
        elif not variant.active:
            errors.append(
                {"field": f"lines[{i}].{label}", "message": f"{code!r} is no longer sold"}
            )
        else:
            resolved.append((variant.pk, line.quantity))
    if errors:
        first = errors[0]
        raise ValidationFailed(
            f"{first['field']}: {first['message']}"
            + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""),
            field=first["field"],
            errors=errors,
        )
    return resolved, {v.pk: v for v in found.values()}


def _manual_discounts(
    lines: list[SaleLine],
    resolved: list[tuple[int, int]],
    amounts: list[Decimal],
    order_discount: Decimal,
    currency: str,
) -> list[Decimal]:
    """Staff discounts per line as amounts: a percent of the line, an amount,
    and the order discount spread over the lines in proportion."""
    errors: list[dict[str, str]] = []
    result: list[Decimal] = []
    for i, (line, amount) in enumerate(zip(lines, amounts, strict=True)):
        if not Decimal(0) <= line.discount_percent <= 100:
            errors.append(
                {"field": f"lines[{i}].discount_percent", "message": "give a percent from 0 to 100"}
            )
        if line.discount_amount < 0:
            errors.append({"field": f"lines[{i}].discount_amount", "message": "must be 0 or more"})
        off = (amount * line.discount_percent / 100 + line.discount_amount).quantize(CENT)
        if off > amount:
            errors.append(
                {
                    "field": f"lines[{i}].discount_amount",
                    "message": f"the discount {off} is more than the line ({amount})",
                }
            )
        result.append(min(off, amount))
    if order_discount < 0:
        errors.append({"field": "order_discount", "message": "must be 0 or more"})
    if errors:
        first = errors[0]
        raise ValidationFailed(
            f"{first['field']}: {first['message']}", field=first["field"], errors=errors
        )
    if order_discount:
        left = [a - d for a, d in zip(amounts, result, strict=True)]
        if order_discount > sum(left, Decimal(0)):
            raise ValidationFailed(
                f"order_discount {order_discount} is more than the sale "
                f"({sum(left, Decimal(0))}); lower it.",
                field="order_discount",
            )
        shares = allocate(Money(order_discount, currency), [max(x, Decimal(0)) for x in left])
        result = [d + share.amount for d, share in zip(result, shares, strict=True)]
    return result


def _discount_check(
    *,
    actor: Actor,
    terminal: Terminal,
    given: Decimal,
    base: Decimal,
    approved_by_id: int | None,
    reason: str,
    cashier_id: int | None = None,
) -> str:
    """Staff discounts above the limit of the one who gives them (the signed-in
    cashier, else the acting user; a key rings up for a cashier) need a
    manager's approval; the limit per role is the till's (DiscountLimit).
    Returns the approver's label (audit-logged by the caller) or ''."""
    if not given:
        return ""
    percent = (given / base * 100) if base else Decimal(100)
    giver = actor
    if cashier_id is not None:
        user = get_user_model().objects.filter(pk=cashier_id, is_active=True).first()
        if user is not None:
            giver = actor_for_user(user)
    limit, role = discount_limit_of(giver, terminal.store_id)
    if percent <= limit:
        return ""
    if approved_by_id is None:
        raise PermissionDenied(
            f"A discount of {percent:.1f}% is above the {role.replace('_', ' ')}'s {limit}%: a "
            "manager must approve it (manager PIN).",
            field="approved_by",
            code="approval_needed",
        )
    user = get_user_model().objects.filter(pk=approved_by_id, is_active=True).first()
    if user is None or user.pk == actor.user_id:
        raise PermissionDenied(
            "The approver must be another active staff member.", field="approved_by"
        )
    approver = actor_for_user(user)
    if not approver.can("payments.refund_approve", store_id=terminal.store_id):
        raise PermissionDenied(
            f"{user} may not approve discounts at this store; ask a store manager.",
            field="approved_by",
        )
    if not reason.strip():
        raise ValidationFailed("Say why the discount is given.", field="discount_reason")
    if actor.api_key_prefix is not None:
        # A terminal key cannot vouch for a manager on its own: the manager
        # must have typed their PIN at this till for at least this discount.
        since = timezone.now() - dt.timedelta(minutes=30)
        overrides = AuditLog.objects.filter(
            action="pos.discount_override",
            object_type="terminal",
            object_id=str(terminal.pk),
            actor_user_id=user.pk,
            at__gte=since,
        ).values_list("data", flat=True)
        if not any(Decimal(d.get("percent", "0")) >= percent.quantize(CENT) for d in overrides):
            raise PermissionDenied(
                f"{user} must approve this {percent:.1f}% discount with their PIN at this till "
                "first (POST /api/v1/pos/overrides).",
                field="approved_by",
                code="approval_needed",
            )
    return approver.label


def _price(
    *,
    terminal: Terminal,
    resolved: list[tuple[int, int]],
    customer_id: int | None,
    coupon_codes: list[str],
    manual: list[Decimal] | None,
) -> PricingResult:
    return cart_price(
        channel_id=terminal.channel_id,
        store_id=terminal.store_id,
        customer_id=customer_id,
        items=[
            QuoteItem(
                quantity=qty,
                variant_id=sku_id,
                manual_discount=manual[i] if manual else Decimal(0),
                line_id=str(i + 1),
            )
            for i, (sku_id, qty) in enumerate(resolved)
        ],
        coupon_codes=coupon_codes,
    )


@transaction.atomic
def pos_sale_record(
    *,
    terminal: Terminal,
    client_uuid: UUID,
    lines: list[SaleLine],
    tenders: list[Tender],
    actor: Actor,
    customer_id: int | None = None,
    order_discount: Decimal = Decimal(0),
    discount_approved_by: int | None = None,
    discount_reason: str = "",
    coupon_codes: list[str] | None = None,
    cashier_id: int | None = None,
    offline: OfflineSale | None = None,
) -> SaleResult:
    """Ring up a carry-out sale: priced by the one pricing engine (price
    lists, promotions, coupons, staff discounts), stock store → customer,
    every tender taken (cash into the open drawer, card through the gateway,
    gift card, store credit, points, check, on account), loyalty points
    earned, then (in the same transaction, through `sale.completed`) the
    numbered, chained receipt and the journal entry. A retry with the same
    client UUID returns the first sale. Refused input changes nothing.

    An offline sale (`offline`) already happened: it is accepted even when
    stock goes negative, and whatever does not add up (stock, the device's
    receipt number or chain) is flagged on the order for the store manager."""
    require(actor, "sale.create", store_id=terminal.store_id)
    if actor.terminal_id is not None and actor.terminal_id != terminal.pk:
        raise Conflict(
            "This key belongs to another terminal; sell from the terminal the key was issued for.",
            field="terminal",
            code="forbidden",
        )
    if not terminal.active:
        raise Conflict(f"Terminal {terminal.code} is deactivated.", field="terminal")
    replay = Order.objects.filter(channel_id=terminal.channel_id, external_id=str(client_uuid))
    first = replay.first()
    if first is not None:
        return _result_of(first, replayed=True)
    company = terminal.store.company
    resolved, variants = _resolve_lines(lines)
    if customer_id is not None and not Customer.objects.filter(pk=customer_id).exists():
        raise ValidationFailed(
            f"No customer #{customer_id}; look the customer up again.", field="customer_id"
        )
    codes = [c for c in (coupon_codes or []) if c.strip()]
    wants_discount = order_discount or any(
        ln.discount_percent or ln.discount_amount for ln in lines
    )
    manual: list[Decimal] | None = None
    if wants_discount:
        before = _price(
            terminal=terminal,
            resolved=resolved,
            customer_id=customer_id,
            coupon_codes=codes,
            manual=None,
        )
        amounts = [line.amount - line.discount_total for line in before.lines]
        manual = _manual_discounts(lines, resolved, amounts, order_discount, company.currency)
        approver = _discount_check(
            actor=actor,
            terminal=terminal,
            given=sum(manual, Decimal(0)),
            base=sum(amounts, Decimal(0)),
            approved_by_id=discount_approved_by,
            reason=discount_reason,
            cashier_id=cashier_id,
        )
    quote = _price(
        terminal=terminal,
        resolved=resolved,
        customer_id=customer_id,
        coupon_codes=codes,
        manual=manual,
    )
    priced, totals, note = priced_from_engine(quote)
    requests = tender_requests(tenders)
    settlements = tenders_check(
        due=totals.gross,
        tenders=requests,
        cash_rounding_step=company.cash_rounding_step,
        customer_id=customer_id,
    )
    shop_floor = store_location(store_id=terminal.store_id)
    if shop_floor is None:
        raise Conflict(
            f"Store {terminal.store.code} has no store location to sell from; create one.",
            field="terminal",
        )
    cashier = _cashier_label(cashier_id, terminal)
    flags: list[str] = []
    if offline is not None:
        flags = _offline_flags(terminal, offline)
        flags += _offline_hash_flags(
            terminal=terminal,
            offline=offline,
            client_uuid=client_uuid,
            lines=lines,
            tenders=tenders,
            customer_id=customer_id,
            cashier_id=cashier_id,
            order_discount=order_discount,
        )
    try:
        order = order_record_carry_out(
            channel=terminal.channel,
            external_id=str(client_uuid),
            terminal=terminal,
            customer_id=customer_id,
            lines=priced,
            variants=variants,
            totals=totals,
            actor=actor,
            pricing=note,
            review_flags=list(flags),
            sold_offline_at=offline.sold_at if offline else None,
            cashier_label=cashier,
        )
    except DuplicateExternalId as dup:
        return _result_of(dup.order, replayed=True)
    if wants_discount and manual and sum(manual, Decimal(0)):
        audit_record(
            actor=actor,
            action="sale.discount",
            object_type="order",
            object_id=order.pk,
            store_id=terminal.store_id,
            reason=discount_reason,
            data={"discount": str(sum(manual, Decimal(0))), "approved_by": approver},
        )
    if note.coupon_codes:
        coupon_redeem(
            codes=list(note.coupon_codes),
            order_type="order",
            order_id=order.pk,
            customer_id=customer_id,
            at=timezone.now(),
        )
    # A kit leaves as its components; the kit itself holds no stock.
    customer_place = location_virtual(Location.Kind.CUSTOMER)
    # Gift cards are vouchers, not goods: no stock leaves; each unit is issued.
    vouchers = {pk for pk, v in variants.items() if v.product.kind == GIFT_CARD_KIND}
    goods = kit_expand(
        [(line.sku_id, line.quantity) for line in priced if line.sku_id not in vouchers],
        kit_components(variants),
    )
    gift_cards = _gift_cards_issue(order, vouchers, actor) if vouchers else []
    negatives = stock_moves_post(
        moves=[MoveSpec(sku_id, shop_floor.pk, customer_place.pk, qty) for sku_id, qty in goods],
        actor=actor,
        reference_type="order",
        reference_id=str(order.pk),
        reason="POS sale",
        allow_negative=True,  # the goods are in the customer's hands: the ledger was wrong
    )
    negative_report = _negative_report(negatives, shop_floor)
    flags += [f"stock below zero: {n}" for n in negative_report]
    taken = payments_take(
        order=order,
        tenders=requests,
        settlements=settlements,
        actor=actor,
        idempotency_key=str(client_uuid),
        terminal=terminal,
        customer_id=customer_id,
        offline=offline is not None,
    )
    flags += taken.shortfalls
    if customer_id is not None:
        _points_earn(order, customer_id, taken.payments)
    event_publish(
        SaleCompleted(
            order_id=order.pk,
            channel_id=order.channel_id,
            store_id=order.store_id,
            terminal_id=terminal.pk,
            total_gross=str(order.total_gross),
            currency=order.currency,
        )
    )
    receipt = receipt_for_order(order_id=order.pk)
    if receipt is None:
        raise RuntimeError("sale.completed was not handled: check omniretail.wiring")
    if offline is not None:
        if receipt.number != offline.receipt_number:
            flags.append(
                f"the till numbered this sale {offline.receipt_number}, the series gave "
                f"{receipt.number}"
            )
        order.device_receipt = {
            "number": offline.receipt_number,
            "previous_hash": offline.previous_hash,
            "hash": offline.hash,
            "sold_at": offline.sold_at.isoformat(),
        }
    if flags != order.review_flags or offline is not None:
        # What the store manager must look at, known only now the sale is done.
        order.review_flags = flags
        order.save(update_fields=["review_flags", "device_receipt"])
    return SaleResult(
        order=order,
        receipt=receipt,
        change=taken.change,
        negative_stock=negative_report,
        gift_cards=gift_cards,
    )


def _gift_cards_issue(order: Order, vouchers: set[int], actor: Actor) -> list[dict[str, str]]:
    """One card per gift card unit sold, loaded with what the unit was paid
    (its share of the line); the plain codes are returned once, to print."""
    issued: list[dict[str, str]] = []
    for line in order.lines.filter(sku_id__in=vouchers).order_by("line_no"):
        for n, value in enumerate(
            allocate(Money(line.gross, order.currency), [Decimal(1)] * line.quantity), 1
        ):
            card, code = giftcard_issue(
                amount=value.amount,
                currency=order.currency,
                reference=Reference("order_line", f"{line.pk}-{n}"),
                actor=SYSTEM,
                sold=True,
                store_id=order.store_id,
            )
            issued.append({"code": code, "last4": card.last4, "amount": format(value.amount, "f")})
    return issued


def _cashier_label(cashier_id: int | None, terminal: Terminal) -> str:
    if cashier_id is None:
        return ""
    user = get_user_model().objects.filter(pk=cashier_id, is_active=True).first()
    if user is None or not actor_for_user(user).can("sale.create", store_id=terminal.store_id):
        raise ValidationFailed(
            "cashier_id is not a cashier of this store; sign in again with your PIN.",
            field="cashier_id",
        )
    return user.get_username()


def _offline_flags(terminal: Terminal, offline: OfflineSale) -> list[str]:
    """An offline sale's device chain must continue the terminal's last sale:
    its previous hash is that sale's device hash (if it was offline too) or
    its receipt hash. A break is flagged, never refused: the sale happened."""
    last = (
        Receipt.objects.filter(terminal=terminal)
        .select_related("order")
        .order_by("-number")
        .first()
    )
    flags = [f"sold offline at {offline.sold_at.isoformat()}"]
    if last is None:
        return flags
    device = last.order.device_receipt or {}
    expected = device.get("hash") or last.hash
    if offline.previous_hash != expected:
        flags.append(
            f"the till's receipt chain does not continue receipt {last.full_number} "
            "(previous hash differs)"
        )
    return flags


def _offline_hash_flags(
    *,
    terminal: Terminal,
    offline: OfflineSale,
    client_uuid: UUID,
    lines: list[SaleLine],
    tenders: list[Tender],
    customer_id: int | None,
    cashier_id: int | None,
    order_discount: Decimal,
) -> list[str]:
    """Recompute the device's hash from the sale as received: a mismatch
    means the sale was altered after the till numbered it. Flagged, never
    refused: the sale happened."""
    if offline.total_gross is None:
        return ["the till sent no total_gross with this offline sale: its hash cannot be checked"]
    body = {
        "client_uuid": str(client_uuid),
        "cashier_id": cashier_id,
        "customer_id": customer_id,
        "lines": [
            {
                "sku": ln.sku,
                "barcode": ln.barcode,
                "quantity": ln.quantity,
                "discount_amount": ln.discount_amount,
            }
            for ln in lines
        ],
        "order_discount": order_discount,
        "tenders": [{"type": t.type, "amount": t.amount} for t in tenders],
        "offline": {
            "receipt_number": offline.receipt_number,
            "previous_hash": offline.previous_hash,
            "hash": offline.hash,
            "sold_at": offline.sold_at,
            "total_gross": offline.total_gross,
        },
    }
    series = terminal.receipt_series
    problem = offline_hash_check(
        body, terminal=terminal.code, full_number=series.format(offline.receipt_number)
    )
    return [problem] if problem else []


def _points_earn(order: Order, customer_id: int, payments: list[Payment]) -> None:
    """Points on what the customer paid with money: the part paid with points
    earns none."""
    by_points = sum((p.amount for p in payments if p.tender == "loyalty"), Decimal(0))
    if not order.total_gross:
        return
    earning = (order.total_net * (order.total_gross - by_points) / order.total_gross).quantize(CENT)
    if earning > 0:
        customer = Customer.objects.get(pk=customer_id)
        points_earn(
            customer=customer,
            net_amount=earning,
            currency=order.currency,
            reference=Reference("order", str(order.pk)),
        )


def sale_load(*, order_id: int, actor: Actor) -> SaleResult | None:
    """A POS sale with its receipt, for the stores the actor may see."""
    order = Order.objects.select_related("channel").filter(pk=order_id).first()
    if order is None or order.terminal_id is None:
        return None
    require(actor, "orders.read", store_id=order.store_id)
    return _result_of(order, replayed=False)


def _result_of(order: Order, *, replayed: bool) -> SaleResult:
    receipt = receipt_for_order(order_id=order.pk)
    if receipt is None:
        raise Conflict("This sale exists without a receipt; call support.", code="inconsistent")
    change = sum((p.change for p in order.payments.all()), Decimal(0))
    return SaleResult(order, receipt, Money(change, order.currency), replayed=replayed)


def _negative_report(negatives: list[NegativeStock], location: Location) -> list[str]:
    """Levels a sale took below zero: the ledger was wrong, flag it to the store."""
    if not negatives:
        return []
    codes = dict(
        Variant.objects.filter(pk__in=[n.sku_id for n in negatives]).values_list("pk", "sku")
    )
    return [f"{codes[n.sku_id]} at {location.code}: {n.on_hand}" for n in negatives]
