"""Cart writes. Every line holds its stock in inventory for HOLD_MINUTES,
renewed on activity; an abandoned cart's holds expire by themselves
(inventory's periodic `reservations_expire`)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from omniretail.catalog.models import Product, Variant
from omniretail.core.access import Actor
from omniretail.core.errors import Conflict, NotFound, ValidationFailed
from omniretail.core.models import Channel
from omniretail.core.sql import rows_insert
from omniretail.inventory.models import Reservation
from omniretail.inventory.selectors import stock_available
from omniretail.inventory.services import (
    ChannelLine,
    InsufficientStock,
    reservations_release,
    stock_reserve_for_channel,
)
from omniretail.pricing.engine import normalise_code
from omniretail.pricing.selectors import QuoteItem, cart_price

from ..domain import (
    CART_DEMAND,
    MAX_LINE_QUANTITY,
    cart_demand_id,
    hold_expiry,
    hold_needs_renewal,
)
from ..models import Cart, CartLine

# The shop acts for its shoppers: what a shopper may see or change is checked
# here (their own cart, their own orders), not by staff roles.
SHOP_ACTOR = Actor(label="web shop", is_system=True)


def cart_create(*, channel: Channel, customer_id: int | None = None) -> Cart:
    return Cart.objects.create(
        token=secrets.token_urlsafe(24), channel=channel, customer_id=customer_id
    )


def _open(cart: Cart) -> Cart:
    if cart.status != Cart.Status.OPEN:
        raise Conflict(
            "This cart is being paid for or was already ordered; open your order or start a "
            "new cart.",
            field="cart",
            code="cart_closed",
        )
    return cart


def _locked(cart: Cart) -> Cart:
    # Only the cart's row is locked: carts of other shoppers never wait on each other.
    return _open(
        Cart.objects.select_for_update(of=("self",)).select_related("channel").get(pk=cart.pk)
    )


def _cart_hold_ids(cart: Cart, sku_ids: list[int]) -> list[int]:
    return list(
        Reservation.objects.filter(
            demand_type=CART_DEMAND,
            demand_id__in=[cart_demand_id(cart.pk, sku) for sku in sku_ids],
            status__in=(Reservation.Status.ACTIVE, Reservation.Status.BACKORDERED),
        ).values_list("pk", flat=True)
    )


def cart_holds_release(*, cart: Cart, sku_ids: list[int] | None = None) -> int:
    """Give back what the cart (or some of its lines) holds; in the caller's
    transaction."""
    if sku_ids is None:
        sku_ids = list(cart.lines.values_list("sku_id", flat=True))
    ids = _cart_hold_ids(cart, sku_ids)
    return reservations_release(reservation_ids=ids, actor=SHOP_ACTOR, reason="cart") if ids else 0


def _hold(cart: Cart, sku_id: int, quantity: int) -> None:
    stock_reserve_for_channel(
        lines=[ChannelLine(sku_id, quantity)],
        channel_id=cart.channel_id,
        demand_type=CART_DEMAND,
        demand_id=cart_demand_id(cart.pk, sku_id),
        actor=SHOP_ACTOR,
        expires_at=cart.holds_expire_at,
    )


def _renew(cart: Cart, *, force: bool = False) -> list[int]:
    """Hold every line again for a fresh HOLD_MINUTES when the holds are
    getting old (or were released). Lines whose stock has gone are kept in
    the cart without a hold (the cart page says what is left). Returns the
    SKUs that could not be held."""
    now = timezone.now()
    if not force and not hold_needs_renewal(cart.holds_expire_at, now):
        return []
    # Gift cards are vouchers issued when paid: nothing to hold.
    lines = list(cart.lines.exclude(sku__product__kind="gift_card").order_by("sku_id"))
    cart_holds_release(cart=cart, sku_ids=[ln.sku_id for ln in lines])
    cart.holds_expire_at = hold_expiry(now)
    cart.save(update_fields=["holds_expire_at", "updated_at"])
    short = []
    for line in lines:
        try:
            with transaction.atomic():
                _hold(cart, line.sku_id, line.quantity)
        except InsufficientStock:
            short.append(line.sku_id)
    return short


@transaction.atomic
def cart_holds_renew(*, cart: Cart, force: bool = False) -> list[int]:
    """On activity: keep the cart's stock for another HOLD_MINUTES."""
    return _renew(_locked(cart), force=force)


def _quantity(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_LINE_QUANTITY:
        raise ValidationFailed(
            f"quantity: give a whole number from 0 to {MAX_LINE_QUANTITY} (got {value!r}).",
            field="quantity",
        )
    return value


_CARTS = Cart._meta.db_table
_LINES = CartLine._meta.db_table
_VARIANTS = Variant._meta.db_table
_PRODUCTS = Product._meta.db_table


def _sold(sku_id: int) -> tuple[str, str]:
    """(label, product kind) of a SKU still sold, or NotFound (one statement:
    every add to cart asks)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT p.name, v.name, p.kind FROM {_VARIANTS} v "  # noqa: S608
            f"JOIN {_PRODUCTS} p ON p.id = v.product_id WHERE v.id = %s AND v.active AND p.active",
            [sku_id],
        )
        row = cursor.fetchone()
    if row is None:
        raise NotFound("This item is no longer sold; choose another.", field="sku")
    return f"{row[0]} — {row[1]}", row[2]


class _Short(Exception):
    """The new quantity could not be held (raised inside the transaction, so
    that everything it wrote is rolled back)."""

    def __init__(self, wanted: int) -> None:
        super().__init__(wanted)
        self.wanted = wanted


_UNREAD = (-1, -1)


def _line_write(
    cart: Cart,
    sku_id: int,
    quantity: int,
    *,
    add: bool,
    kind: str,
    line: tuple[int, int] | None = _UNREAD,
) -> tuple[int, int]:
    """In the caller's transaction, the cart locked: the line's new quantity,
    held. `line` is the line's (pk, quantity) when the caller read it (None:
    no such line). Holds are given back only when the line had some (a line
    and its holds are written together, so a new line has none). Returns the
    line's quantity before and after."""
    if line == _UNREAD:
        line = (
            CartLine.objects.filter(cart=cart, sku_id=sku_id).values_list("pk", "quantity").first()
        )
    current = line[1] if line else 0
    wanted = current + quantity if add else quantity
    if wanted > MAX_LINE_QUANTITY:
        raise ValidationFailed(
            f"quantity: at most {MAX_LINE_QUANTITY} of one item per order (you have {current}).",
            field="quantity",
        )
    if line is not None:
        cart_holds_release(cart=cart, sku_ids=[sku_id])
        if wanted == 0:
            CartLine.objects.filter(pk=line[0]).delete()
            return current, 0
        CartLine.objects.filter(pk=line[0]).update(quantity=wanted)
    elif wanted == 0:
        return current, 0
    else:
        rows_insert([CartLine(cart_id=cart.pk, sku_id=sku_id, quantity=wanted)])
    if kind != "gift_card":  # a voucher is issued when paid
        try:
            _hold(cart, sku_id, wanted)
        except InsufficientStock as exc:
            raise _Short(wanted) from exc
    return current, wanted


def _refused(cart: Cart, sku_id: int, label: str, wanted: int) -> Conflict:
    left = stock_available(sku_id=sku_id, channel_id=cart.channel_id)
    held = _held_now(cart, sku_id)
    return Conflict(
        f"{label}: only {left + held} available online; "
        f"you asked for {wanted}. Lower the quantity.",
        field="quantity",
        code="insufficient_stock",
        available=left + held,
    )


def cart_line_set(*, cart: Cart, sku_id: int, quantity: int, add: bool = False) -> int:
    """Set (or with add=True, increase) a line's quantity; 0 removes it. The
    new quantity is held before anything is saved: when the channel cannot
    supply it, nothing changes and the message says how many are left.
    Returns the line's new quantity."""
    quantity = _quantity(quantity)
    label, kind = _sold(sku_id)
    try:
        with transaction.atomic():
            cart = _locked(cart)
            _renew(cart)
            return _line_write(cart, sku_id, quantity, add=add, kind=kind)[1]
    except _Short as short:
        raise _refused(cart, sku_id, label, short.wanted) from None


@dataclass(frozen=True)
class CartAdded:
    cart: Cart
    quantity: int  # of the item in the cart now
    cart_count: int  # units in the whole cart now


def _locked_for_add(token: str, sku_id: int) -> Cart | None:
    """The cart with this token, its row locked, with the units in it
    (`item_count`) and its line of this SKU (`line_id`, `line_quantity`), in
    one statement: every add to cart runs it."""
    lock = " FOR UPDATE OF c" if connection.features.has_select_for_update_of else ""
    found = Cart.objects.raw(
        "SELECT c.id, c.token, c.channel_id, c.status, c.holds_expire_at, "  # noqa: S608
        f"(SELECT COALESCE(SUM(x.quantity), 0) FROM {_LINES} x WHERE x.cart_id = c.id) "
        "AS item_count, l.id AS line_id, l.quantity AS line_quantity "
        f"FROM {_CARTS} c LEFT JOIN {_LINES} l ON l.cart_id = c.id AND l.sku_id = %s "
        f"WHERE c.token = %s{lock}",
        [sku_id, token],
    )
    return next(iter(found), None)


def cart_line_add(
    *,
    token: str | None,
    channel: Channel,
    sku_id: int,
    quantity: int,
    customer_id: int | None = None,
) -> CartAdded:
    """Add to the shopper's cart (the one with `token`; a new cart when there
    is none or it was ordered): the line's new quantity is held, or nothing
    changes (not even a new cart) and the message says how many are left.
    Reads the cart and its units once, under its lock, so the count comes
    back without another read."""
    if isinstance(quantity, int) and not isinstance(quantity, bool) and quantity < 1:
        raise ValidationFailed("quantity: add 1 or more.", field="quantity")
    quantity = _quantity(quantity)
    label, kind = _sold(sku_id)
    cart: Cart | None = None
    try:
        with transaction.atomic():
            cart = _locked_for_add(token, sku_id) if token else None
            line: tuple[int, int] | None = None  # a new cart has no lines
            if cart is None or cart.status == Cart.Status.ORDERED:
                cart = Cart.objects.create(
                    token=secrets.token_urlsafe(24),
                    channel=channel,
                    customer_id=customer_id,
                    holds_expire_at=hold_expiry(timezone.now()),
                )
                count = 0
            else:
                count = _open(cart).item_count  # type: ignore[attr-defined]
                if cart.line_id is not None:  # type: ignore[attr-defined]
                    line = (cart.line_id, cart.line_quantity)  # type: ignore[attr-defined]
                _renew(cart)  # (holds again, lines unchanged)
            current, wanted = _line_write(cart, sku_id, quantity, add=True, kind=kind, line=line)
    except _Short as short:
        assert cart is not None  # a refused new cart was rolled back: it holds nothing
        raise _refused(cart, sku_id, label, short.wanted) from None
    return CartAdded(cart=cart, quantity=wanted, cart_count=count + wanted - current)


def _held_now(cart: Cart, sku_id: int) -> int:
    return sum(
        Reservation.objects.filter(
            demand_type=CART_DEMAND,
            demand_id=cart_demand_id(cart.pk, sku_id),
            status=Reservation.Status.ACTIVE,
        ).values_list("quantity", flat=True)
    )


@transaction.atomic
def cart_coupon_add(*, cart: Cart, code: str, customer_id: int | None = None) -> str:
    """Keep a coupon on the cart once the pricing engine accepts it here."""
    cart = _locked(cart)
    normal = normalise_code(code)
    if not normal:
        raise ValidationFailed("coupon: type the code from your voucher.", field="coupon")
    if normal in cart.coupon_codes:
        return normal
    items = [
        QuoteItem(quantity=q, variant_id=s) for s, q in cart.lines.values_list("sku_id", "quantity")
    ]
    if not items:
        raise ValidationFailed("coupon: add something to your cart first.", field="coupon")
    result = cart_price(
        channel_id=cart.channel_id,
        items=items,
        customer_id=customer_id,
        coupon_codes=[*cart.coupon_codes, normal],
    )
    for rejection in result.rejected:
        if rejection.kind == "coupon" and normalise_code(rejection.code) == normal:
            raise ValidationFailed(f"coupon: {rejection.reason}", field="coupon")
    cart.coupon_codes = [*cart.coupon_codes, normal]
    cart.save(update_fields=["coupon_codes", "updated_at"])
    return normal


@transaction.atomic
def cart_coupon_remove(*, cart: Cart, code: str) -> None:
    cart = _locked(cart)
    normal = normalise_code(code)
    cart.coupon_codes = [c for c in cart.coupon_codes if c != normal]
    cart.save(update_fields=["coupon_codes", "updated_at"])


@transaction.atomic
def cart_adopt(*, cart: Cart, customer_id: int) -> Cart:
    """A shopper signed in: the cart becomes theirs (prices for their group)."""
    locked = Cart.objects.select_for_update().get(pk=cart.pk)
    if locked.customer_id != customer_id:
        locked.customer_id = customer_id
        locked.save(update_fields=["customer", "updated_at"])
    return locked
