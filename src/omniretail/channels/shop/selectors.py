"""Reads of the web shop: the catalogue as the shop shows it (prices from the
one pricing engine, availability for the web channel, stores that have it),
the priced cart, and a customer's orders from every channel.

Batch-shaped: a page costs a fixed number of queries whatever its length."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.db.models import Q

from omniretail.catalog.models import Category, Product, Variant
from omniretail.core.errors import NotFound
from omniretail.core.models import Channel, Store
from omniretail.inventory.models import Location, Reservation
from omniretail.inventory.selectors import stock_available_by_location, stock_available_many
from omniretail.orders.models import Order
from omniretail.pricing.engine_types import PricingResult
from omniretail.pricing.selectors import QuoteItem, cart_price

from .domain import CART_DEMAND, cart_demand_id
from .models import Cart, CartLine, ShippingMethod

PER_PAGE = 24
CATEGORY_CACHE_S = 60
MAX_QUERY = 100


def shop_channel() -> Channel:
    """The channel the shop sells on (setting OMNI_SHOP_CHANNEL, default "web")."""
    code = getattr(settings, "OMNI_SHOP_CHANNEL", "web")
    key = f"shop:channel:{code}"
    channel = cache.get(key)
    if channel is not None:
        return channel
    channel = Channel.objects.select_related("company").filter(code=code, active=True).first()
    if channel is not None:
        # Read on every page: kept a minute per process (closing the channel
        # stops the shop within a minute; checkout re-reads it under lock).
        cache.set(key, channel, CATEGORY_CACHE_S)
        return channel
    if channel is None:
        raise NotFound(
            f"The web shop's channel {code!r} does not exist or is closed; create it "
            "(omni demo does) or set OMNI_SHOP_CHANNEL.",
            field="channel",
        )
    return channel


# --- Categories -------------------------------------------------------------------


@dataclass(frozen=True)
class CategoryNode:
    id: int
    code: str
    name: str
    parent_id: int | None
    children: tuple[str, ...]  # codes
    descendants: tuple[int, ...]  # ids, itself included


def category_tree(*, refresh: bool = False) -> dict[str, CategoryNode]:
    """Every category by code, with its children and descendants: read once
    a minute per process (the tree changes rarely; a new category shows in
    the menu within a minute, and its page at once: an unknown code reads the
    tree again)."""
    cached = None if refresh else cache.get("shop:category_tree")
    if cached is not None:
        return cached
    rows = list(Category.objects.order_by("name").values_list("id", "code", "name", "parent_id"))
    children: dict[int | None, list[tuple[int, str]]] = defaultdict(list)
    for pk, code, _name, parent in rows:
        children[parent].append((pk, code))

    def below(pk: int, seen: set[int]) -> list[int]:
        out = [pk]
        seen.add(pk)
        for child, _code in children.get(pk, []):
            if child not in seen:
                out += below(child, seen)
        return out

    tree = {
        code: CategoryNode(
            id=pk,
            code=code,
            name=name,
            parent_id=parent,
            children=tuple(c for _, c in children.get(pk, [])),
            descendants=tuple(below(pk, set())),
        )
        for pk, code, name, parent in rows
    }
    cache.set("shop:category_tree", tree, CATEGORY_CACHE_S)
    return tree


def category_roots(tree: dict[str, CategoryNode]) -> list[CategoryNode]:
    return [node for node in tree.values() if node.parent_id is None]


def category_path(tree: dict[str, CategoryNode], category_id: int | None) -> list[CategoryNode]:
    by_id = {node.id: node for node in tree.values()}
    path: list[CategoryNode] = []
    current = by_id.get(category_id) if category_id is not None else None
    while current is not None and current not in path:
        path.insert(0, current)
        current = by_id.get(current.parent_id) if current.parent_id is not None else None
    return path


# --- Prices and availability -------------------------------------------------------


@dataclass(frozen=True)
class Price:
    unit_price: Decimal
    list_price: Decimal | None  # shown crossed out (a sale) when set
    currency: str


def prices_for(*, channel: Channel, variant_ids: list[int]) -> dict[int, Price]:
    """The web channel's price of one unit of each variant, from the pricing
    engine (price lists and their sale rows); one engine run for all."""
    if not variant_ids:
        return {}
    result = cart_price(
        channel_id=channel.pk,
        items=[QuoteItem(quantity=1, variant_id=pk, line_id=str(pk)) for pk in variant_ids],
    )
    return {
        line.variant_id: Price(
            unit_price=line.unit_price,
            list_price=line.list_price if line.list_price > line.unit_price else None,
            currency=result.currency,
        )
        for line in result.lines
    }


@dataclass(frozen=True)
class ProductCard:
    code: str
    name: str
    brand: str
    price: Price | None
    available: int
    variant_count: int


@dataclass(frozen=True)
class ProductPage:
    items: list[ProductCard]
    page: int
    has_next: bool
    title: str
    query: str = ""
    category: CategoryNode | None = None


def _cards(channel: Channel, products: list[Product]) -> list[ProductCard]:
    variants = list(
        Variant.objects.filter(product_id__in=[p.pk for p in products], active=True)
        .order_by("product_id", "sku")
        .values_list("pk", "product_id")
    )
    per_product: dict[int, list[int]] = defaultdict(list)
    for pk, product_id in variants:
        per_product[product_id].append(pk)
    ids = [pk for pk, _ in variants]
    available = stock_available_many(sku_ids=ids, channel_id=channel.pk) if ids else {}
    prices = prices_for(channel=channel, variant_ids=ids)
    cards = []
    for product in products:
        mine = per_product.get(product.pk, [])
        cheapest = min(
            (prices[v] for v in mine if v in prices), key=lambda p: p.unit_price, default=None
        )
        cards.append(
            ProductCard(
                code=product.code,
                name=product.name,
                brand=product.brand,
                price=cheapest,
                available=sum(available.get(v, 0) for v in mine),
                variant_count=len(mine),
            )
        )
    return cards


def _page(qs, page: int) -> tuple[list[Product], bool]:  # type: ignore[no-untyped-def]
    """One page, and whether there is another, without counting the table."""
    page = max(page, 1)
    start = (page - 1) * PER_PAGE
    rows = list(qs.only("pk", "code", "name", "brand")[start : start + PER_PAGE + 1])
    return rows[:PER_PAGE], len(rows) > PER_PAGE


def _listed():  # type: ignore[no-untyped-def]
    return Product.objects.filter(active=True).order_by("name", "pk")


def products_newest(*, channel: Channel, limit: int = 8) -> list[ProductCard]:
    products = list(
        Product.objects.filter(active=True)
        .order_by("-pk")
        .only("pk", "code", "name", "brand")[:limit]
    )
    return _cards(channel, products)


def products_in_category(*, channel: Channel, code: str, page: int = 1) -> ProductPage:
    node = category_tree().get(code) or category_tree(refresh=True).get(code)
    if node is None:
        raise NotFound(f"No category {code!r}; choose one from the menu.", field="category")
    products, has_next = _page(_listed().filter(category_id__in=node.descendants), page)
    return ProductPage(_cards(channel, products), max(page, 1), has_next, node.name, category=node)


def products_search(*, channel: Channel, query: str, page: int = 1) -> ProductPage:
    """Name (contains, case-insensitive) or exact SKU / barcode (indexed)."""
    query = " ".join(query.split())[:MAX_QUERY]
    if not query:
        return ProductPage([], 1, False, "Search", query="")
    by_code = list(
        Variant.objects.filter(Q(sku__in={query, query.upper()}) | Q(barcode=query)).values_list(
            "product_id", flat=True
        )
    )
    qs = _listed().filter(Q(name__icontains=query) | Q(pk__in=by_code))
    products, has_next = _page(qs, page)
    return ProductPage(
        _cards(channel, products), max(page, 1), has_next, f"Search: {query}", query=query
    )


@dataclass(frozen=True)
class VariantView:
    id: int
    sku: str
    name: str
    price: Price | None
    available: int


@dataclass(frozen=True)
class StoreStock:
    code: str
    name: str
    address: str
    available: int


@dataclass(frozen=True)
class ProductView:
    product: Product
    path: list[CategoryNode]
    variants: list[VariantView]
    selected: VariantView | None
    stores: list[StoreStock]


def stores_with_stock(*, channel: Channel, sku_id: int) -> list[StoreStock]:
    """Stores whose shop floor has the SKU for this channel (its safety
    buffers kept back): where it can be picked up."""
    rows = [
        r
        for r in stock_available_by_location(
            sku_id=sku_id, channel_id=channel.pk, kinds=[Location.Kind.STORE]
        )
        if r.store_id is not None
    ]
    if not rows:
        return []
    stores = Store.objects.in_bulk([r.store_id for r in rows if r.store_id is not None])
    return [
        StoreStock(s.code, s.name, s.address, r.available)
        for r in rows
        if r.store_id is not None and (s := stores[r.store_id]).active and r.available > 0
    ]


def product_detail(*, channel: Channel, code: str, sku: str | None = None) -> ProductView:
    product = Product.objects.select_related("category").filter(code=code, active=True).first()
    if product is None:
        raise NotFound(f"No product {code!r} in the shop; it may no longer be sold.", field="code")
    variants = list(product.variants.filter(active=True).order_by("sku"))
    ids = [v.pk for v in variants]
    available = stock_available_many(sku_ids=ids, channel_id=channel.pk) if ids else {}
    prices = prices_for(channel=channel, variant_ids=ids)
    views = [
        VariantView(v.pk, v.sku, v.name, prices.get(v.pk), available.get(v.pk, 0)) for v in variants
    ]
    selected = next((v for v in views if v.sku == sku), None) or next(
        (v for v in views if v.available > 0), views[0] if views else None
    )
    stores = stores_with_stock(channel=channel, sku_id=selected.id) if selected else []
    return ProductView(
        product=product,
        path=category_path(category_tree(), product.category_id),
        variants=views,
        selected=selected,
        stores=stores,
    )


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
