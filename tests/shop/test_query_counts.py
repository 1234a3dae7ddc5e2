"""What the three busiest shop requests cost in statements, warm (the shop's
cache and the pricing rules cache filled, a shopper with a cart).

Transactional tests: the pricing rules cache is not used by a connection
whose transaction has written rules (every test in one transaction would)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

TRANSACTION = ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK")
PRICING_RULES = ('"pricing_', '"catalog_taxclass"', '"catalog_category"', '"core_channel"')


def statements(client, method: str, url: str, data=None, **headers) -> list[str]:
    """The statements a request runs, transaction control left out (it
    differs between PostgreSQL and SQLite)."""
    with CaptureQueriesContext(connection) as ctx:
        response = getattr(client, method)(url, data, **headers)
    assert response.status_code == 200, response.content[:300]
    return [q["sql"] for q in ctx.captured_queries if not q["sql"].startswith(TRANSACTION)]


@pytest.mark.django_db(transaction=True)
def test_a_warm_product_page_runs_four_statements(client, web_shop):
    shop = web_shop.shop
    client.post("/shop/cart/add/", {"sku_id": shop.candle.pk, "quantity": 1})
    url = f"/shop/p/{shop.shirt.code}/"
    client.get(url)
    run = statements(client, "get", url)
    # The pricing engine's reads are its own business (its rules cache makes
    # them none when warm); the page's own statements:
    own = [s for s in run if not any(t in s for t in PRICING_RULES)]
    assert len(own) == 4, run
    still_sold, stock, session, cart = own
    assert "django_session" in session
    assert "SUM(l.quantity)" in cart
    assert "v.price" in still_sold
    assert "inventory_stocklevel" in stock


@pytest.mark.django_db(transaction=True)
def test_a_cached_search_page_runs_three_statements(client, web_shop):
    shop = web_shop.shop
    client.post("/shop/cart/add/", {"sku_id": shop.candle.pk, "quantity": 1})
    client.get("/shop/search/", {"q": "mug"})
    still_listed, session, cart = statements(client, "get", "/shop/search/", {"q": "mug"})
    assert "NOT active" in still_listed
    assert "django_session" in session
    assert "SUM(l.quantity)" in cart


@pytest.mark.django_db(transaction=True)
def test_adding_a_new_item_to_a_cart_runs_one_read_of_the_cart_and_one_write_of_the_line(
    client, web_shop
):
    shop = web_shop.shop
    client.post("/shop/cart/add/", {"sku_id": shop.candle.pk, "quantity": 1})
    run = statements(
        client, "post", "/shop/cart/add/", {"sku_id": shop.mug.pk, "quantity": 2},
        HTTP_HX_REQUEST="true",
    )  # fmt: skip
    shop_part = [s for s in run if "shop_cart" in s]
    assert len(shop_part) == 2, shop_part  # the cart locked with its count, the line inserted
    assert shop_part[1].startswith('INSERT INTO "shop_cartline"')
    session, sold = run[:2]
    assert "django_session" in session
    assert sold.startswith("SELECT p.name, v.name, p.kind")
    # The other 6: the hold, by inventory's `stock_reserve_for_channel` (reads of
    # the SKU, its kits, and the channel's locations with their levels in one;
    # the conditional update; the hold and its outbox event). No read of the
    # cart after the write.
    assert len(run) == 10, run
