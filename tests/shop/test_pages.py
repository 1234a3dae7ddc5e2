"""The storefront's pages over HTTP: prices from the engine (a sale shows
the regular price crossed out), availability, security headers, CSRF, and a
fixed number of queries per page whatever its length."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from omniretail.catalog.models import Category, Product, TaxClass, Variant
from omniretail.channels.shop.security import CSP
from omniretail.core.access import SYSTEM
from omniretail.inventory.models import StockLevel
from omniretail.pricing.models import PriceList
from omniretail.pricing.services import price_set


def test_a_product_page_shows_the_sale_price_stock_and_stores(client, web_shop):
    shop = web_shop.shop
    web_list = PriceList.objects.create(code="web", name="Web", channel=web_shop.web)
    now = timezone.now()
    regular = {"price_list": web_list, "variant": shop.candle, "actor": SYSTEM}
    price_set(**regular, price=Decimal("18.00"), valid_from=now - dt.timedelta(days=1))
    price_set(
        **regular,
        price=Decimal("14.40"),
        valid_from=now - dt.timedelta(hours=1),
        valid_to=now + dt.timedelta(days=2),
    )
    response = client.get(f"/shop/p/{shop.candle.product.code}/")
    assert response.status_code == 200
    assert response["Content-Security-Policy"] == CSP
    html = response.content.decode()
    assert '<del aria-label="was">18.00</del> <ins aria-label="now">14.40</ins> EUR' in html
    assert "3 available online" in html
    assert "<strong>Paris Marais</strong>" in html
    assert ": 3 available" in html
    assert "<script>" not in html  # no inline script (CSP)


def test_search_finds_by_name_and_by_sku(client, web_shop):
    html = client.get("/shop/search/", {"q": "linen"}).content.decode()
    assert "Linen Shirt" in html
    assert "Stoneware Mug" not in html
    html = client.get("/shop/search/", {"q": "mug-gr"}).content.decode()
    assert "Stoneware Mug" in html
    html = client.get("/shop/search/", {"q": "zzz"}).content.decode()
    assert "Nothing matches “zzz”" in html


def _many_products(prefix: str, name: str, n: int, category: Category, tax: TaxClass) -> None:
    products = Product.objects.bulk_create(
        [Product(code=f"{prefix}-{i}", name=f"{name} {i:03d}", tax_class=tax, category=category)
         for i in range(n)]
    )  # fmt: skip
    Variant.objects.bulk_create(
        [Variant(product=p, sku=f"{prefix.upper()}-{i}", name="One", price=Decimal("5.00"))
         for i, p in enumerate(products)]
    )  # fmt: skip


def _queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_category_and_search_pages_cost_the_same_queries_for_2_or_24_products(client, web_shop):
    tax = web_shop.shop.standard
    small = Category.objects.create(code="small", name="Small")
    big = Category.objects.create(code="big", name="Big")
    _many_products("tiny", "Tiny thing", 2, small, tax)
    _many_products("bulk", "Bulk thing", 30, big, tax)
    client.get("/shop/c/small/")  # warm the category cache
    assert _queries(client, "/shop/c/small/") == _queries(client, "/shop/c/big/")
    assert _queries(client, "/shop/search/?q=tiny") == _queries(client, "/shop/search/?q=bulk")
    html = client.get("/shop/c/big/").content.decode()
    assert len(re.findall(r'class="card"', html)) == 24
    assert 'rel="next" href="?page=2"' in html


def test_add_to_cart_with_htmx_and_without(client, web_shop):
    shop = web_shop.shop
    response = client.post(
        "/shop/cart/add/", {"sku_id": shop.mug.pk, "quantity": 2}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert "Added — you have 2 in your cart." in html
    assert '<span id="cart-count" hx-swap-oob="true">2</span>' in html
    response = client.post("/shop/cart/add/", {"sku_id": shop.mug.pk, "quantity": 20})
    assert response.status_code == 302
    html = client.get("/shop/cart/").content.decode()
    assert "Stoneware Mug — Grey: only 10 available online; you asked for 22." in html
    assert StockLevel.objects.get(sku=shop.mug, location=shop.warehouse).reserved == 2


def test_every_form_needs_the_csrf_token(web_shop):
    strict = Client(enforce_csrf_checks=True)
    response = strict.post("/shop/cart/add/", {"sku_id": web_shop.shop.mug.pk, "quantity": 1})
    assert response.status_code == 403
    assert (
        StockLevel.objects.get(sku=web_shop.shop.mug, location=web_shop.shop.warehouse).reserved
        == 0
    )
    page = strict.get(f"/shop/p/{web_shop.shop.mug.product.code}/").content.decode()
    assert 'name="csrfmiddlewaretoken"' in page


def test_sign_in_rotates_the_session_key(client, web_shop):
    client.post("/shop/account/signup/", {
        "email": "kim@example.com", "first_name": "Kim", "password": "long-enough-1",
        "password2": "long-enough-1"})  # fmt: skip
    client.post("/shop/account/signout/")
    client.post("/shop/cart/add/", {"sku_id": web_shop.shop.mug.pk, "quantity": 1})
    before = client.session.session_key
    response = client.post(
        "/shop/account/signin/", {"email": "kim@example.com", "password": "long-enough-1"}
    )
    assert response.status_code == 302
    assert client.session.session_key != before
    assert "Stoneware Mug" in client.get("/shop/cart/").content.decode()  # the cart stayed
    assert "Hello Kim" in client.get("/shop/account/").content.decode()
