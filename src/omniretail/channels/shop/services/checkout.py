"""Checkout: the cart becomes an order holding its stock, then the card is
authorised, outside the stock transaction.

1. One transaction: lock the cart, price it with the one pricing engine, give
   the cart's holds back and book the order (pending payment) routed by
   fulfilment exactly like any channel's order (`order_route`: the holds move
   to the order lines, at the routed locations). When stock ran out since the
   cart was filled, the transaction rolls back, nothing is charged and the
   customer is told which line and how many are left.
2. The card is authorised through the gateway adapter (no lock held).
3. Authorised: coupons are counted, the order confirmed (its confirmation
   e-mail goes out from `order.status_changed`) and allocated. Refused: the
   order is cancelled (holds released), the cart reopened and held again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction

from omniretail.core.errors import Conflict, DomainError, ValidationFailed
from omniretail.core.models import Store
from omniretail.core.money import Money, allocate
from omniretail.customers.services import customer_match_or_create
from omniretail.fulfilment.services import order_route
from omniretail.inventory.selectors import stock_available_many
from omniretail.inventory.services import InsufficientStock
from omniretail.loyalty.domain import Reference
from omniretail.loyalty.services import giftcard_issue
from omniretail.orders.models import Order
from omniretail.orders.services import (
    NewLine,
    NewOrder,
    order_allocate,
    order_cancel,
    order_confirm,
    order_create_with_lines,
    order_lines_fulfilled,
)
from omniretail.payments.gateways.base import GatewayError, token_check
from omniretail.payments.services import card_authorise, card_void
from omniretail.payments.take import TenderRequest, payments_take, tenders_check
from omniretail.pricing.selectors import QuoteItem, cart_price
from omniretail.pricing.services import coupon_redeem

from ..models import Cart, ShippingMethod
from ..selectors import cart_holds, cart_lines, pickup_stores
from .cart import SHOP_ACTOR, _renew, cart_holds_release

ADDRESS_FIELDS = ("name", "line1", "postcode", "city", "country")


@dataclass(frozen=True)
class CheckoutData:
    email: str
    first_name: str
    last_name: str
    fulfilment: str  # "ship" or "pickup"
    card_token: str
    phone: str = ""
    address: dict[str, str] = field(default_factory=dict)
    shipping_method: str = ""
    pickup_store: str = ""
    # Paid before the card: loyalty points (their money value) and a gift card.
    points_amount: Decimal = Decimal(0)
    gift_card_code: str = ""
    gift_card_amount: Decimal = Decimal(0)
    source_code: str = ""  # the campaign link the visit came from


@dataclass(frozen=True)
class ShortLine:
    name: str
    sku: str
    requested: int
    available: int


class OutOfStock(Conflict):
    code = "out_of_stock"


class PaymentRefused(Conflict):
    code = "payment_refused"


def _errors(
    cart: Cart, data: CheckoutData
) -> tuple[list[dict[str, str]], ShippingMethod | None, Store | None]:
    errors: list[dict[str, str]] = []

    def bad(where: str, message: str) -> None:
        errors.append({"field": where, "message": message})

    try:
        validate_email(data.email.strip())
    except DjangoValidationError:
        bad("email", "enter the e-mail address where we send your confirmation")
    if not data.first_name.strip():
        bad("first_name", "enter your first name")
    method = store = None
    if data.fulfilment == "ship":
        for name in ADDRESS_FIELDS:
            if not str(data.address.get(name, "")).strip():
                bad(f"address.{name}", "required to deliver your order")
        country = str(data.address.get("country", "")).strip()
        if country and (len(country) != 2 or not country.isalpha()):
            bad("address.country", "use the two-letter country code, e.g. FR")
        method = ShippingMethod.objects.filter(code=data.shipping_method, active=True).first()
        if method is None:
            bad("shipping_method", "choose a delivery method")
    elif data.fulfilment == "pickup":
        store = Store.objects.filter(code=data.pickup_store, active=True).first()
        if store is None or store.code not in {s.code for s in pickup_stores(cart=cart)}:
            bad("pickup_store", "choose one of the stores that have every item of your cart")
    else:
        bad("fulfilment", "choose delivery or pick-up in store")
    token = data.card_token.strip()
    if not token:
        bad("card_token", "enter your card details (the card form needs JavaScript)")
    else:
        try:
            token_check(token)
        except GatewayError:
            bad("card_token", "the card form sent something that is not a card token; retry")
    return errors, method, store


def _shortages(cart: Cart) -> list[ShortLine]:
    """After a refused booking: each line, what it asks and what is left for
    this shopper (free for the channel plus what the cart itself holds)."""
    lines = cart_lines(cart)
    free = stock_available_many(sku_ids=[ln.sku_id for ln in lines], channel_id=cart.channel_id)
    held = cart_holds(cart)
    result = []
    for ln in lines:
        left = free.get(ln.sku_id, 0) + sum(held.get(ln.sku_id, {}).values())
        if left < ln.quantity:
            result.append(
                ShortLine(f"{ln.sku.product.name} — {ln.sku.name}", ln.sku.sku, ln.quantity, left)
            )
    return result


@dataclass(frozen=True)
class _Booked:
    order: Order
    coupons: tuple[str, ...]
    backordered: bool


def _book(cart: Cart, data: CheckoutData, customer_id: int | None) -> _Booked:
    errors, method, store = _errors(cart, data)
    if errors:
        first = errors[0]
        raise ValidationFailed(
            f"{first['field']}: {first['message']}"
            + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""),
            field=first["field"],
            errors=errors,
        )
    with transaction.atomic():
        cart = Cart.objects.select_for_update().select_related("channel__company").get(pk=cart.pk)
        if cart.status != Cart.Status.OPEN:
            raise Conflict(
                "This cart was already ordered; see your order confirmation.",
                field="cart",
                code="cart_closed",
            )
        lines = cart_lines(cart)
        if not lines:
            raise ValidationFailed("Your cart is empty; add something first.", field="cart")
        if customer_id is None:
            customer_id = customer_match_or_create(
                actor=SHOP_ACTOR,
                email=data.email.strip(),
                phone=data.phone.strip() or None,
                first_name=data.first_name,
                last_name=data.last_name,
                channel=cart.channel,
            ).customer.pk
        priced = cart_price(
            channel_id=cart.channel_id,
            items=[
                QuoteItem(quantity=ln.quantity, variant_id=ln.sku_id, line_id=str(ln.pk))
                for ln in lines
            ],
            customer_id=customer_id,
            coupon_codes=list(cart.coupon_codes),
            source_code=data.source_code or None,
        )
        refused = [r for r in priced.rejected if r.kind == "coupon"]
        if refused:
            raise ValidationFailed(
                f"coupon: {refused[0].reason} Remove it from your cart to go on.", field="coupon"
            )
        channel = cart.channel
        by_line = {str(ln.pk): ln for ln in lines}
        # One order line per priced line, in the engine's order: the order
        # books the engine's figures (discounts and their reasons included).
        new_lines = [
            NewLine(
                sku_id=p.variant_id,
                quantity=p.quantity,
                unit_price=p.unit_price,
                tax_rate=p.tax_rate,
                description=f"{by_line[p.line_id].sku.product.name} {by_line[p.line_id].sku.name}",
            )
            for p in priced.lines
        ]
        shipping = method.price if method is not None else Decimal(0)
        cart.checkout_attempts += 1
        cart_holds_release(cart=cart, sku_ids=[ln.sku_id for ln in lines])
        order, order_lines = order_create_with_lines(
            new=NewOrder(
                channel=channel,
                external_id=f"WEB-{cart.pk:06d}-{cart.checkout_attempts}",
                lines=new_lines,
                currency=channel.company.currency,
                prices_include_tax=channel.company.prices_include_tax,
                fulfilment_method=data.fulfilment,
                customer_id=customer_id,
                email=data.email.strip(),
                pickup_store_id=store.pk if store is not None else None,
                shipping_address={k: str(data.address.get(k, "")).strip() for k in ADDRESS_FIELDS}
                if data.fulfilment == "ship"
                else {},
                shipping_gross=shipping,
                # Shipping is taxed at the highest rate of the goods it carries (EU practice).
                shipping_tax_rate=max(p.tax_rate for p in priced.lines),
                pricing=priced,
            ),
            actor=SHOP_ACTOR,
        )
        vouchers = {ln.sku_id for ln in lines if ln.sku.product.kind == "gift_card"}
        decision = order_route(
            order=order,
            actor=SHOP_ACTOR,
            # Gift cards are issued when paid, not picked from a shelf.
            new_lines=[ln for ln in order_lines if ln.sku_id not in vouchers],
            sku_codes={ln.sku_id: ln.sku.sku for ln in lines},
        )
        cart.status = Cart.Status.CHECKING_OUT
        cart.order = order
        cart.customer_id = customer_id
        cart.save(update_fields=["status", "order", "customer", "checkout_attempts", "updated_at"])
        return _Booked(order, priced.coupons_applied, bool(decision and decision.backordered))


def _reopen(cart: Cart, order: Order, reason: str) -> None:
    """Compensate a failed payment: cancel the order (its holds go back) and
    give the shopper their cart, held again, to retry."""
    order_cancel(order=order, actor=SHOP_ACTOR, reason=reason[:300])
    with transaction.atomic():
        locked = Cart.objects.select_for_update().get(pk=cart.pk)
        locked.status = Cart.Status.OPEN
        locked.order = None
        locked.save(update_fields=["status", "order", "updated_at"])
        _renew(locked, force=True)


def _vouchers_issue(order: Order, email: str) -> None:
    """Gift cards bought online: one card per unit, loaded with what it was
    paid, delivered at once (the lines are fulfilled) and e-mailed to the
    buyer after commit. The codes are never stored: only their hashes."""
    lines = list(order.lines.filter(sku__product__kind="gift_card").order_by("line_no"))
    if not lines:
        return
    issued: list[tuple[str, str]] = []
    for line in lines:
        shares = allocate(Money(line.gross, order.currency), [Decimal(1)] * line.quantity)
        for n, value in enumerate(shares, 1):
            _card, code = giftcard_issue(
                amount=value.amount,
                currency=order.currency,
                reference=Reference("order_line", f"{line.pk}-{n}"),
                actor=SHOP_ACTOR,
                sold=True,
            )
            issued.append((code, format(value.amount, "f")))
    order_lines_fulfilled(
        order=order,
        quantities={line.pk: line.quantity for line in lines},
        actor=SHOP_ACTOR,
        reason="gift cards issued",
    )
    body = "\n".join(
        [
            f"Your gift card{'s' if len(issued) > 1 else ''} from order {order.external_id}:",
            "",
            *(f"  {code}  —  {amount} {order.currency}" for code, amount in issued),
            "",
            "Spend it online or in any of our stores. Keep the code safe: it is the card.",
        ]
    )
    transaction.on_commit(
        lambda: send_mail(
            f"Your gift card{'s' if len(issued) > 1 else ''}",
            body,
            settings.DEFAULT_FROM_EMAIL,
            [email],
        )
    )


def _other_tenders(data: CheckoutData) -> list[TenderRequest]:
    tenders = []
    if data.points_amount > 0:
        tenders.append(TenderRequest(type="loyalty", amount=data.points_amount))
    if data.gift_card_code.strip() and data.gift_card_amount > 0:
        tenders.append(
            TenderRequest(
                type="gift_card", amount=data.gift_card_amount, code=data.gift_card_code.strip()
            )
        )
    return tenders


def checkout_place(*, cart: Cart, data: CheckoutData, customer_id: int | None = None) -> Order:
    """Book, pay and confirm the cart's order (see the module doc). Raises
    OutOfStock (with `short`: each line, requested and available) or
    PaymentRefused; in both cases nothing is charged and the cart stays."""
    if data.points_amount > 0 and customer_id is None:
        raise ValidationFailed(
            "Sign in to pay with your points; they belong to your account.",
            field="points_amount",
        )
    try:
        booked = _book(cart, data, customer_id)
    except InsufficientStock:
        short = _shortages(cart)
        first = short[0] if short else None
        message = (
            f"{first.name}: you asked for {first.requested}, only {first.available} left. "
            "Lower the quantity or remove it; nothing was charged."
            if first
            else "Some items just ran out; check your cart. Nothing was charged."
        )
        raise OutOfStock(
            message,
            field="cart",
            short=[s.__dict__ for s in short],
        )
    order = booked.order
    others = _other_tenders(data)
    on_card = order.total_gross - sum((t.amount for t in others), Decimal(0))
    if on_card < 0:
        _reopen(cart, order, "other tenders above the total")
        raise ValidationFailed(
            f"Points and gift card ({order.total_gross - on_card}) are more than the order "
            f"({order.total_gross}); lower them.",
            field="points_amount",
        )
    payment = None
    if on_card > 0:
        try:
            payment = card_authorise(
                order_id=order.pk,
                amount=on_card,
                token=data.card_token.strip(),
                actor=SHOP_ACTOR,
                idempotency_key=f"web-checkout-{order.external_id}",
            )
        except DomainError as exc:
            _reopen(cart, order, f"payment refused: {exc.code}")
            raise PaymentRefused(
                f"Your card was not accepted: {exc.message} Nothing was charged; your cart is "
                "still here.",
                field="card",
            )
    try:
        with transaction.atomic():
            if others:
                # Points and gift card are debited with the confirmation: a balance
                # that fell short in between voids the card and changes nothing.
                payments_take(
                    order=order,
                    tenders=others,
                    settlements=tenders_check(
                        due=Money(sum((t.amount for t in others), Decimal(0)), order.currency),
                        tenders=others,
                        cash_rounding_step=Decimal(0),
                        customer_id=order.customer_id,
                    ),
                    actor=SHOP_ACTOR,
                    idempotency_key=f"web-checkout-{order.external_id}",
                    customer_id=order.customer_id,
                )
            if booked.coupons:
                coupon_redeem(
                    codes=list(booked.coupons),
                    order_type="order",
                    order_id=order.pk,
                    customer_id=order.customer_id,
                )
            order_confirm(order=order, actor=SHOP_ACTOR, payment_status="authorized")
            if not booked.backordered:
                order_allocate(order=order, actor=SHOP_ACTOR, reason="stock held (web shop)")
            _vouchers_issue(order, data.email.strip())
            Cart.objects.filter(pk=cart.pk).update(status=Cart.Status.ORDERED)
    except DomainError as exc:  # e.g. the coupon's last use went to someone else
        if payment is not None:
            card_void(payment=payment, actor=SHOP_ACTOR)
        _reopen(cart, order, f"not confirmed: {exc.code}")
        raise PaymentRefused(
            f"{exc.message} Nothing was charged (the card authorisation was cancelled).",
            field=exc.field or "cart",
        )
    order.refresh_from_db()
    return order
