"""Reads of the web shop's cart and of a customer's orders from every channel.
The catalogue as the shop shows it is in catalogue.py.

Batch-shaped: a page costs a fixed number of queries whatever its length."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection

from omniretail.core.errors import NotFound
from omniretail.core.models import Store
from omniretail.inventory.models import Location, Reservation
from omniretail.inventory.selectors import stock_available_by_location
from omniretail.orders.models import Order
from omniretail.pricing.engine_types import PricingResult
from omniretail.pricing.selectors import QuoteItem, cart_price

from .catalogue import StoreStock
from .domain import CART_DEMAND, cart_demand_id
from .models import Cart, CartLine, ShippingMethod

# --- The cart -------------------------------------------------------------------------


@dataclass(frozen=True)
class DiscountView:
    reason: str
    amount: Decimal


@dataclass(frozen=True)
class CartLineView:
    line_id: int
    sku_id: int
    sku: str
    product_code: str
    name: str
    quantity: int
    held: int
    unit_price: Decimal
    list_price: Decimal | None
    amount: Decimal
    discounts: list[DiscountView]
    gross: Decimal


@dataclass(frozen=True)
class CartView:
    cart: Cart | None
    lines: list[CartLineView] = field(default_factory=list)
    currency: str = ""
    subtotal: Decimal = Decimal(0)
    discount_total: Decimal = Decimal(0)
    tax: Decimal = Decimal(0)
    gross: Decimal = Decimal(0)
    coupons_applied: tuple[str, ...] = ()
    coupon_problems: list[str] = field(default_factory=list)
    pricing: PricingResult | None = None

    @property
    def count(self) -> int:
        return sum(line.quantity for line in self.lines)

    @property
    def short_lines(self) -> list[CartLineView]:
        return [line for line in self.lines if line.held < line.quantity]


def cart_units(*, token: str) -> int:
    """Units in the cart with this token (0 when it was ordered): one
    statement, read for every page's header."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT SUM(l.quantity) FROM {CartLine._meta.db_table} l "  # noqa: S608
            f"JOIN {Cart._meta.db_table} c ON c.id = l.cart_id "
            "WHERE c.token = %s AND c.status <> %s",
            [token, Cart.Status.ORDERED],
        )
        row = cursor.fetchone()
    return int(row[0] or 0) if row else 0


def cart_holds(cart: Cart) -> dict[int, dict[int, int]]:
    """What each line of the cart holds now: sku -> {location: units} (one query)."""
    lines = list(cart.lines.values_list("sku_id", flat=True))
    held: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for demand_id, location_id, qty in Reservation.objects.filter(
        demand_type=CART_DEMAND,
        demand_id__in=[cart_demand_id(cart.pk, sku) for sku in lines],
        status=Reservation.Status.ACTIVE,
    ).values_list("demand_id", "location_id", "quantity"):
        held[int(demand_id.split(":")[1])][location_id] += qty
    return held


def cart_lines(cart: Cart) -> list[CartLine]:
    return list(cart.lines.select_related("sku__product").order_by("added_at", "pk"))


def cart_view(*, cart: Cart | None, customer_id: int | None = None) -> CartView:
    if cart is None:
        return CartView(cart=None)
    lines = cart_lines(cart)
    if not lines:
        return CartView(cart=cart, currency=cart.channel.company.currency)
    held = cart_holds(cart)
    result = cart_price(
        channel_id=cart.channel_id,
        items=[
            QuoteItem(quantity=ln.quantity, variant_id=ln.sku_id, line_id=str(ln.pk))
            for ln in lines
        ],
        customer_id=customer_id,
        coupon_codes=list(cart.coupon_codes),
    )
    priced = {line.line_id: line for line in result.lines}
    views = []
    for ln in lines:
        p = priced[str(ln.pk)]
        views.append(
            CartLineView(
                line_id=ln.pk,
                sku_id=ln.sku_id,
                sku=ln.sku.sku,
                product_code=ln.sku.product.code,
                name=f"{ln.sku.product.name} — {ln.sku.name}",
                quantity=ln.quantity,
                held=sum(held.get(ln.sku_id, {}).values()),
                unit_price=p.unit_price,
                list_price=p.list_price if p.list_price > p.unit_price else None,
                amount=p.amount,
                discounts=[DiscountView(d.reason, d.amount) for d in p.discounts],
                gross=p.gross,
            )
        )
    return CartView(
        cart=cart,
        lines=views,
        currency=result.currency,
        subtotal=result.totals.subtotal,
        discount_total=result.totals.discount_total,
        tax=result.totals.tax,
        gross=result.totals.gross,
        coupons_applied=result.coupons_applied,
        coupon_problems=[f"{r.code}: {r.reason}" for r in result.rejected if r.kind == "coupon"],
        pricing=result,
    )


def shipping_methods() -> list[ShippingMethod]:
    return list(ShippingMethod.objects.filter(active=True))


def pickup_stores(*, cart: Cart) -> list[StoreStock]:
    """Stores that can give the whole cart at their counter: each line's
    quantity available there for the channel, counting what this cart
    already holds there (checkout gives those holds back first)."""
    lines = list(cart.lines.all())
    if not lines:
        return []
    held = cart_holds(cart)
    common: dict[str, StoreStock] | None = None
    for line in lines:
        rows = stock_available_by_location(
            sku_id=line.sku_id, channel_id=cart.channel_id, kinds=[Location.Kind.STORE]
        )
        ok = set()
        for r in rows:
            mine = held.get(line.sku_id, {}).get(r.location_id, 0)
            if r.store_id is not None and r.available + mine >= line.quantity:
                ok.add(r.store_id)
        stores = {s.code: s for s in Store.objects.filter(pk__in=ok, active=True)}
        found = {code: StoreStock(s.code, s.name, s.address, 0) for code, s in stores.items()}
        common = found if common is None else {c: v for c, v in common.items() if c in found}
    return sorted((common or {}).values(), key=lambda s: s.name)


# --- A customer's orders (every channel) -------------------------------------------------


def customer_orders(*, customer_id: int, limit: int = 100) -> list[Order]:
    return list(
        Order.objects.filter(customer_id=customer_id)
        .select_related("channel", "store", "pickup_store")
        .order_by("-placed_at", "-pk")[:limit]
    )


def customer_order(*, customer_id: int, order_id: int) -> Order:
    """One order of this customer, or NotFound (never someone else's)."""
    order = (
        Order.objects.select_related("channel", "store", "pickup_store")
        .prefetch_related("lines", "shipments")
        .filter(pk=order_id, customer_id=customer_id)
        .first()
    )
    if order is None:
        raise NotFound("No such order in your account.", field="order")
    return order
