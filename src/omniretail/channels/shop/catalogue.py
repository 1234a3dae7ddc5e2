"""Reads of the storefront: the catalogue as the shop shows it (prices from
the one pricing engine, availability for the web channel, stores that have
it), category pages and search.

Batch-shaped: a page costs a fixed number of queries whatever its length.
What does not change per request is cached (caching.py says what, for how
long and when it is forgotten); prices are worked out by the engine on every
request, and what must never be stale (is it still sold, its base price) is
re-read on every request."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Model, Q

from omniretail.catalog.models import Category, KitComponent, Product, TaxClass, Variant
from omniretail.core.errors import NotFound
from omniretail.core.models import Channel, Store
from omniretail.core.sql import placeholders
from omniretail.inventory.domain import available, kit_available
from omniretail.inventory.models import ChannelLocation, Location, StockLevel
from omniretail.inventory.selectors import kit_components
from omniretail.pricing.selectors import QuoteItem, cart_price

from .caching import (
    CATEGORY_CACHE_S,
    LOCATIONS_CACHE_S,
    PRODUCT_CACHE_S,
    key,
)

PER_PAGE = 24
MAX_QUERY = 100


def shop_channel() -> Channel:
    """The channel the shop sells on (setting OMNI_SHOP_CHANNEL, default "web")."""
    code = getattr(settings, "OMNI_SHOP_CHANNEL", "web")
    cache_key = f"shop:channel:{code}"
    channel = cache.get(cache_key)
    if channel is not None:
        return channel
    channel = Channel.objects.select_related("company").filter(code=code, active=True).first()
    if channel is None:
        raise NotFound(
            f"The web shop's channel {code!r} does not exist or is closed; create it "
            "(omni demo does) or set OMNI_SHOP_CHANNEL.",
            field="channel",
        )
    # Read on every page: kept a minute per process (closing the channel
    # stops the shop within a minute; checkout re-reads it under lock).
    cache.set(cache_key, channel, CATEGORY_CACHE_S)
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
    a minute per process, and again after a category changes (the tree
    changes rarely; an unknown code reads the tree again)."""
    cache_key = key("category_tree")
    cached = None if refresh else cache.get(cache_key)
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
    cache.set(cache_key, tree, CATEGORY_CACHE_S)
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


def prices_for(*, channel: Channel, variants: Sequence[Variant]) -> dict[int, Price]:
    """The web channel's price of one unit of each variant (read with its
    product and tax class), from the pricing engine (price lists and their
    sale rows); one engine run for all."""
    if not variants:
        return {}
    result = cart_price(
        channel_id=channel.pk,
        channel=channel,
        items=[QuoteItem(quantity=1, variant_id=v.pk, line_id=str(v.pk)) for v in variants],
        variants={v.pk: v for v in variants},
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
class StoreStock:
    code: str
    name: str
    address: str
    available: int


@dataclass(frozen=True)
class Availability:
    online: dict[int, int]  # SKU -> units the channel can promise now
    # SKU -> (store id, units) of each active shop floor, by location code
    floors: dict[int, list[tuple[int, int]]]


def _channel_buffers(channel_id: int) -> dict[int, int]:
    """The channel's active locations and the units each keeps back."""
    cache_key = key("channel_locations", channel_id)
    buffers = cache.get(cache_key)
    if buffers is None:
        buffers = dict(
            ChannelLocation.objects.filter(
                channel_id=channel_id, location__active=True
            ).values_list("location_id", "safety_buffer")
        )
        cache.set(cache_key, buffers, LOCATIONS_CACHE_S)
    return buffers


def _stores() -> dict[int, tuple[str, str, str, bool]]:
    cache_key = key("stores")
    stores = cache.get(cache_key)
    if stores is None:
        stores = {
            pk: (code, name, address, active)
            for pk, code, name, address, active in Store.objects.values_list(
                "pk", "code", "name", "address", "active"
            )
        }
        cache.set(cache_key, stores, CATEGORY_CACHE_S)
    return stores


_LEVELS = StockLevel._meta.db_table
_PLACES = Location._meta.db_table
_VARIANTS = Variant._meta.db_table
_PRODUCTS = Product._meta.db_table
_TAXES = TaxClass._meta.db_table
_KITS = KitComponent._meta.db_table


def _in(values: Sequence[object]) -> str:
    return placeholders(len(values))


def _decimal(value: object, places: int) -> Decimal:
    """A decimal read by a plain statement: a Decimal on PostgreSQL, a number
    on SQLite (which the ORM would turn into a Decimal of the column's places)."""
    if isinstance(value, Decimal):
        return value
    return Decimal(str(value)).quantize(Decimal(1).scaleb(-places))


def _price(value: object) -> Decimal:
    return _decimal(value, 2)  # Variant.price: decimal_places=2


def availability(
    *,
    channel_id: int,
    sku_ids: Sequence[int],
    kits: dict[int, dict[int, int]],
    floors: bool = True,
) -> Availability:
    """What the channel can promise of each SKU (as inventory's
    `stock_available_many`: the sum over the channel's active locations of
    on hand - reserved - safety buffer, never below 0; a kit as whole kits
    from its components) and, with `floors`, what each active shop floor has
    for the channel (as `stock_available_by_location`) — in one statement
    (read for every page: names from the models, values as parameters)."""
    buffers = _channel_buffers(channel_id)
    wanted = sorted(set(sku_ids) | {c for comps in kits.values() for c in comps})
    sources = sorted(buffers)
    if not wanted or not (sources or floors):
        return Availability(dict.fromkeys(sku_ids, 0), {})
    where = [f"l.id IN ({_in(sources)})"] if sources else []
    if floors:
        where.append("(l.kind = %s AND l.store_id IS NOT NULL)")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT s.sku_id, s.location_id, s.on_hand, s.reserved, l.kind, l.store_id "  # noqa: S608
            f"FROM {_LEVELS} s JOIN {_PLACES} l ON l.id = s.location_id "
            f"WHERE s.sku_id IN ({_in(wanted)}) AND l.active AND ({' OR '.join(where)}) "
            "ORDER BY l.code",
            [*wanted, *sources, *([Location.Kind.STORE] if floors else [])],
        )
        rows = cursor.fetchall()
    free: dict[int, int] = defaultdict(int)
    on_floors: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for sku_id, location_id, on_hand, reserved, kind, store_id in rows:
        buffer = buffers.get(location_id)
        if buffer is not None:
            free[sku_id] += available(on_hand, reserved, buffer)
        if floors and kind == Location.Kind.STORE and store_id is not None:
            on_floors[sku_id].append((store_id, available(on_hand, reserved, buffer or 0)))
    online = {
        sku_id: kit_available(kits[sku_id], free) if sku_id in kits else free.get(sku_id, 0)
        for sku_id in sku_ids
    }
    return Availability(online, dict(on_floors))


def stores_having(floors: Iterable[tuple[int, int]]) -> list[StoreStock]:
    """Active stores whose floor has some for the channel: where to pick it up."""
    stores = _stores()
    found = []
    for store_id, units in floors:
        store = stores.get(store_id)
        if store is None:
            store = _stores_refreshed().get(store_id)
        if store is not None and store[3] and units > 0:
            found.append(StoreStock(store[0], store[1], store[2], units))
    return found


def _stores_refreshed() -> dict[int, tuple[str, str, str, bool]]:
    cache.delete(key("stores"))
    return _stores()


# --- Listings: category pages, search, newest ------------------------------------------


@dataclass(frozen=True)
class ProductCard:
    code: str
    name: str
    brand: str
    price: Price | None
    available: int
    variant_count: int
    product_id: int = 0


@dataclass(frozen=True)
class ProductPage:
    items: list[ProductCard]
    page: int
    has_next: bool
    title: str
    query: str = ""
    category: CategoryNode | None = None

    @property
    def product_ids(self) -> list[int]:
        return [card.product_id for card in self.items]


def _cards(channel: Channel, products: list[Product]) -> list[ProductCard]:
    ids = [p.pk for p in products]
    on_sale = (
        {item.product.pk: item for item in _on_sale(f"p.id IN ({_in(ids)})", ids)} if ids else {}
    )
    variants = [v for item in on_sale.values() for v in item.variants]
    kit_ids = [k for item in on_sale.values() for k in item.kit_ids]
    stock = availability(
        channel_id=channel.pk,
        sku_ids=[v.pk for v in variants],
        kits=kit_components(kit_ids) if kit_ids else {},
        floors=False,
    ).online
    prices = prices_for(channel=channel, variants=variants)
    cards = []
    for product in products:
        mine = [v.pk for v in on_sale[product.pk].variants] if product.pk in on_sale else []
        cheapest = min(
            (prices[v] for v in mine if v in prices), key=lambda p: p.unit_price, default=None
        )
        cards.append(
            ProductCard(
                code=product.code,
                name=product.name,
                brand=product.brand,
                price=cheapest,
                available=sum(stock.get(v, 0) for v in mine),
                variant_count=len(mine),
                product_id=product.pk,
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


def search_query(text: str) -> str:
    """A search as typed, tidied: single spaces, at most MAX_QUERY characters."""
    return " ".join(text.split())[:MAX_QUERY]


def products_search(*, channel: Channel, query: str, page: int = 1) -> ProductPage:
    """Name (contains, case-insensitive: on PostgreSQL through the trigram
    index of migration 0002) or exact SKU / barcode (unique indexes)."""
    query = search_query(query)
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


def products_still_listed(product_ids: Sequence[int]) -> bool:
    """Whether none of these products has been withdrawn since (one indexed
    statement): a cached listing is shown only when this holds."""
    if not product_ids:
        return True
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 1 FROM {_PRODUCTS} WHERE id IN ({_in(product_ids)}) AND NOT active",  # noqa: S608
            list(product_ids),
        )
        return cursor.fetchone() is None


# --- The product page ----------------------------------------------------------------


@dataclass(frozen=True)
class ProductStatic:
    """What a product page shows that is the same for every shopper: cached."""

    product: Product
    variants: tuple[Variant, ...]  # active, by SKU, with product and tax class
    kits: dict[int, dict[int, int]]
    path: tuple[CategoryNode, ...]
    read_at: int  # ns: what is rendered from it is cached under this stamp


M = TypeVar("M", bound=Model)


def _loaded(model: type[M], values: dict[str, object]) -> M:
    """An instance as the ORM loads one with only some fields (the others
    load when touched)."""
    names = [f.attname for f in model._meta.concrete_fields if f.attname in values]
    return model.from_db(connection.alias, names, [values[n] for n in names])


@dataclass
class _OnSale:
    product: Product
    variants: list[Variant]  # active, by SKU, each with this product
    kit_ids: list[int]


def _on_sale(where: str, params: Sequence[object]) -> list[_OnSale]:
    """Products on sale (`where` on `p`), each with its tax class, its active
    variants by SKU and which of them are kits, in one statement (a product
    page not in the cache — with a large catalogue, most of them — and the
    cards of a listing). The models are loaded with only the fields the pages
    and the pricing engine use; others load when touched."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT p.id, p.code, p.name, p.description, p.brand, p.category_id, "  # noqa: S608
            "p.kind, t.id, t.code, t.rate, v.id, v.sku, v.name, v.price, "
            f"EXISTS (SELECT 1 FROM {_KITS} k WHERE k.kit_id = v.id) "
            f"FROM {_PRODUCTS} p JOIN {_TAXES} t ON t.id = p.tax_class_id "
            f"LEFT JOIN {_VARIANTS} v ON v.product_id = p.id AND v.active "
            f"WHERE p.active AND {where} ORDER BY p.id, v.sku",
            params,
        )
        rows = cursor.fetchall()
    found: dict[int, _OnSale] = {}
    for row in rows:
        item = found.get(row[0])
        if item is None:
            product = _loaded(Product, dict(zip(
                ("id", "code", "name", "description", "brand", "category_id", "kind",
                 "tax_class_id"), (*row[:7], row[7]), strict=True,
            )))  # fmt: skip
            product.tax_class = _loaded(
                TaxClass, {"id": row[7], "code": row[8], "rate": _decimal(row[9], 4)}
            )
            item = found[row[0]] = _OnSale(product, [], [])
        if row[10] is None:  # no variant on sale right now
            continue
        variant = _loaded(Variant, {
            "id": row[10], "product_id": row[0], "sku": row[11], "name": row[12],
            "price": _price(row[13]),
        })  # fmt: skip
        variant.product = item.product  # one object, pickled once
        item.variants.append(variant)
        if row[14]:
            item.kit_ids.append(variant.pk)
    return list(found.values())


def _product_static_read(code: str) -> ProductStatic:
    found = _on_sale("p.code = %s", [code])
    if not found:
        raise NotFound(f"No product {code!r} in the shop; it may no longer be sold.", field="code")
    (item,) = found
    return ProductStatic(
        product=item.product,
        variants=tuple(item.variants),
        kits=kit_components(item.kit_ids) if item.kit_ids else {},
        path=tuple(category_path(category_tree(), item.product.category_id)),
        read_at=time.time_ns(),
    )


def _still_sold(static: ProductStatic) -> bool:
    """Is the product still sold with the same variants? Sets each cached
    variant's base price to the one in the database now (one statement)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT v.id, v.price FROM {_VARIANTS} v JOIN {_PRODUCTS} p "  # noqa: S608
            "ON p.id = v.product_id WHERE p.id = %s AND p.active AND v.active",
            [static.product.pk],
        )
        live = {pk: _price(value) for pk, value in cursor.fetchall()}
    if not live or live.keys() != {v.pk for v in static.variants}:
        return False
    for v in static.variants:
        v.price = live[v.pk]
    return True


def product_static(code: str) -> tuple[ProductStatic, bool]:
    """A product's page data, and whether it came from the cache."""
    cache_key = key("product", code)
    cached = cache.get(cache_key)
    if cached is not None and _still_sold(cached):
        return cached, True
    static = _product_static_read(code)
    cache.set(cache_key, static, PRODUCT_CACHE_S)
    return static, False


@dataclass(frozen=True)
class VariantView:
    id: int
    sku: str
    name: str
    price: Price | None
    available: int


@dataclass(frozen=True)
class ProductView:
    product: Product
    path: list[CategoryNode]
    variants: list[VariantView]
    selected: VariantView | None
    stores: list[StoreStock]
    read_at: int = 0  # of the cached page data it shows


def product_detail(*, channel: Channel, code: str, sku: str | None = None) -> ProductView:
    static, _ = product_static(code)
    variants = list(static.variants)
    # Read on every request (one statement): a shopper who saw the last unit
    # go, or come back when another cart let go of it, sees it at once.
    stock = availability(channel_id=channel.pk, sku_ids=[v.pk for v in variants], kits=static.kits)
    prices = prices_for(channel=channel, variants=variants)
    views = [
        VariantView(v.pk, v.sku, v.name, prices.get(v.pk), stock.online.get(v.pk, 0))
        for v in variants
    ]
    selected = next((v for v in views if v.sku == sku), None) or next(
        (v for v in views if v.available > 0), views[0] if views else None
    )
    stores = stores_having(stock.floors.get(selected.id, [])) if selected else []
    return ProductView(
        product=static.product,
        path=list(static.path),
        variants=views,
        selected=selected,
        stores=stores,
        read_at=static.read_at,
    )
