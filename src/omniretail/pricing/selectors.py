"""Reads: the rules in force loaded for the engine, a priced cart, the offline bundle.

A constant number of queries whatever the cart's size (about 15): no query
inside a loop. The engine (engine.py) does the pricing; these only load.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q
from django.utils import timezone

from omniretail.catalog.models import Category, TaxClass, Variant
from omniretail.core.errors import NotFound, ValidationFailed
from omniretail.core.models import Channel, Store
from omniretail.customers.models import Customer
from omniretail.pricing import models as m
from omniretail.pricing.engine import normalise_code, price_cart
from omniretail.pricing.engine_types import (
    Campaign,
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


def _scope(
    *,
    channel_id: int,
    store_id: int | None,
    customer_id: int | None,
    currency: str | None,
    channel: Channel | None = None,
    known_group: tuple[int | None, str | None] | None = None,
) -> _Scope:
    if channel is None or channel.pk != channel_id:
        channel = Channel.objects.select_related("company", "store").filter(pk=channel_id).first()
    if channel is None:
        raise NotFound(f"No channel #{channel_id}; check the channel.", field="channel")
    store_code: str | None = None
    if store_id is None and channel.store_id is not None:
        store_id, store_code = channel.store_id, channel.store.code  # type: ignore[union-attr]
    elif store_id is not None:
        store_code = Store.objects.filter(pk=store_id).values_list("code", flat=True).first()
        if store_code is None:
            raise NotFound(f"No store #{store_id}; check the store.", field="store")
    group_id: int | None = None
    group: str | None = None
    if customer_id is not None and known_group is not None:
        group_id, group_code = known_group
        return _Scope(
            channel_id=channel.pk,
            channel=channel.code,
            store_id=store_id,
            store=store_code,
            customer_id=customer_id,
            customer_group_id=group_id,
            customer_group=group_code,
            currency=(currency or channel.company.currency).upper(),
            prices_include_tax=channel.company.prices_include_tax,
        )
    if customer_id is not None:
        row = Customer.objects.filter(pk=customer_id).values_list("group_id", "group__code").first()
        if row is None:
            raise NotFound(f"No customer #{customer_id}; check the customer.", field="customer_id")
        group_id, group = row
    return _Scope(
        channel_id=channel.pk,
        channel=channel.code,
        store_id=store_id,
        store=store_code,
        customer_id=customer_id,
        customer_group_id=group_id,
        customer_group=group,
        currency=(currency or channel.company.currency).upper(),
        prices_include_tax=channel.company.prices_include_tax,
    )


def _category_ancestors() -> dict[int, tuple[int, ...]]:
    parents = dict(Category.objects.values_list("id", "parent_id"))
    result: dict[int, tuple[int, ...]] = {}
    for category_id in parents:
        chain: list[int] = []
        current: int | None = category_id
        while current is not None and current not in chain:
            chain.append(current)
            current = parents.get(current)
        result[category_id] = tuple(chain)
    return result


def cart_lines_build(
    items: Sequence[QuoteItem], known: Mapping[int, Variant] | None = None
) -> tuple[CartLine, ...]:
    """Resolve SKUs / variant ids into the engine's cart lines (two queries;
    one when the caller already holds the variants, with their product and
    tax class, by id)."""
    skus = {i.sku for i in items if i.sku}
    ids = {i.variant_id for i in items if i.variant_id is not None}
    found: Iterable[Variant]
    if known is not None and not skus and ids <= known.keys():
        found = [known[i] for i in ids]
    else:
        found = Variant.objects.select_related("product__tax_class").filter(
            Q(sku__in=skus) | Q(pk__in=ids)
        )
    by_sku = {v.sku: v for v in found}
    by_id = {v.pk: v for v in by_sku.values()}
    ancestors = _category_ancestors() if by_sku else {}
    lines: list[CartLine] = []
    for index, item in enumerate(items):
        variant = by_sku.get(item.sku or "") if item.sku else by_id.get(item.variant_id or 0)
        if variant is None:
            field = f"lines[{index}].sku" if item.sku else f"lines[{index}].variant_id"
            raise ValidationFailed(
                f"{field}: no SKU {item.sku or item.variant_id!r}; check the code.", field=field
            )
        product = variant.product
        lines.append(
            CartLine(
                line_id=item.line_id or str(index + 1),
                sku=variant.sku,
                variant_id=variant.pk,
                product_id=product.pk,
                tax_class=product.tax_class.code,
                base_price=variant.price,
                quantity=item.quantity,
                category_ids=ancestors.get(product.category_id, ()) if product.category_id else (),
                manual_discount=item.manual_discount,
            )
        )
    return tuple(lines)


def _price_lists(
    scope: _Scope, at: dt.datetime, variant_ids: Iterable[int] | None, *, any_group: bool
) -> tuple[PriceList, ...]:
    entries = m.PriceListEntry.objects.filter(
        Q(valid_to__isnull=True) | Q(valid_to__gt=at),
        price_list__active=True,
        price_list__currency=scope.currency,
    ).filter(
        Q(price_list__channel__isnull=True) | Q(price_list__channel_id=scope.channel_id),
        Q(price_list__store__isnull=True) | Q(price_list__store_id=scope.store_id),
    )
    if not any_group:
        entries = entries.filter(
            Q(valid_from__lte=at),
            Q(price_list__customer_group__isnull=True)
            | Q(price_list__customer_group_id=scope.customer_group_id),
        )
    if variant_ids is not None:
        entries = entries.filter(variant_id__in=list(variant_ids))
    rows = entries.order_by("price_list_id", "variant_id", "valid_from").values_list(
        "price_list__code",
        "price_list__currency",
        "price_list__priority",
        "price_list__channel__code",
        "price_list__store__code",
        "price_list__customer_group__code",
        "variant_id",
        "price",
        "valid_from",
        "valid_to",
    )
    heads: dict[str, tuple[Any, ...]] = {}
    grouped: dict[str, list[PriceEntry]] = defaultdict(list)
    for code, currency, priority, channel, store, group, variant_id, price, start, end in rows:
        heads[code] = (currency, priority, channel, store, group)
        grouped[code].append(PriceEntry(variant_id, price, start, end))
    return tuple(
        PriceList(code, cur, prio, channel, store, group, tuple(grouped[code]))
        for code, (cur, prio, channel, store, group) in heads.items()
    )


def _promotions(
    scope: _Scope, at: dt.datetime, coupon_codes: Sequence[str] | None
) -> tuple[Promotion, ...]:
    """Promotions not ended, for this channel. With coupon_codes (in force for
    one cart): already started, for the customer's group, and coupon-only ones
    only when one of their coupons was entered. Without (offline bundle): all."""
    channel_ok = Q(channels__isnull=True) | Q(channels=scope.channel_id)
    qs = m.Promotion.objects.filter(Q(valid_to__isnull=True) | Q(valid_to__gt=at), active=True)
    if coupon_codes is None:
        qs = qs.filter(channel_ok)
    else:
        # The entered coupons' promotions are loaded whatever their targets, so
        # that the engine can say why one does not apply.
        group_ok = Q(customer_groups__isnull=True) | Q(customer_groups=scope.customer_group_id)
        qs = qs.filter(
            Q(valid_from__isnull=True) | Q(valid_from__lte=at),
            (channel_ok & group_ok & Q(coupon_required=False)) | Q(coupons__code__in=coupon_codes),
        )
    heads = list(qs.distinct().select_related("campaign"))
    if not heads:
        return ()
    ids = [p.pk for p in heads]
    targets: dict[str, dict[int, list[Any]]] = {}
    for name, column in (
        ("variants", "variant_id"),
        ("products", "product_id"),
        ("categories", "category_id"),
        ("channels", "channel__code"),
        ("customer_groups", "customergroup__code"),
    ):
        through = getattr(m.Promotion, name).through
        found: dict[int, list[Any]] = defaultdict(list)
        for promotion_id, value in (
            through.objects.filter(promotion_id__in=ids)
            .order_by(column)
            .values_list("promotion_id", column)
        ):
            found[promotion_id].append(value)
        targets[name] = found
    return tuple(
        Promotion(
            id=p.pk,
            code=p.code,
            name=p.name,
            kind=p.kind,  # type: ignore[arg-type]
            value=p.value,
            target=p.target,  # type: ignore[arg-type]
            variant_ids=tuple(targets["variants"][p.pk]),
            product_ids=tuple(targets["products"][p.pk]),
            category_ids=tuple(targets["categories"][p.pk]),
            buy_quantity=p.buy_quantity,
            get_quantity=p.get_quantity,
            min_spend=p.min_spend,
            campaign=p.campaign.code if p.campaign else None,
            exclusive=p.exclusive,
            priority=p.priority,
            valid_from=p.valid_from,
            valid_to=p.valid_to,
            channels=tuple(targets["channels"][p.pk]),
            customer_groups=tuple(targets["customer_groups"][p.pk]),
            coupon_required=p.coupon_required,
        )
        for p in heads
    )


def _coupons(
    at: dt.datetime, coupon_codes: Sequence[str] | None, customer_id: int | None
) -> tuple[Coupon, ...]:
    qs = m.Coupon.objects.filter(Q(valid_to__isnull=True) | Q(valid_to__gt=at), active=True)
    if coupon_codes is not None:
        if not coupon_codes:
            return ()
        qs = qs.filter(code__in=coupon_codes)
    rows = list(qs.values_list("pk", "code", "promotion_id", "max_uses", "uses",
                               "per_customer_limit", "valid_from", "valid_to"))  # fmt: skip
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
    return tuple(
        Coupon(code, promotion_id, max_uses, uses, limit, used.get(pk, 0), start, end)
        for pk, code, promotion_id, max_uses, uses, limit, start, end in rows
    )


def _rules(
    scope: _Scope,
    at: dt.datetime,
    *,
    variant_ids: Iterable[int] | None,
    coupon_codes: Sequence[str] | None,
    source_code: str | None,
    rounding: Rounding,
) -> Rules:
    promotions = _promotions(scope, at, coupon_codes)
    sources = m.SourceCode.objects.filter(active=True)
    if coupon_codes is not None:  # one cart: only its source code
        sources = (
            sources.filter(code=normalise_code(source_code or ""))
            if source_code
            else sources.none()
        )
    source_codes = dict(sources.values_list("code", "campaign__code"))
    wanted = {p.campaign for p in promotions if p.campaign} | set(source_codes.values())
    campaigns = tuple(
        Campaign(code, name, start, end)
        for code, name, start, end in m.Campaign.objects.filter(code__in=wanted)
        .order_by("code")
        .values_list("code", "name", "valid_from", "valid_to")
    ) if wanted else ()  # fmt: skip
    return Rules(
        tax_mode="included" if scope.prices_include_tax else "excluded",
        tax_rates=dict(TaxClass.objects.order_by("code").values_list("code", "rate")),
        rounding=rounding,
        price_lists=_price_lists(scope, at, variant_ids, any_group=coupon_codes is None),
        promotions=promotions,
        coupons=_coupons(at, coupon_codes, scope.customer_id),
        campaigns=campaigns,
        source_codes=source_codes,
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
    scope = _scope(
        channel_id=channel_id, store_id=store_id, customer_id=customer_id, currency=currency
    )
    return _rules(
        scope,
        at or timezone.now(),
        variant_ids=variant_ids,
        coupon_codes=[normalise_code(c) for c in coupon_codes if c.strip()],
        source_code=source_code,
        rounding=rounding,
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
    (id, code) passes them and they are not read again."""
    if not items:
        raise ValidationFailed("lines: send at least one line.", field="lines")
    at = at or timezone.now()
    scope = _scope(
        channel_id=channel_id,
        store_id=store_id,
        customer_id=customer_id,
        currency=currency,
        channel=channel,
        known_group=customer_group,
    )
    lines = cart_lines_build(items, variants)
    codes = [normalise_code(c) for c in coupon_codes if c.strip()]
    rules = _rules(
        scope,
        at,
        variant_ids={line.variant_id for line in lines},
        coupon_codes=codes,
        source_code=source_code,
        rounding=rounding,
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
    at = at or timezone.now()
    scope = _scope(channel_id=channel_id, store_id=store_id, customer_id=None, currency=None)
    rules = _rules(
        scope, at, variant_ids=None, coupon_codes=None, source_code=None, rounding="line"
    )
    return {
        "generated_at": at.isoformat(),
        "channel": scope.channel,
        "store": scope.store,
        "currency": scope.currency,
        "rules": to_dict(rules),
    }
