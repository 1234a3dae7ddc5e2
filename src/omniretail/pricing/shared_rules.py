"""The parts of the pricing rules that no cart changes, each loaded with a
query or two and kept in the process-local rules cache (rules_cache.py):
a channel's company settings, store codes, category ancestors, tax rates,
price-list heads, promotions not ended with their targets, campaigns and
source codes. selectors.py filters them for one cart; what is the cart's own
(variants, price-list entries, customer, coupons) it reads itself.

`usable` (rules_cache_usable(), asked once per cart) is False when the cache
must not be used: then every call reads the database.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Q
from django.utils import timezone

from omniretail.catalog.models import Category, TaxClass
from omniretail.core.errors import NotFound
from omniretail.core.models import Channel, Company, Store
from omniretail.customers.models import CustomerGroup
from omniretail.pricing import models as m
from omniretail.pricing.engine_types import Campaign, PriceList, Promotion
from omniretail.pricing.rules_cache import rules_cache_watch, rules_cached


@dataclass(frozen=True)
class ChannelRow:
    """What pricing needs of a channel and its company."""

    pk: int
    code: str
    store_id: int | None
    store: str | None
    currency: str
    prices_include_tax: bool


@dataclass(frozen=True)
class ListHead:
    """An active price list (without its entries) and its customer group's id."""

    pk: int
    customer_group_id: int | None
    price_list: PriceList


@dataclass(frozen=True)
class PromotionRow:
    """A promotion for the engine, with the ids a cart's loader filters it by."""

    rule: Promotion
    channel_ids: frozenset[int]
    group_ids: frozenset[int]


@dataclass(frozen=True)
class Promotions:
    """The active promotions not ended at `as_of` (future ones included), in
    the order of the table (priority, highest first, then code)."""

    as_of: dt.datetime
    rows: tuple[PromotionRow, ...]


@dataclass(frozen=True)
class Campaigns:
    source_codes: dict[str, str]  # every active source code -> its campaign's code
    campaigns: dict[str, Campaign]  # every campaign by code


def rules_cache_watch_sources() -> None:
    """Empty the rules cache on any ORM write to a row these rules are read
    from (PricingConfig.ready). Coupons and price-list entries are read per
    cart, never cached: they are not watched."""
    rules_cache_watch(
        models=[
            m.Promotion, m.PriceList, m.Campaign, m.SourceCode,
            TaxClass, Category, Channel, Store, Company, CustomerGroup,
        ],
        m2m_through=[
            getattr(m.Promotion, name).through
            for name in ("variants", "products", "categories", "channels", "customer_groups")
        ],
    )  # fmt: skip


def channel_row(channel_id: int, *, usable: bool) -> ChannelRow:
    def load() -> ChannelRow:
        row = (
            Channel.objects.filter(pk=channel_id)
            .values_list(
                "code",
                "store_id",
                "store__code",
                "company__currency",
                "company__prices_include_tax",
            )
            .first()
        )
        if row is None:
            raise NotFound(f"No channel #{channel_id}; check the channel.", field="channel")
        return ChannelRow(channel_id, *row)

    return rules_cached(("channel", channel_id), load, usable=usable)


def store_code(store_id: int, *, usable: bool) -> str:
    def load() -> str:
        code = Store.objects.filter(pk=store_id).values_list("code", flat=True).first()
        if code is None:
            raise NotFound(f"No store #{store_id}; check the store.", field="store")
        return code

    return rules_cached(("store", store_id), load, usable=usable)


def category_ancestors(*, usable: bool) -> dict[int, tuple[int, ...]]:
    """Each category id -> itself and its ancestors, nearest first."""

    def load() -> dict[int, tuple[int, ...]]:
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

    return rules_cached(("categories",), load, usable=usable)


def tax_rates(*, usable: bool) -> dict[str, Decimal]:
    def load() -> dict[str, Decimal]:
        return dict(TaxClass.objects.order_by("code").values_list("code", "rate"))

    return rules_cached(("tax_rates",), load, usable=usable)


def list_heads(
    currency: str, channel_id: int, store_id: int | None, *, usable: bool
) -> tuple[ListHead, ...]:
    """Active lists in `currency` for the channel and store (or all of them),
    of every customer group, by id."""

    def load() -> tuple[ListHead, ...]:
        rows = (
            m.PriceList.objects.filter(
                Q(channel__isnull=True) | Q(channel_id=channel_id),
                Q(store__isnull=True) | Q(store_id=store_id),
                active=True,
                currency=currency,
            )
            .order_by("pk")
            .values_list(
                "pk",
                "customer_group_id",
                "code",
                "currency",
                "priority",
                "channel__code",
                "store__code",
                "customer_group__code",
            )
        )
        return tuple(
            ListHead(pk, group_id, PriceList(code, cur, prio, channel, store, group, ()))
            for pk, group_id, code, cur, prio, channel, store, group in rows
        )

    return rules_cached(("price_lists", currency, channel_id, store_id), load, usable=usable)


def campaigns(*, usable: bool) -> Campaigns:
    def load() -> Campaigns:
        sources = m.SourceCode.objects.filter(active=True).order_by("code")
        rows = m.Campaign.objects.order_by("code").values_list(
            "code", "name", "valid_from", "valid_to"
        )
        return Campaigns(
            source_codes=dict(sources.values_list("code", "campaign__code")),
            campaigns={code: Campaign(code, name, start, end) for code, name, start, end in rows},
        )

    return rules_cached(("campaigns",), load, usable=usable)


def promotions(at: dt.datetime, *, usable: bool) -> Promotions:
    """Promotions not ended at `at` or earlier: the cached ones when they were
    loaded at or before `at` (so none that ended in between is missing),
    otherwise read as of `at`."""
    if usable:
        cached = rules_cached(
            ("promotions",), lambda: _promotions_load(min(at, timezone.now())), usable=True
        )
        if cached.as_of <= at:
            return cached
    return _promotions_load(at)


def _promotions_load(as_of: dt.datetime) -> Promotions:
    heads = list(
        m.Promotion.objects.filter(Q(valid_to__isnull=True) | Q(valid_to__gt=as_of), active=True)
        .select_related("campaign")
        .order_by("-priority", "code")
    )
    if not heads:
        return Promotions(as_of, ())
    ids = [p.pk for p in heads]
    # name -> promotion id -> [(what the engine is given, the id to filter by)],
    # in the order of what the engine is given
    targets: dict[str, dict[int, list[tuple[Any, int]]]] = {}
    for name, value, key in (
        ("variants", "variant_id", None),
        ("products", "product_id", None),
        ("categories", "category_id", None),
        ("channels", "channel__code", "channel_id"),
        ("customer_groups", "customergroup__code", "customergroup_id"),
    ):
        through = getattr(m.Promotion, name).through
        rows = (
            through.objects.filter(promotion_id__in=ids)
            .order_by(value)
            .values_list("promotion_id", value, key or value)
        )
        found: dict[int, list[tuple[Any, int]]] = defaultdict(list)
        for promotion_id, label, pk in rows:
            found[promotion_id].append((label, pk))
        targets[name] = found

    def shown(name: str, promotion_id: int) -> tuple[Any, ...]:
        return tuple(v for v, _ in targets[name][promotion_id])

    def keys(name: str, promotion_id: int) -> frozenset[int]:
        return frozenset(k for _, k in targets[name][promotion_id])

    return Promotions(
        as_of,
        tuple(
            PromotionRow(
                Promotion(
                    id=p.pk,
                    code=p.code,
                    name=p.name,
                    kind=p.kind,  # type: ignore[arg-type]
                    value=p.value,
                    target=p.target,  # type: ignore[arg-type]
                    variant_ids=shown("variants", p.pk),
                    product_ids=shown("products", p.pk),
                    category_ids=shown("categories", p.pk),
                    buy_quantity=p.buy_quantity,
                    get_quantity=p.get_quantity,
                    min_spend=p.min_spend,
                    campaign=p.campaign.code if p.campaign else None,
                    exclusive=p.exclusive,
                    priority=p.priority,
                    valid_from=p.valid_from,
                    valid_to=p.valid_to,
                    channels=shown("channels", p.pk),
                    customer_groups=shown("customer_groups", p.pk),
                    coupon_required=p.coupon_required,
                ),
                channel_ids=keys("channels", p.pk),
                group_ids=keys("customer_groups", p.pk),
            )
            for p in heads
        ),
    )
