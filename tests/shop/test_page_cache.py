"""The product page keeps what is the same for every shopper in the cache and
forgets it when the catalogue changes; prices, availability and what belongs
to a session are never taken from it."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from django.test import Client
from django.utils import timezone

from omniretail.catalog.models import Category, Product, Variant
from omniretail.channels.shop.caching import key
from omniretail.core.access import SYSTEM
from omniretail.pricing.models import PriceList
from omniretail.pricing.services import price_set
from tests.conftest import stock_up


def page(client: Client, code: str) -> str:
    response = client.get(f"/shop/p/{code}/")
    assert response.status_code == 200
    return response.content.decode()


def test_a_cached_product_page_shows_a_new_name_price_and_category_at_once(client, web_shop):
    shop = web_shop.shop
    code = shop.mug.product.code
    assert "<h1>Stoneware Mug</h1>" in page(client, code)
    assert "12.50 EUR" in page(client, code)  # served from the cache

    product = Product.objects.get(pk=shop.mug.product_id)
    product.name = "Stoneware Mug, large"
    product.category = Category.objects.create(code="kitchen", name="Kitchen")
    product.save()
    variant = Variant.objects.get(pk=shop.mug.pk)
    variant.price = Decimal("13.90")
    variant.save()
    html = page(client, code)
    assert "<h1>Stoneware Mug, large</h1>" in html
    assert '<a href="/shop/c/kitchen/">Kitchen</a>' in html
    assert "13.90 EUR" in html
    assert "12.50" not in html

    # A sale on the web price list: the regular price is crossed out at once.
    web = PriceList.objects.create(code="web", name="Web", channel=web_shop.web)
    now = timezone.now()
    regular = {"price_list": web, "variant": shop.mug, "actor": SYSTEM}
    price_set(**regular, price=Decimal("13.90"), valid_from=now - dt.timedelta(days=1))
    assert "13.90 EUR" in page(client, code)
    price_set(**regular, price=Decimal("9.90"), valid_from=now - dt.timedelta(minutes=1),
              valid_to=now + dt.timedelta(days=2))  # fmt: skip
    assert '<del aria-label="was">13.90</del> <ins aria-label="now">9.90</ins> EUR' in page(
        client, code
    )


def test_what_must_not_be_stale_is_read_even_when_another_process_changed_it(client, web_shop):
    """A change made by another process does not reach this process's cache
    (LocMemCache); an update without signals stands for it here."""
    shop = web_shop.shop
    code = shop.shirt.code
    assert "49.90 EUR" in page(client, code)
    Variant.objects.filter(pk=shop.shirt_m.pk).update(price=Decimal("44.00"))
    assert "44.00 EUR" in page(client, code)  # the base price is read on every request
    assert client.get(f"/shop/p/{code}/?sku=LS-M").status_code == 200
    Variant.objects.filter(pk=shop.shirt_l.pk).update(active=False)
    html = page(client, code)
    assert "White / L" not in html  # a variant withdrawn: the page is read again
    Product.objects.filter(pk=shop.shirt.pk).update(active=False)
    assert client.get(f"/shop/p/{code}/").status_code == 404


def test_availability_is_read_on_every_request(client, web_shop):
    shop = web_shop.shop
    assert "3 available online" in page(client, shop.candle.product.code)
    stock_up(shop, {shop.candle: 2})
    html = page(client, shop.candle.product.code)
    assert "5 available online" in html
    assert ": 5 available" in html  # the Paris floor, for pick-up


def test_nothing_of_a_session_reaches_another_shopper(web_shop):
    shop = web_shop.shop
    code = shop.mug.product.code
    ana = Client(enforce_csrf_checks=True)
    ana_page = page(ana, code)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', ana_page).group(1)
    response = ana.post(
        "/shop/cart/add/",
        {"sku_id": shop.mug.pk, "quantity": 2, "csrfmiddlewaretoken": token},
        HTTP_HX_REQUEST="true",
    )
    assert "Added — you have 2 in your cart." in response.content.decode()
    csrf = ana.cookies["csrftoken"].value
    ana.post("/shop/account/signup/", {
        "email": "ana@example.com", "first_name": "Ana", "password": "long-enough-1",
        "password2": "long-enough-1", "csrfmiddlewaretoken": csrf})  # fmt: skip
    ana_page = page(ana, code)
    assert '<span id="cart-count">2</span>' in ana_page
    assert "My account" in ana_page

    ben = Client(enforce_csrf_checks=True)
    ben_page = page(ben, code)  # the same product page, from the cache
    assert '<span id="cart-count">0</span>' in ben_page
    assert "My account" not in ben_page
    assert "Sign in" in ben_page
    ana_tokens = set(re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', ana_page))
    ben_tokens = set(re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', ben_page))
    assert ben_tokens
    assert not ana_tokens & ben_tokens
    assert ana.cookies["sessionid"].value not in ben_page
    # Ben's own add works with his own token and starts his own cart.
    response = ben.post(
        "/shop/cart/add/",
        {"sku_id": shop.mug.pk, "quantity": 1, "csrfmiddlewaretoken": ben_tokens.pop()},
        HTTP_HX_REQUEST="true",
    )
    assert '<span id="cart-count" hx-swap-oob="true">1</span>' in response.content.decode()
    assert '<span id="cart-count">2</span>' in page(ana, code)


def test_cache_keys_change_with_the_catalogue(web_shop):
    before = key("product", "mug")
    Category.objects.create(code="garden", name="Garden")
    after = key("product", "mug")
    assert before != after
    assert key("search", 1, 1, "a long query with spaces " * 4).count(":") == 3  # hashed
