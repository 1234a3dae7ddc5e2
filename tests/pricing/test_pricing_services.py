"""Prices, promotions and coupons from the database through the one engine:
effective-dated prices (a weekend sale starts and ends on its own), price
history, coupon limits, the offline bundle and the API."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from omniretail.catalog.models import Category
from omniretail.core.access import SYSTEM, Actor
from omniretail.core.apikeys import api_key_issue
from omniretail.core.errors import Conflict, PermissionDenied, ValidationFailed
from omniretail.core.models import AuditLog
from omniretail.core.services import channel_create
from omniretail.customers.models import Customer, CustomerGroup
from omniretail.pricing.models import (
    Campaign,
    Coupon,
    CouponRedemption,
    PriceList,
    PriceListEntry,
    Promotion,
    SourceCode,
)
from omniretail.pricing.selectors import (
    QuoteItem,
    cart_price,
    pricing_rules_export,
    pricing_rules_in_force,
)
from omniretail.pricing.services import coupon_redeem, price_set

pytestmark = pytest.mark.django_db

UTC = dt.UTC
THU = dt.datetime(2025, 6, 5, 12, 0, tzinfo=UTC)
FRI = dt.datetime(2025, 6, 6, 0, 0, tzinfo=UTC)
SAT = dt.datetime(2025, 6, 7, 15, 0, tzinfo=UTC)
MON = dt.datetime(2025, 6, 9, 0, 0, tzinfo=UTC)


@pytest.fixture
def web(shop):
    return channel_create(company=shop.company, code="web", name="Web shop", kind="web")


@pytest.fixture
def web_list(web):
    return PriceList.objects.create(code="web-eur", name="Web EUR", channel=web, currency="EUR")


def _price(channel, items, **kw):
    return cart_price(channel_id=channel.pk, items=items, **kw)


def test_no_list_the_variant_price_applies(shop, web):
    result = _price(web, [QuoteItem(2, sku="LS-M"), QuoteItem(1, sku="CAN-FIG")], at=THU)
    assert [line.unit_price for line in result.lines] == [Decimal("49.90"), Decimal("18.00")]
    assert result.totals.gross == Decimal("117.80")
    assert result.totals.tax == Decimal("17.57")  # 16.63 + 0.94
    assert result.tax_mode == "included"


def test_weekend_sale_starts_and_ends_on_its_own(shop, web, web_list):
    price_set(price_list=web_list, variant=shop.shirt_m, price=Decimal("45.00"),
              valid_from=THU - dt.timedelta(days=30), actor=SYSTEM)  # fmt: skip
    price_set(price_list=web_list, variant=shop.shirt_m, price=Decimal("39.90"),
              valid_from=FRI, valid_to=MON, actor=SYSTEM, reason="weekend sale")  # fmt: skip
    items = [QuoteItem(1, sku="LS-M")]
    seen = {at: _price(web, items, at=at).lines[0] for at in (THU, FRI, SAT, MON)}
    assert {at: line.unit_price for at, line in seen.items()} == {
        THU: Decimal("45.00"),
        FRI: Decimal("39.90"),
        SAT: Decimal("39.90"),
        MON: Decimal("45.00"),
    }
    assert seen[SAT].list_price == Decimal("45.00")  # crossed out during the sale
    assert seen[SAT].price_source == "price_list:web-eur"
    # Another channel never sees the web list.
    assert _price(shop.pos_channel, items, at=SAT).lines[0].unit_price == Decimal("49.90")


def test_price_change_adds_a_row_and_keeps_the_history(shop, web_list):
    first = price_set(price_list=web_list, variant=shop.mug, price=Decimal("12.00"),
                      valid_from=THU - dt.timedelta(days=10), actor=SYSTEM)  # fmt: skip
    second = price_set(price_list=web_list, variant=shop.mug, price=Decimal("11.00"),
                       valid_from=THU, actor=SYSTEM, reason="supplier discount")  # fmt: skip
    first.refresh_from_db()
    assert first.price == Decimal("12.00")
    assert first.valid_to == THU
    assert second.valid_to is None
    assert PriceListEntry.objects.filter(variant=shop.mug).count() == 2
    log = AuditLog.objects.get(action="price.set", object_id=str(second.pk))
    assert log.reason == "supplier discount"
    assert log.data["price"] == "11.00"
    with pytest.raises(Conflict):
        price_set(price_list=web_list, variant=shop.mug, price=Decimal("10.00"),
                  valid_from=THU, actor=SYSTEM)  # fmt: skip
    with pytest.raises(ValidationFailed) as bad:
        price_set(price_list=web_list, variant=shop.mug, price=Decimal("-1"), actor=SYSTEM)
    assert bad.value.field == "price"
    cashier = Actor(label="cashier", user_id=1, roles={"cashier": None})
    with pytest.raises(PermissionDenied):
        price_set(price_list=web_list, variant=shop.mug, price=Decimal("9.00"), actor=cashier)


def test_group_list_beats_channel_list_for_its_customers(shop, web, web_list):
    vip = CustomerGroup.objects.create(code="vip", name="VIP")
    ann = Customer.objects.create(first_name="Ann", email="ann@example.com", group=vip)
    bob = Customer.objects.create(first_name="Bob", email="bob@example.com")
    vip_list = PriceList.objects.create(code="web-vip", name="VIP", channel=web, customer_group=vip)
    price_set(price_list=web_list, variant=shop.shirt_m, price=Decimal("45.00"),
              valid_from=THU - dt.timedelta(days=1), actor=SYSTEM)  # fmt: skip
    price_set(price_list=vip_list, variant=shop.shirt_m, price=Decimal("40.00"),
              valid_from=THU - dt.timedelta(days=1), actor=SYSTEM)  # fmt: skip
    items = [QuoteItem(1, sku="LS-M")]
    assert _price(web, items, at=THU, customer_id=ann.pk).lines[0].unit_price == Decimal("40.00")
    assert _price(web, items, at=THU, customer_id=bob.pk).lines[0].unit_price == Decimal("45.00")


def _promotions(shop, web):
    home = Category.objects.create(code="home", name="Home")
    candles = Category.objects.create(code="candles", name="Candles", parent=home)
    shop.candle.product.category = candles
    shop.candle.product.save()
    summer = Campaign.objects.create(code="summer", name="Summer")
    SourceCode.objects.create(code="flyer-june", campaign=summer)
    home15 = Promotion.objects.create(code="home15", name="Home 15%", kind="percent_off",
                                      value=Decimal("15"), priority=10)  # fmt: skip
    home15.categories.add(home)
    welcome = Promotion.objects.create(
        code="welcome", name="Welcome", kind="amount_off", target="order", value=Decimal("10"),
        coupon_required=True, campaign=summer,
    )  # fmt: skip
    welcome.channels.add(web)
    Coupon.objects.create(code="welcome10", promotion=welcome, max_uses=1)
    return welcome


def test_promotions_coupons_and_source_code_from_the_database(shop, web):
    _promotions(shop, web)
    items = [QuoteItem(1, sku="LS-M"), QuoteItem(1, sku="CAN-FIG")]
    result = _price(web, items, at=THU, coupon_codes=["WELCOME10"], source_code="Flyer-June")
    # Candle (in Candles, under Home) 15 % off: 2.70. Then 10.00 off 49.90 + 15.30 = 65.20:
    # 7.653… / 2.346… → 7.65 + 2.34 = 9.99, the cent to the larger remainder (candle): 2.35.
    assert [line.discount_total for line in result.lines] == [Decimal("7.65"), Decimal("5.05")]
    assert result.totals.gross == Decimal("55.20")
    assert result.coupons_applied == ("WELCOME10",)
    assert result.campaign is not None
    assert (result.campaign.code, result.campaign.via) == ("summer", "source_code")
    # The coupon-only promotion runs on the web only.
    in_store = _price(shop.pos_channel, items, at=THU, coupon_codes=["welcome10"])
    assert in_store.coupons_applied == ()
    assert (
        in_store.rejected[0].reason
        == "Coupon WELCOME10: the promotion does not run on channel pos-paris"
    )


def test_the_query_count_does_not_grow_with_the_cart(shop, web, web_list):
    _promotions(shop, web)
    for variant in (shop.shirt_m, shop.shirt_l, shop.mug, shop.candle):
        price_set(price_list=web_list, variant=variant, price=Decimal("10.00"),
                  valid_from=THU - dt.timedelta(days=1), actor=SYSTEM)  # fmt: skip
    counts = []
    for skus in (["LS-M"], ["LS-M", "LS-L", "MUG-GR", "CAN-FIG"]):
        with CaptureQueriesContext(connection) as queries:
            _price(web, [QuoteItem(1, sku=s) for s in skus], at=THU, coupon_codes=["welcome10"])
        counts.append(len(queries))
    assert counts[0] == counts[1]
    assert counts[0] <= 16


def test_coupon_redeem_counts_uses_and_refuses_over_the_limit(shop, web):
    _promotions(shop, web)
    ann = Customer.objects.create(first_name="Ann", email="ann@example.com")
    [redemption] = coupon_redeem(codes=["welcome10"], order_type="order", order_id=1,
                                 customer_id=ann.pk)  # fmt: skip
    assert redemption.coupon.code == "WELCOME10"
    with pytest.raises(ValidationFailed) as over:
        coupon_redeem(codes=["WELCOME10"], order_type="order", order_id=2)
    assert over.value.field == "coupon_codes[0]"
    assert over.value.message == "Coupon WELCOME10 has been used the maximum 1 times"
    assert Coupon.objects.get().uses == 1
    # The engine now refuses it too, with the same words.
    result = _price(web, [QuoteItem(1, sku="LS-M")], at=THU, coupon_codes=["welcome10"])
    assert result.rejected[0].reason == "Coupon WELCOME10 has been used the maximum 1 times"


def test_per_customer_limit_is_checked_and_a_refusal_changes_nothing(shop, web):
    welcome = _promotions(shop, web)
    Coupon.objects.create(code="SUMMER", promotion=welcome, per_customer_limit=1)
    ann = Customer.objects.create(first_name="Ann", email="ann@example.com")
    coupon_redeem(codes=["summer"], order_type="order", order_id=1, customer_id=ann.pk)
    with pytest.raises(ValidationFailed) as twice:
        # Both coupons in one order: WELCOME10 is fine, SUMMER is over Ann's limit.
        coupon_redeem(codes=["welcome10", "summer"], order_type="order", order_id=2,
                      customer_id=ann.pk)  # fmt: skip
    assert twice.value.field == "coupon_codes[1]"
    assert "already been used 1 time(s) by this customer (limit 1)" in twice.value.message
    assert dict(Coupon.objects.values_list("code", "uses")) == {"SUMMER": 1, "WELCOME10": 0}
    assert CouponRedemption.objects.count() == 1
    with pytest.raises(ValidationFailed) as anonymous:
        coupon_redeem(codes=["summer"], order_type="order", order_id=3)
    assert "identify the customer" in anonymous.value.message
    with pytest.raises(ValidationFailed) as unknown:
        coupon_redeem(codes=["nope"], order_type="order", order_id=3)
    assert unknown.value.message == "Coupon NOPE does not exist; check the code."


def test_rules_in_force_and_the_offline_bundle(shop, web, web_list):
    _promotions(shop, web)
    price_set(price_list=web_list, variant=shop.mug, price=Decimal("11.00"),
              valid_from=THU - dt.timedelta(days=1), actor=SYSTEM)  # fmt: skip
    price_set(price_list=web_list, variant=shop.mug, price=Decimal("9.00"),
              valid_from=FRI, valid_to=MON, actor=SYSTEM)  # fmt: skip
    rules = pricing_rules_in_force(channel_id=web.pk, at=THU, variant_ids=[shop.mug.pk])
    assert [p.code for p in rules.promotions] == ["home15"]  # no coupon entered
    assert [(e.price, e.valid_to) for e in rules.price_lists[0].entries] == [
        (Decimal("11.00"), None)
    ]
    bundle = pricing_rules_export(channel_id=web.pk, at=THU)
    assert bundle["channel"] == "web"
    assert bundle["currency"] == "EUR"
    entries = bundle["rules"]["price_lists"][0]["entries"]
    assert [e["price"] for e in entries] == ["11.00", "9.00"]  # the scheduled sale too
    assert sorted(p["code"] for p in bundle["rules"]["promotions"]) == ["home15", "welcome"]
    assert bundle["rules"]["coupons"][0]["code"] == "WELCOME10"
    assert bundle["rules"]["source_codes"] == {"FLYER-JUNE": "summer"}


def test_api_quote_and_rules(client, shop, web):
    _promotions(shop, web)
    headers = {"Authorization": f"Bearer {shop.terminal_token}"}
    body = {
        "lines": [{"sku": "CAN-FIG", "quantity": 2}],
        "at": THU.isoformat(),
        "coupon_codes": ["welcome10"],
    }
    response = client.post("/api/v1/pricing/quote", body, content_type="application/json",
                           headers=headers)  # fmt: skip
    assert response.status_code == 200, response.content
    data = response.json()
    # POS channel: Home 15 % on 36.00 = 5.40; the web-only coupon is rejected.
    assert data["totals"]["gross"] == "30.60"
    assert data["lines"][0]["discounts"][0]["reason"] == "Home 15%: 15% off"
    assert data["rejected"][0]["kind"] == "coupon"
    unknown = client.post("/api/v1/pricing/quote", {"lines": [{"sku": "NOPE", "quantity": 1}]},
                          content_type="application/json", headers=headers)  # fmt: skip
    assert unknown.status_code == 422
    assert unknown.json()["error"]["field"] == "lines[0].sku"
    rules = client.get(f"/api/v1/pricing/rules?store={shop.store.code}", headers=headers)
    assert rules.status_code == 200
    assert rules.json()["store"] == shop.store.code
    stock_only = api_key_issue(name="scanner", channel=shop.pos_channel, scopes=["stock:read"])
    denied = client.get(f"/api/v1/pricing/rules?store={shop.store.code}",
                        headers={"Authorization": f"Bearer {stock_only.token}"})  # fmt: skip
    assert denied.status_code == 403


@pytest.mark.parametrize(
    "model", ["pricelist", "pricelistentry", "promotion", "coupon", "campaign", "sourcecode"]
)
def test_admin_pages_open(admin_client, shop, web, web_list, model):
    _promotions(shop, web)
    assert admin_client.get(f"/admin/pricing/{model}/").status_code == 200
    assert admin_client.get(f"/admin/pricing/pricelist/{web_list.pk}/change/").status_code == 200
