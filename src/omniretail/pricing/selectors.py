"""Reads: the rules in force loaded for the engine, a priced cart, the offline bundle.

The parts of the rules that no cart changes (tax rates, category ancestors,
promotions with their targets, campaigns and source codes, price-list heads, a
channel's company settings) come from a short-lived process-local cache
(rules_cache.py). A warm cart price reads only its own rows: its variants
(unless the caller holds them), the customer's group, the price-list entries
of its variants and the coupons entered. No query inside a loop. The engine
(engine.py) does the pricing; these only load.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any, cast

from django.db import connection
from django.db.models import Count, Field, Q
from django.utils import timezone

from omniretail.catalog.models import Variant
from omniretail.core.errors import NotFound, ValidationFailed
from omniretail.core.models import Channel
from omniretail.core.sql import placeholders
from omniretail.customers.models import Customer
from omniretail.pricing import models as m
from omniretail.pricing import shared_rules as shared
from omniretail.pricing.engine import normalise_code, price_cart
from omniretail.pricing.engine_types import (
    CartLine,
    Context,
    Coupon,
    PriceEntry,
    PriceList,
    PricingInput,
    PricingResult,
    Promotion,
    Rounding,
    Rules,
    to_dict,
)
from omniretail.pricing.rules_cache import rules_cache_usable
from omniretail.pricing.shared_rules import ChannelRow

# An explicit `at` this close to the clock is "now" and may use the cache; any
# other (an offline sale priced at its sale time, a test travelling in time)
# reads everything from the database.
NOW_SLACK = dt.timedelta(seconds=1)


@dataclass(frozen=True)
class QuoteItem:
    """A cart line as a channel sends it: a SKU (or variant id) and a quantity."""

    quantity: int
    sku: str | None = None
    variant_id: int | None = None
    manual_discount: Decimal = Decimal(0)
    line_id: str | None = None


@dataclass(frozen=True)
class _Scope:
    channel_id: int
    channel: str
    store_id: int | None
    store: str | None
    customer_id: int | None
    customer_group_id: int | None
    customer_group: str | None
    currency: str
    prices_include_tax: bool


def _is_now(at: dt.datetime | None) -> bool:
    return at is None or abs(at - timezone.now()) <= NOW_SLACK


def _scope(
    *,
    channel_id: int,
    store_id: int | None,
    customer_id: int | None,
    currency: str | None,
    usable: bool,
    channel: Channel | None = None,
    known_group: tuple[int | None, str | None] | None = None,
) -> _Scope:
    given = channel if channel is not None and channel.pk == channel_id else None
    if given is not None:
        company = given.company
        row = ChannelRow(
            given.pk, given.code, given.store_id, None, company.currency, company.prices_include_tax
        )
    else:
        row = shared.channel_row(channel_id, usable=usable)
    store_code: str | None = None
    if store_id is None and row.store_id is not None:
        store_id = row.store_id
        store_code = given.store.code if given is not None else row.store  # type: ignore[union-attr]
    elif store_id is not None:
        store_code = shared.store_code(store_id, usable=usable)
    group_id: int | None = None
    group: str | None = None
    if customer_id is not None and known_group is not None:
        group_id, group = known_group
    elif customer_id is not None:
        found = (
            Customer.objects.filter(pk=customer_id).values_list("group_id", "group__code").first()
        )
        if found is None:
            raise NotFound(f"No customer #{customer_id}; check the customer.", field="customer_id")
        group_id, group = found
    return _Scope(
        channel_id=row.pk,
        channel=row.code,
        store_id=store_id,
        store=store_code,
        customer_id=customer_id,
        customer_group_id=group_id,
        customer_group=group,
        currency=(currency or row.currency).upper(),
        prices_include_tax=row.prices_include_tax,
    )


def cart_lines_build(
    items: Sequence[QuoteItem], known: Mapping[int, Variant] | None = None
) -> tuple[CartLine, ...]:
    """Resolve SKUs / variant ids into the engine's cart lines (one query for
    the variants, none when the caller already holds them, with their product
    and tax class, by id; category ancestors come from the rules cache)."""
    return _cart_lines(items, known, usable=rules_cache_usable())


def _cart_lines(
    items: Sequence[QuoteItem], known: Mapping[int, Variant] | None, *, usable: bool
) -> tuple[CartLine, ...]:
    skus = {i.sku for i in items if i.sku}
    ids = {i.variant_id for i in items if i.variant_id is not None}
    # variant id, sku, price, product id, category id, tax class code
    rows: Iterable[tuple[int, str, Decimal, int, int | None, str]]
    if known is not None and not skus and ids <= known.keys():
        rows = [
            (v.pk, v.sku, v.price, v.product_id, v.product.category_id, v.product.tax_class.code)
            for v in (known[i] for i in ids)
        ]
    else:
        if skus and ids:
            wanted = Q(sku__in=skus) | Q(pk__in=ids)
        else:
            wanted = Q(sku__in=skus) if skus else Q(pk__in=ids)
        rows = Variant.objects.filter(wanted).values_list(
            "pk", "sku", "price", "product_id", "product__category_id", "product__tax_class__code"
        )
    by_sku = {row[1]: row for row in rows}
    by_id = {row[0]: row for row in by_sku.values()}
    ancestors = shared.category_ancestors(usable=usable) if by_sku else {}
    lines: list[CartLine] = []
    for index, item in enumerate(items):
        row = by_sku.get(item.sku or "") if item.sku else by_id.get(item.variant_id or 0)
        if row is None:
            field = f"lines[{index}].sku" if item.sku else f"lines[{index}].variant_id"
            raise ValidationFailed(
                f"{field}: no SKU {item.sku or item.variant_id!r}; check the code.", field=field
            )
        variant_id, sku, price, product_id, category_id, tax_class = row
        lines.append(
            CartLine(
                line_id=item.line_id or str(index + 1),
                sku=sku,
                variant_id=variant_id,
                product_id=product_id,
                tax_class=tax_class,
                base_price=price,
                quantity=item.quantity,
                category_ids=ancestors.get(category_id, ()) if category_id else (),
                manual_discount=item.manual_discount,
            )
        )
    return tuple(lines)


def _price_lists(
    scope: _Scope,
    at: dt.datetime,
    variant_ids: Iterable[int] | None,
    *,
    any_group: bool,
    usable: bool,
) -> tuple[PriceList, ...]:
    heads = shared.list_heads(scope.currency, scope.channel_id, scope.store_id, usable=usable)
    if not any_group:
        heads = tuple(
            h
            for h in heads
            if h.customer_group_id is None or h.customer_group_id == scope.customer_group_id
        )
    wanted = None if variant_ids is None else list(variant_ids)
    if not heads or wanted == []:
        return ()
    grouped: dict[int, list[PriceEntry]] = defaultdict(list)
    for list_id, variant_id, price, start, end in _entry_rows(
        [h.pk for h in heads], wanted, at, started=not any_group
    ):
        grouped[list_id].append(PriceEntry(variant_id, price, start, end))
    return tuple(
        PriceList(
            h.price_list.code,
            h.price_list.currency,
            h.price_list.priority,
            h.price_list.channel,
            h.price_list.store,
            h.price_list.customer_group,
            tuple(grouped[h.pk]),
        )
        for h in heads
        if h.pk in grouped
    )


_ENTRY_COLUMNS = ("price_list", "variant", "price", "valid_from", "valid_to")


def _entry_fields() -> tuple[Field[Any, Any], ...]:
    opts = m.PriceListEntry._meta
    return tuple(cast("Field[Any, Any]", opts.get_field(name)) for name in _ENTRY_COLUMNS)


@lru_cache(maxsize=256)
def _entries_sql(vendor: str, lists: int, variants: int | None, started: bool) -> str:
    # Names come from the model's metadata; every value is a placeholder.
    quote = connection.ops.quote_name
    pl, variant, price, start, end = (quote(str(f.column)) for f in _entry_fields())
    where = [f"{pl} IN ({placeholders(lists)})", f"({end} IS NULL OR {end} > %s)"]
    if started:
        where.append(f"{start} <= %s")
    if variants is not None:
        where.append(f"{variant} IN ({placeholders(variants)})")
    return (
        f"SELECT {pl}, {variant}, {price}, {start}, {end} "  # noqa: S608
        f"FROM {quote(m.PriceListEntry._meta.db_table)} WHERE {' AND '.join(where)} "
        f"ORDER BY {pl}, {variant}, {start}"
    )


def _entry_rows(
    list_ids: list[int], variant_ids: list[int] | None, at: dt.datetime, *, started: bool
) -> list[tuple[int, int, Decimal, dt.datetime, dt.datetime | None]]:
    """Entries of these lists not ended at `at` (and started, with `started`),
    of these variants (all when None), by list, variant and start: the
    hottest read of every cart, so one plain statement built once per shape
    (the query compiler cost ten times the database's work). Values come back
    through the backend's converters, as the ORM gives them."""
    fields = _entry_fields()
    moment = fields[4].get_db_prep_value(at, connection)
    params: list[Any] = [*list_ids, moment]
    if started:
        params.append(moment)
    if variant_ids is not None:
        params.extend(variant_ids)
    sql = _entries_sql(
        connection.vendor,
        len(list_ids),
        None if variant_ids is None else len(variant_ids),
        started,
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    converting = []
    for index, field in enumerate(fields):
        col = field.cached_col
        found = connection.ops.get_db_converters(col) + col.get_db_converters(connection)
        if found:
            converting.append((index, col, found))
    if not converting:
        return rows
    result = []
    for row in rows:
        values = list(row)
        for index, col, converters in converting:
            for convert in converters:
                values[index] = convert(values[index], col, connection)
        result.append(tuple(values))
    return result


def _promotions(
    scope: _Scope,
    at: dt.datetime,
    coupon_promotion_ids: set[int] | None,
    *,
    usable: bool,
) -> tuple[Promotion, ...]:
    """Promotions not ended, for this channel. For one cart
    (`coupon_promotion_ids` = the promotions of the coupons entered): already
    started, for the customer's group, and coupon-only ones only when one of
    their coupons was entered. Without (offline bundle): all."""
    loaded = shared.promotions(at, usable=usable)
    chosen: list[Promotion] = []
    for row in loaded.rows:
        p = row.rule
        if p.valid_to is not None and p.valid_to <= at:
            continue
        channel_ok = not row.channel_ids or scope.channel_id in row.channel_ids
        if coupon_promotion_ids is None:
            if channel_ok:
                chosen.append(p)
            continue
        if p.valid_from is not None and p.valid_from > at:
            continue
        # The entered coupons' promotions are loaded whatever their targets, so
        # that the engine can say why one does not apply.
        group_ok = not row.group_ids or scope.customer_group_id in row.group_ids
        if p.id in coupon_promotion_ids or (channel_ok and group_ok and not p.coupon_required):
            chosen.append(p)
    return tuple(chosen)


_COUPON_COLUMNS = (
    "pk",
    "code",
    "promotion_id",
    "max_uses",
    "uses",
    "per_customer_limit",
    "valid_from",
    "valid_to",
)


def _coupons(
    at: dt.datetime, coupon_codes: Sequence[str] | None, customer_id: int | None
) -> tuple[tuple[Coupon, ...], set[int]]:
    """The coupons usable at `at` (those entered, or all for the offline
    bundle) with their usage, never cached; and the promotions of the codes
    entered, whatever the state of their coupons."""
    promotion_ids: set[int] = set()
    if coupon_codes is None:
        rows = list(
            m.Coupon.objects.filter(
                Q(valid_to__isnull=True) | Q(valid_to__gt=at), active=True
            ).values_list(*_COUPON_COLUMNS)
        )
    elif not coupon_codes:
        return (), promotion_ids
    else:
        entered = list(
            m.Coupon.objects.filter(code__in=coupon_codes).values_list(*_COUPON_COLUMNS, "active")
        )
        promotion_ids = {row[2] for row in entered}
        rows = [row[:8] for row in entered if row[8] and (row[7] is None or row[7] > at)]
    used: dict[int, int] = {}
    if customer_id is not None and rows:
        used = dict(
            m.CouponRedemption.objects.filter(
                coupon_id__in=[r[0] for r in rows], customer_id=customer_id
            )
            .values("coupon_id")
            .annotate(n=Count("id"))
            .values_list("coupon_id", "n")
        )
    coupons = tuple(
        Coupon(code, promotion_id, max_uses, uses, limit, used.get(pk, 0), start, end)
        for pk, code, promotion_id, max_uses, uses, limit, start, end in rows
    )
    return coupons, promotion_ids


def _rules(
    scope: _Scope,
    at: dt.datetime,
    *,
    variant_ids: Iterable[int] | None,
    coupon_codes: Sequence[str] | None,
    source_code: str | None,
    rounding: Rounding,
    usable: bool,
) -> Rules:
    coupons, coupon_promotion_ids = _coupons(at, coupon_codes, scope.customer_id)
    promotions = _promotions(
        scope, at, None if coupon_codes is None else coupon_promotion_ids, usable=usable
    )
    known = shared.campaigns(usable=usable)
    source_codes = known.source_codes
    if coupon_codes is not None:  # one cart: only its source code
        code = normalise_code(source_code or "")
        campaign = known.source_codes.get(code) if source_code else None
        source_codes = {code: campaign} if campaign is not None else {}
    wanted = {p.campaign for p in promotions if p.campaign} | set(source_codes.values())
    return Rules(
        tax_mode="included" if scope.prices_include_tax else "excluded",
        tax_rates=dict(shared.tax_rates(usable=usable)),
        rounding=rounding,
        price_lists=_price_lists(
            scope, at, variant_ids, any_group=coupon_codes is None, usable=usable
        ),
        promotions=promotions,
        coupons=coupons,
        campaigns=tuple(known.campaigns[c] for c in sorted(wanted) if c in known.campaigns),
        source_codes=dict(source_codes),
    )


def pricing_rules_in_force(
    *,
    channel_id: int,
    store_id: int | None = None,
    customer_id: int | None = None,
    currency: str | None = None,
    at: dt.datetime | None = None,
    variant_ids: Iterable[int] | None = None,
    coupon_codes: Sequence[str] = (),
    source_code: str | None = None,
    rounding: Rounding = "line",
) -> Rules:
    """The engine's rules for one cart: prices of `variant_ids` (all when
    None), promotions in force, the entered coupons with their usage (overall
    and by this customer), the source code's campaign, tax rates."""
    usable = _is_now(at) and rules_cache_usable()
    scope = _scope(
        channel_id=channel_id,
        store_id=store_id,
        customer_id=customer_id,
        currency=currency,
        usable=usable,
    )
    return _rules(
        scope,
        at or timezone.now(),
        variant_ids=variant_ids,
        coupon_codes=[normalise_code(c) for c in coupon_codes if c.strip()],
        source_code=source_code,
        rounding=rounding,
        usable=usable,
    )


def cart_price(
    *,
    channel_id: int,
    items: Sequence[QuoteItem],
    store_id: int | None = None,
    customer_id: int | None = None,
    currency: str | None = None,
    at: dt.datetime | None = None,
    coupon_codes: Sequence[str] = (),
    source_code: str | None = None,
    rounding: Rounding = "line",
    channel: Channel | None = None,
    variants: Mapping[int, Variant] | None = None,
    customer_group: tuple[int | None, str | None] | None = None,
) -> PricingResult:
    """Load the rules in force and run the engine: what every channel calls.
    A caller that already holds the channel (with its company), the
    variants (with product and tax class, by id) or the customer's group
    (id, code) passes them and they are not read again. With an explicit
    `at` other than now the rules are read from the database, not the cache."""
    if not items:
        raise ValidationFailed("lines: send at least one line.", field="lines")
    usable = _is_now(at) and rules_cache_usable()
    at = at or timezone.now()
    scope = _scope(
        channel_id=channel_id,
        store_id=store_id,
        customer_id=customer_id,
        currency=currency,
        usable=usable,
        channel=channel,
        known_group=customer_group,
    )
    lines = _cart_lines(items, variants, usable=usable)
    codes = [normalise_code(c) for c in coupon_codes if c.strip()]
    rules = _rules(
        scope,
        at,
        variant_ids={line.variant_id for line in lines},
        coupon_codes=codes,
        source_code=source_code,
        rounding=rounding,
        usable=usable,
    )
    context = Context(
        channel=scope.channel,
        currency=scope.currency,
        now=at,
        store=scope.store,
        customer_id=customer_id,
        customer_group=scope.customer_group,
        coupon_codes=tuple(coupon_codes),
        source_code=source_code,
    )
    return price_cart(PricingInput(lines=lines, context=context, rules=rules))


def pricing_rules_export(
    *, channel_id: int, store_id: int | None = None, at: dt.datetime | None = None
) -> dict[str, Any]:
    """The bundle a POS terminal downloads to price offline with the same
    engine: every price list of the channel and store (all customer groups,
    entries in force or scheduled), promotions not ended, active coupons with
    their usage at export time, campaigns and source codes, tax rates. The
    terminal fills `context` itself (customer group, now, coupons entered)."""
    usable = _is_now(at) and rules_cache_usable()
    at = at or timezone.now()
    scope = _scope(
        channel_id=channel_id, store_id=store_id, customer_id=None, currency=None, usable=usable
    )
    rules = _rules(
        scope,
        at,
        variant_ids=None,
        coupon_codes=None,
        source_code=None,
        rounding="line",
        usable=usable,
    )
    return {
        "generated_at": at.isoformat(),
        "channel": scope.channel,
        "store": scope.store,
        "currency": scope.currency,
        "rules": to_dict(rules),
    }
