"""Web shop pages under load: the demo retailer's catalogue scaled to 20,000
products on PostgreSQL, served by gunicorn (4 sync workers); 16 client
threads for 20 s, each with its own session, looping over a product page, a
search and an add to cart (htmx, CSRF token and session cookie like a
browser).

Prints: shop_pages product_p99_ms=… search_p99_ms=… cart_add_p99_ms=… (and
p50s, request counts, errors), or `shop_pages error=no_postgresql` when
PostgreSQL cannot be reached. BENCH_DATABASE_URL picks the database
(default postgres://postgres@127.0.0.1:5432/omni_bench_shop; created when
missing, emptied on every run). Details go to stderr.
"""

from __future__ import annotations

import http.client
import os
import random
import re
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

from _setup import django_ready, median, percentile
from order_intake import database_ensure, free_port, gunicorn_start, gunicorn_stop, gunicorn_wait

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/omni_bench_shop"
# Overridable to diagnose (e.g. one client shows the service time alone).
CLIENTS = int(os.environ.get("SHOP_BENCH_CLIENTS", "16"))
DURATION_S = float(os.environ.get("SHOP_BENCH_SECONDS", "20"))
PRODUCTS = 20_000
DEMO_PRODUCTS = 200
CART_SKUS = 300  # stocked generously, so adds are not refused for stock
CART_STOCK = 1_000_000
CART_RESET_EVERY = 15  # a shopper's cart gets this many adds, then a new shopper comes
SEARCH_WORDS = ("linen", "merino", "mug", "candle", "shirt", "oak", "sweater", "towel")


def catalogue_build() -> dict[str, Any]:
    """The demo retailer (200 products through the real services, the web
    channel and its shipping methods), then copies of its products up to
    PRODUCTS in bulk (one variant each, no stock: an out-of-stock page costs
    the same queries)."""
    from omniretail.catalog.models import Product, Variant
    from omniretail.core.access import SYSTEM
    from omniretail.demo import demo_load
    from omniretail.demo_shop import shop_setup
    from omniretail.inventory.models import Location
    from omniretail.inventory.services import ReceiveLine, stock_receive

    demo_load(products=DEMO_PRODUCTS, seed=7)
    shop_setup()
    originals = list(Product.objects.order_by("pk"))
    prices = dict(Variant.objects.order_by("product_id", "sku").values_list("product_id", "price"))
    new_products = [
        Product(
            code=f"{p.code}-x{n}",
            name=f"{p.name} No. {n}",
            category_id=p.category_id,
            tax_class_id=p.tax_class_id,
            brand=p.brand,
            description=p.description,
        )
        for n in range(1, PRODUCTS // len(originals) + 1)
        for p in originals
    ][: PRODUCTS - len(originals)]
    made = Product.objects.bulk_create(new_products, batch_size=2000)
    Variant.objects.bulk_create(
        [
            Variant(
                product=p,
                sku=f"X{p.pk:06d}",
                name="One size",
                price=prices.get(originals[i % len(originals)].pk, Decimal("19.90")),
            )
            for i, p in enumerate(made)
        ],
        batch_size=2000,
    )
    warehouse = Location.objects.get(code="wh-main")
    cart_skus = list(
        Variant.objects.filter(product__in=originals, components__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)[:CART_SKUS]
    )
    stock_receive(
        location=warehouse,
        lines=[ReceiveLine(pk, CART_STOCK, Decimal("5.00")) for pk in cart_skus],
        actor=SYSTEM,
        reference="BENCH-SHOP",
    )
    codes = list(Product.objects.values_list("code", flat=True))
    skus = list(Variant.objects.filter(pk__in=cart_skus).values_list("sku", flat=True))
    return {
        "products": codes,
        "cart_skus": cart_skus,
        "search": [*SEARCH_WORDS, *random.Random(1).sample(skus, 8)],
        "total_products": Product.objects.count(),
    }


class Shopper:
    """One browser: a keep-alive connection, a session and a CSRF cookie."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.cookies: dict[str, str] = {}

    def request(
        self, method: str, path: str, body: str | None = None, headers: dict | None = None
    ) -> tuple[int, bytes]:
        sent = {"Connection": "keep-alive", **(headers or {})}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        try:
            self.conn.request(method, path, body, sent)
            response = self.conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            raise
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response.status, data

    def new_session(self) -> None:
        self.cookies.clear()


def load(port: int, catalogue: dict[str, Any]) -> tuple[dict[str, list[float]], Counter[str]]:
    timings: dict[str, list[float]] = defaultdict(list)
    errors: Counter[str] = Counter()
    lock = threading.Lock()
    start = threading.Barrier(CLIENTS + 1)
    deadline = [0.0]

    def client(index: int) -> None:
        rng = random.Random(index)
        shopper = Shopper(port)
        mine: dict[str, list[float]] = defaultdict(list)
        failed: Counter[str] = Counter()
        adds = 0
        start.wait()
        while time.perf_counter() < deadline[0]:
            for kind in ("product", "search", "cart_add"):
                if kind == "product":
                    path, method, body = (
                        f"/shop/p/{rng.choice(catalogue['products'])}/",
                        "GET",
                        None,
                    )
                    headers: dict[str, str] = {}
                elif kind == "search":
                    q = quote(rng.choice(catalogue["search"]))
                    path, method, body, headers = f"/shop/search/?q={q}", "GET", None, {}
                else:
                    if "csrftoken" not in shopper.cookies:
                        # The product page just fetched set the CSRF cookie.
                        failed["cart_add without csrf cookie"] += 1
                        continue
                    sku = rng.choice(catalogue["cart_skus"])
                    path, method = "/shop/cart/add/", "POST"
                    body = f"sku_id={sku}&quantity=1"
                    headers = {
                        "Content-Type": "application/x-www-form-urlencoded",
                        "X-CSRFToken": shopper.cookies["csrftoken"],
                        "HX-Request": "true",
                    }
                t0 = time.perf_counter()
                try:
                    status, data = shopper.request(method, path, body, headers)
                except (OSError, http.client.HTTPException) as exc:
                    failed[f"{kind} {type(exc).__name__}"] += 1
                    continue
                elapsed = (time.perf_counter() - t0) * 1000
                if status != 200:
                    failed[f"{kind} HTTP {status}"] += 1
                elif kind == "cart_add" and b"Added" not in data:
                    message = re.search(rb'role="alert">([^<]*)', data)
                    failed[
                        f"cart_add refused: {message.group(1)[:80] if message else data[:80]!r}"
                    ] += 1
                else:
                    mine[kind].append(elapsed)
                if kind == "cart_add":
                    adds += 1
                    if adds % CART_RESET_EVERY == 0:
                        shopper.new_session()
        with lock:
            for kind, values in mine.items():
                timings[kind].extend(values)
            errors.update(failed)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    deadline[0] = time.perf_counter() + DURATION_S
    start.wait()
    for thread in threads:
        thread.join()
    return timings, errors


def main() -> None:
    url = os.environ.get("BENCH_DATABASE_URL") or DEFAULT_URL
    if not url.startswith("postgres") or not database_ensure(url):
        print("shop_pages error=no_postgresql", flush=True)
        return
    os.environ["BENCH_DATABASE_URL"] = url
    django_ready("shop_pages")
    from django.db import connection

    began = time.perf_counter()
    catalogue = catalogue_build()
    # A shop that has been running has planner statistics and merged index
    # entries (autovacuum sees to it within a minute or so); a catalogue
    # bulk-loaded a moment ago has neither, and PostgreSQL would plan its
    # searches and listings as if the tables were empty.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    sys.stderr.write(
        f"shop_pages catalogue: {catalogue['total_products']} products in "
        f"{time.perf_counter() - began:.0f} s (vacuumed and analysed)\n"
    )
    connection.close()
    log = Path(tempfile.mkdtemp(prefix="omni-bench-gunicorn-")) / "gunicorn.log"
    port = free_port()
    server = gunicorn_start(url, port, log)
    try:
        if not gunicorn_wait(port, server):
            sys.stderr.write(log.read_text(errors="replace")[-3000:])
            print("shop_pages error=gunicorn_did_not_start", flush=True)
            return
        # One warm-up pass so each worker has loaded templates and the category tree.
        warm = Shopper(port)
        for code in catalogue["products"][:20]:
            warm.request("GET", f"/shop/p/{code}/")
        timings, errors = load(port, catalogue)
    finally:
        gunicorn_stop(server)
    for kind, n in errors.most_common():
        sys.stderr.write(f"shop_pages error_kind={kind!r} count={n}\n")
    if errors:
        sys.stderr.write(f"gunicorn log: {log}\n")
    p = {k: percentile(timings[k], 99) for k in ("product", "search", "cart_add")}
    m = {k: median(timings[k]) for k in ("product", "search", "cart_add")}
    print(
        f"shop_pages product_p99_ms={p['product']:.1f} search_p99_ms={p['search']:.1f} "
        f"cart_add_p99_ms={p['cart_add']:.1f} product_p50_ms={m['product']:.1f} "
        f"search_p50_ms={m['search']:.1f} cart_add_p50_ms={m['cart_add']:.1f} "
        f"requests={sum(len(v) for v in timings.values())} errors={sum(errors.values())} "
        f"products={catalogue['total_products']} clients={CLIENTS}",
        flush=True,
    )


if __name__ == "__main__":
    main()
