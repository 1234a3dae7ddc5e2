"""Search: by name (any part, any case), by exact SKU or barcode; withdrawn
products never shown, even from a cached results page."""

from __future__ import annotations

import re

from django.db import connection

from omniretail.catalog.models import Product


def found(client, q: str) -> list[str]:
    response = client.get("/shop/search/", {"q": q})
    assert response.status_code == 200
    return re.findall(r'<span class="card-name">([^<]+)</span>', response.content.decode())


def test_search_finds_by_part_of_the_name_in_any_case_by_sku_and_by_barcode(client, web_shop):
    shop = web_shop.shop
    assert found(client, "linen") == ["Linen Shirt"]
    assert found(client, "  STONEWARE   mug ") == ["Stoneware Mug"]
    assert found(client, "ware") == ["Stoneware Mug"]
    assert found(client, "mug-gr") == ["Stoneware Mug"]  # its SKU, typed in lower case
    assert found(client, shop.candle.barcode) == ["Fig Candle"]
    assert found(client, "an") == ["Fig Candle"]  # "Fig Candle"; two letters are enough
    assert found(client, "zzz") == []


def test_a_withdrawn_product_is_never_shown_even_from_a_cached_page(client, web_shop):
    assert found(client, "shirt") == ["Linen Shirt"]
    assert found(client, "shirt") == ["Linen Shirt"]  # cached
    # As another process would (no signal reaches this process's cache):
    Product.objects.filter(code="linen-shirt").update(active=False)
    assert found(client, "shirt") == []
    assert found(client, "LS-M") == []
    shirt = Product.objects.get(code="linen-shirt")
    shirt.active = True
    shirt.save()  # back on sale through the ORM: shown at once
    assert found(client, "shirt") == ["Linen Shirt"]


def test_a_renamed_product_is_found_by_its_new_name_at_once(client, web_shop):
    assert found(client, "linen") == ["Linen Shirt"]
    shirt = Product.objects.get(code="linen-shirt")
    shirt.name = "Hemp Shirt"
    shirt.save()
    assert found(client, "linen") == []
    assert found(client, "hemp") == ["Hemp Shirt"]


def test_on_postgresql_the_name_search_uses_the_trigram_index(web_shop):
    if connection.vendor != "postgresql":
        return  # SQLite reads the table: the same query, no index needed at this size
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(
            "EXPLAIN SELECT id FROM catalog_product WHERE UPPER(name::text) LIKE UPPER(%s)",
            ["%mug%"],
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "shop_product_name_trgm" in plan
