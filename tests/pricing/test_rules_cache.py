"""The rules cache: a warm cart price reads only the cart's own rows; a change
made through the ORM is seen by the next cart price in this process; a change
behind the ORM's back waits for the TTL; an explicit `at` reads the database;
coupons are never cached.

These tests commit (transaction=True), as production does: the cache must not
keep what a transaction wrote until it commits, and must drop what it had when
that transaction commits. The TTL runs on a clock the tests move by hand.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from omniretail.catalog.models import Category, TaxClass, Variant
from omniretail.catalog.services import VariantSpec, product_create
from omniretail.core.access import SYSTEM
from omniretail.core.models import Channel, Company
from omniretail.core.services import channel_create
from omniretail.pricing import rules_cache, selectors
from omniretail.pricing.engine_types import PricingResult
from omniretail.pricing.models import Coupon, PriceList, Promotion
from omniretail.pricing.selectors import QuoteItem, cart_price
from omniretail.pricing.services import coupon_redeem, price_set

pytestmark = pytest.mark.django_db(transaction=True)

HOUR = dt.timedelta(hours=1)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Web:
    channel: Channel
    mug: Variant  # 12.50 in the catalog, 10.00 in the web list; in Kitchen
    plate: Variant  # 20.00, no list price; in Garden
    kitchen: Category
    garden: Category
    standard: TaxClass
    variants: dict[int, Variant]  # as order intake holds them

    def price(self, *, at: dt.datetime | None = None, **kw: object) -> PricingResult:
        """The web shop's call: channel id and variant ids only."""
        items = [QuoteItem(1, variant_id=self.mug.pk), QuoteItem(1, variant_id=self.plate.pk)]
        return cart_price(channel_id=self.channel.pk, items=items, at=at, **kw)

    def intake_price(self) -> PricingResult:
        """The order intake's call: it holds the channel and the variants."""
        items = [QuoteItem(1, variant_id=self.mug.pk), QuoteItem(1, variant_id=self.plate.pk)]
        return cart_price(
            channel_id=self.channel.pk, items=items, channel=self.channel, variants=self.variants
        )


@pytest.fixture
def clock(monkeypatch, settings) -> Clock:
    settings.OMNI_PRICING_CACHE_SECONDS = 5
    ticking = Clock()
    monkeypatch.setattr(rules_cache, "clock", ticking)
    rules_cache.rules_cache_clear()
    yield ticking
    rules_cache.rules_cache_clear()  # the next test's rows may reuse these ids


@pytest.fixture
def web(clock) -> Web:
    company = Company.objects.create(code="acme", name="Acme", currency="EUR")
    channel = channel_create(company=company, code="web", name="Web shop", kind="web")
    channel = Channel.objects.select_related("company", "store").get(pk=channel.pk)
    standard = TaxClass.objects.create(code="standard", name="Standard", rate=Decimal("0.2000"))
    kitchen = Category.objects.create(code="kitchen", name="Kitchen")
    garden = Category.objects.create(code="garden", name="Garden")
    mug = product_create(code="mug", name="Mug", tax_class=standard, category=kitchen,
                         variants=[VariantSpec("MUG", "Grey", Decimal("12.50"))])  # fmt: skip
    plate = product_create(code="plate", name="Plate", tax_class=standard, category=garden,
                           variants=[VariantSpec("PLATE", "White", Decimal("20.00"))])  # fmt: skip
    web_list = PriceList.objects.create(code="web-eur", name="Web EUR", channel=channel)
    price_set(price_list=web_list, variant=mug.variants.get(), price=Decimal("10.00"),
              valid_from=timezone.now() - 24 * HOUR, actor=SYSTEM)  # fmt: skip
    variants = {v.pk: v for v in Variant.objects.select_related("product__tax_class")}
    return Web(channel, mug.variants.get(), plate.variants.get(), kitchen, garden, standard,
               variants)  # fmt: skip


def kitchen_promotion(web: Web, percent: str = "10", **kw: object) -> Promotion:
    promotion = Promotion.objects.create(
        code="kitchen", name="Kitchen", kind="percent_off", value=Decimal(percent), **kw
    )
    promotion.categories.add(web.kitchen)
    return promotion


def kitchen_promotion_with_coupon(web: Web) -> Promotion:
    promotion = Promotion.objects.create(code="ten", name="Ten off", kind="amount_off",
                                         target="order", value=Decimal("10"),
                                         coupon_required=True)  # fmt: skip
    promotion.channels.add(web.channel)
    return promotion


def discounts(result: PricingResult) -> list[Decimal]:
    return [line.discount_total for line in result.lines]


def test_a_warm_cart_price_reads_only_the_carts_own_rows(web, django_assert_num_queries):
    kitchen_promotion(web)
    cold = web.price()
    assert [line.unit_price for line in cold.lines] == [Decimal("10.00"), Decimal("20.00")]
    assert discounts(cold) == [Decimal("1.00"), Decimal("0.00")]
    # Order intake holds the channel and the variants: the price-list entries only.
    with django_assert_num_queries(1):
        assert web.intake_price() == cold
    # The web shop: its variants, then their price-list entries.
    with django_assert_num_queries(2):
        assert web.price() == cold
    # A coupon entered: the coupon row too (never cached).
    Coupon.objects.create(code="TEN", promotion=kitchen_promotion_with_coupon(web))
    web.price(coupon_codes=["ten"])  # warm again: the writes emptied the cache
    with django_assert_num_queries(3):
        assert web.price(coupon_codes=["ten"]).coupons_applied == ("TEN",)


def test_a_cart_without_any_price_list_needs_no_query_when_warm(web, django_assert_num_queries):
    PriceList.objects.update(active=False)  # behind the ORM's back...
    rules_cache.rules_cache_clear()  # ...so say it
    web.intake_price()
    with django_assert_num_queries(0):
        assert [line.unit_price for line in web.intake_price().lines] == [
            Decimal("12.50"),
            Decimal("20.00"),
        ]


def test_a_promotion_created_changed_or_deleted_is_seen_by_the_next_cart_price(web, clock):
    assert discounts(web.price()) == [Decimal("0.00"), Decimal("0.00")]  # cache warm
    promotion = kitchen_promotion(web)  # clock frozen: only the signals can tell
    assert discounts(web.price()) == [Decimal("1.00"), Decimal("0.00")]
    promotion.value = Decimal("20")
    promotion.save()
    assert discounts(web.price()) == [Decimal("2.00"), Decimal("0.00")]
    promotion.categories.add(web.garden)
    assert discounts(web.price()) == [Decimal("2.00"), Decimal("4.00")]
    promotion.categories.remove(web.kitchen)
    assert discounts(web.price()) == [Decimal("0.00"), Decimal("4.00")]
    promotion.channels.add(channel_create(company=web.channel.company, code="pos", name="POS",
                                          kind="web"))  # fmt: skip
    assert discounts(web.price()) == [Decimal("0.00"), Decimal("0.00")]  # not for the web now
    promotion.channels.clear()
    assert discounts(web.price()) == [Decimal("0.00"), Decimal("4.00")]
    promotion.delete()
    assert discounts(web.price()) == [Decimal("0.00"), Decimal("0.00")]


def test_tax_rates_and_categories_changed_through_the_orm_are_seen_at_once(web, clock):
    kitchen_promotion(web)
    assert web.price().totals.tax == Decimal("4.83")  # 9.00 / 6 + 20.00 / 6 = 1.50 + 3.33
    web.standard.rate = Decimal("0.1000")
    web.standard.save()
    assert web.price().totals.tax == Decimal("2.64")  # 9.00 / 11 + 20.00 / 11 = 0.82 + 1.82
    # Garden moves under Kitchen: the plate is now in the promotion's category.
    web.garden.parent = web.kitchen
    web.garden.save()
    assert discounts(web.price()) == [Decimal("1.00"), Decimal("2.00")]


def test_a_change_behind_the_orms_back_waits_for_the_ttl(web, clock, settings):
    kitchen_promotion(web)
    assert discounts(web.price()) == [Decimal("1.00"), Decimal("0.00")]
    Promotion.objects.update(value=Decimal("50"))  # no signal
    clock.now += 4.9
    assert discounts(web.price()) == [Decimal("1.00"), Decimal("0.00")]  # still cached
    clock.now += 0.2
    assert discounts(web.price()) == [Decimal("5.00"), Decimal("0.00")]  # TTL passed
    Promotion.objects.update(value=Decimal("30"))
    assert discounts(web.price()) == [Decimal("5.00"), Decimal("0.00")]
    rules_cache.rules_cache_clear()
    assert discounts(web.price()) == [Decimal("3.00"), Decimal("0.00")]
    # OMNI_PRICING_CACHE_SECONDS = 0: no cache at all.
    settings.OMNI_PRICING_CACHE_SECONDS = 0
    Promotion.objects.update(value=Decimal("40"))
    assert discounts(web.price()) == [Decimal("4.00"), Decimal("0.00")]


def test_an_explicit_at_other_than_now_reads_the_database(web, clock):
    now = timezone.now()
    kitchen_promotion(web, valid_to=now - HOUR)  # ended an hour ago
    assert discounts(web.price()) == [Decimal("0.00"), Decimal("0.00")]  # cache warm
    # A sale made two hours ago, priced at its time: the promotion was running.
    assert discounts(web.price(at=now - 2 * HOUR)) == [Decimal("1.00"), Decimal("0.00")]
    # A change behind the ORM's back: the cache does not know it, an explicit `at` does.
    Promotion.objects.update(valid_to=None, valid_from=now + HOUR)
    assert discounts(web.price()) == [Decimal("0.00"), Decimal("0.00")]
    assert discounts(web.price(at=now + 2 * HOUR)) == [Decimal("1.00"), Decimal("0.00")]
    Promotion.objects.update(valid_from=None)
    assert discounts(web.price()) == [Decimal("0.00"), Decimal("0.00")]  # still cached
    assert discounts(web.price(at=timezone.now())) == [Decimal("0.00"), Decimal("0.00")]  # now
    clock.now += 6
    assert discounts(web.price()) == [Decimal("1.00"), Decimal("0.00")]


def test_promotions_start_and_end_within_the_cache_exactly_as_in_sql(
    web, clock, monkeypatch, django_assert_num_queries
):
    monkeypatch.setattr(selectors, "NOW_SLACK", dt.timedelta(hours=1))  # both calls are "now"
    now = timezone.now()
    kitchen_promotion(web, valid_to=now + dt.timedelta(milliseconds=500))
    garden = Promotion.objects.create(code="garden", name="Garden", kind="percent_off",
                                      value=Decimal("10"),
                                      valid_from=now + dt.timedelta(milliseconds=500))  # fmt: skip
    garden.categories.add(web.garden)
    assert discounts(web.price(at=now)) == [Decimal("1.00"), Decimal("0.00")]
    with django_assert_num_queries(2):  # from the cache loaded at `now`
        later = web.price(at=now + dt.timedelta(milliseconds=900))
    assert discounts(later) == [Decimal("0.00"), Decimal("2.00")]


def test_an_uncommitted_promotion_is_seen_by_its_transaction_only_and_gone_on_rollback(
    web, clock, django_assert_num_queries
):
    class Undo(Exception):
        pass

    def add_price_and_roll_back() -> None:
        with transaction.atomic():
            kitchen_promotion(web)
            assert discounts(web.price()) == [Decimal("1.00"), Decimal("0.00")]
            raise Undo

    web.price()  # cache warm
    with pytest.raises(Undo):
        add_price_and_roll_back()
    assert discounts(web.price()) == [Decimal("0.00"), Decimal("0.00")]
    with django_assert_num_queries(2):  # the cache serves again
        web.price()
    with transaction.atomic():
        kitchen_promotion(web)
    assert discounts(web.price()) == [Decimal("1.00"), Decimal("0.00")]  # committed: seen


def test_coupon_uses_are_never_cached(web, clock):
    promotion = kitchen_promotion_with_coupon(web)
    Coupon.objects.create(code="ONCE", promotion=promotion, max_uses=1)
    assert web.price(coupon_codes=["once"]).coupons_applied == ("ONCE",)
    coupon_redeem(codes=["once"], order_type="order", order_id=1)  # a conditional UPDATE
    result = web.price(coupon_codes=["once"])
    assert result.coupons_applied == ()
    assert result.rejected[0].reason == "Coupon ONCE has been used the maximum 1 times"
