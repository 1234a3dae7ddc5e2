"""Channel orders over HTTP: `POST /api/v1/orders` served by gunicorn (4 sync
workers) on PostgreSQL, 16 client threads sending 1-5 line orders on two
channels for 30 s; then the promises are checked (nothing oversold, no
duplicate orders) and order_intake's queries are counted in-process for a 1-
and a 5-line order (equal when no query runs per line).

Prints: order_intake orders_per_s=… p50_ms=… p99_ms=… errors=… oversold=…
duplicates=… queries_per_order_1_line=… queries_per_order_5_lines=…
(or `order_intake error=no_postgresql` when PostgreSQL cannot be reached).
Details (error kinds, queries repeated per line) go to stderr.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from _setup import ROOT, django_ready, median, percentile

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/omni_bench_orders"
WORKERS = 4
CLIENTS = 16
DURATION_S = 30.0
PRODUCTS, VARIANTS_PER_PRODUCT = 100, 3  # 300 SKUs
STOCK_PER_SKU = 100_000
CUSTOMERS = 2_000
ADDRESS = {
    "name": "Bench Customer",
    "line1": "1 rue du Test",
    "postcode": "75001",
    "city": "Paris",
    "country": "FR",
}


def database_ensure(url: str) -> bool:
    """Create the bench database if it is missing; False when PostgreSQL
    cannot be reached."""
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    server = parts._replace(path="/postgres").geturl()
    try:
        with psycopg.connect(server, autocommit=True, connect_timeout=5) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if exists.fetchone() is None:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.OperationalError:
        return False
    return True


def catalog_build() -> dict[str, Any]:
    """300 SKUs with ample stock at a warehouse and a store; a web shop (the
    warehouse, then the store keeping 1 back) and a marketplace (the
    warehouse), each with an orders:write key."""
    from omniretail.catalog.models import TaxClass, Variant
    from omniretail.catalog.services import VariantSpec, product_create
    from omniretail.core.access import SYSTEM
    from omniretail.core.apikeys import api_key_issue
    from omniretail.core.models import Company
    from omniretail.core.services import channel_create, store_create
    from omniretail.inventory.models import ChannelLocation, Location
    from omniretail.inventory.services import ReceiveLine, stock_receive

    company = Company.objects.create(code="bench", name="Bench Retail", currency="EUR")
    store = store_create(company=company, code="bench-store", name="Bench store")
    warehouse = Location.objects.create(code="wh-bench", name="Warehouse", kind="warehouse")
    floor = Location.objects.create(code="st-bench", name="Floor", kind="store", store=store)
    standard = TaxClass.objects.create(code="standard", name="Standard", rate=Decimal("0.2"))
    for p in range(PRODUCTS):
        product_create(
            code=f"p{p:03d}",
            name=f"Product {p:03d}",
            tax_class=standard,
            variants=[
                VariantSpec(f"SKU-{p:03d}-{v}", f"Size {v}", Decimal("9.90") + p % 20)
                for v in range(VARIANTS_PER_PRODUCT)
            ],
        )
    variants = list(Variant.objects.order_by("pk"))
    for location in (warehouse, floor):
        stock_receive(
            location=location,
            lines=[ReceiveLine(v.pk, STOCK_PER_SKU, Decimal("4.00")) for v in variants],
            actor=SYSTEM,
            reference="BENCH",
        )
    keys = {}
    for code, kind, sources in [
        ("web", "web", [(warehouse, 1, 0), (floor, 2, 1)]),
        ("marketplace", "marketplace", [(warehouse, 1, 0)]),
    ]:
        channel = channel_create(company=company, code=code, name=code.title(), kind=kind)
        for location, priority, buffer in sources:
            ChannelLocation.objects.create(
                channel=channel, location=location, priority=priority, safety_buffer=buffer
            )
        keys[code] = api_key_issue(name=f"{code} bench", channel=channel, scopes=["orders:write"])
    return {"skus": [v.sku for v in variants], "keys": {c: k.token for c, k in keys.items()}}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def gunicorn_start(url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k not in ("OMNI_ENV", "OMNI_TASK_BACKEND")}
    env.update(DATABASE_URL=url, DEBUG="0", LOG_LEVEL="WARNING", PYTHONPATH=str(ROOT / "src"))
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "omniretail.wsgi:application",
        "--workers",
        str(WORKERS),
        "--threads",
        "1",
        "--bind",
        f"127.0.0.1:{port}",
    ]
    with log.open("wb") as out:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def gunicorn_wait(port: int, server: subprocess.Popen[bytes], timeout_s: float = 30) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and server.poll() is None:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/admin/login/")
            if conn.getresponse().status == 200:
                conn.close()
                return True
        except OSError:
            pass
        time.sleep(0.2)
    return False


def gunicorn_stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def load(port: int, catalog: dict[str, Any]) -> tuple[list[float], int, Counter[str], float]:
    """CLIENTS threads send orders for DURATION_S; returns the latencies of
    booked orders (ms), how many were booked, the errors by kind, the time."""
    skus, keys = catalog["skus"], catalog["keys"]
    channels = sorted(keys)
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    lock = threading.Lock()
    start = threading.Barrier(CLIENTS + 1)
    deadline = [0.0]

    def client(index: int) -> None:
        rng = random.Random(index)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine: list[float] = []
        failed: Counter[str] = Counter()
        start.wait()
        sent = 0
        while time.perf_counter() < deadline[0]:
            sent += 1
            channel = rng.choice(channels)
            body = json.dumps(
                {
                    "external_id": f"B{index}-{sent}-{uuid.uuid4().hex[:8]}",
                    "customer": {"email": f"customer{rng.randrange(CUSTOMERS)}@example.com"},
                    "lines": [
                        {"sku": sku, "quantity": rng.randint(1, 3)}
                        for sku in rng.sample(skus, rng.randint(1, 5))
                    ],
                    "shipping_address": ADDRESS,
                    "shipping_price": "4.90",
                    "payment_status": "paid" if rng.random() < 0.7 else "unpaid",
                }
            )
            headers = {
                "Authorization": f"Bearer {keys[channel]}",
                "Content-Type": "application/json",
                "Connection": "keep-alive",
            }
            t0 = time.perf_counter()
            try:
                conn.request("POST", "/api/v1/orders", body, headers)
                response = conn.getresponse()
                payload = response.read()
            except (OSError, http.client.HTTPException) as exc:
                failed[type(exc).__name__] += 1
                conn.close()
                continue
            elapsed = (time.perf_counter() - t0) * 1000
            if response.status == 201:
                mine.append(elapsed)
            else:
                try:
                    code = json.loads(payload).get("error", {}).get("code", "")
                except ValueError:
                    code = payload[:60].decode(errors="replace")
                failed[f"{response.status} {code}".strip()] += 1
        conn.close()
        with lock:
            latencies.extend(mine)
            errors.update(failed)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    deadline[0] = began + DURATION_S
    start.wait()
    for thread in threads:
        thread.join()
    return latencies, len(latencies), errors, time.perf_counter() - began


class _RollBack(Exception):
    pass


def _shape(sql: str) -> str:
    """A query with its values taken out, to see which ones repeat."""
    sql = re.sub(r"'(?:[^']|'')*'", "?", sql)
    sql = re.sub(r"\b\d+(\.\d+)?\b", "?", sql)
    sql = re.sub(r"\((?:\s*\?\s*,?)+\)", "(…)", sql)
    sql = re.sub(r"(\(…\),?\s*)+", "(…) ", sql)
    return sql[:160]


def queries_per_order(catalog: dict[str, Any]) -> tuple[int, int, list[str]]:
    """Queries order_intake runs for a 1-line and a 5-line order, in-process
    (rolled back afterwards). Transaction control (savepoints) is left out,
    like BEGIN/COMMIT. Also returns the queries that repeat per line."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from omniretail.channels.intake import IntakeCustomer, IntakeLine, IntakeOrder, order_intake
    from omniretail.core.apikeys import api_key_authenticate
    from omniretail.core.models import Channel

    channel = Channel.objects.select_related("company").get(code="web")
    actor = api_key_authenticate(catalog["keys"]["web"])
    assert actor is not None

    def count(skus: list[str]) -> tuple[list[str], int]:
        data = IntakeOrder(
            external_id=f"Q-{uuid.uuid4().hex}",
            lines=[IntakeLine(1, sku=sku) for sku in skus],
            customer=IntakeCustomer(email="customer1@example.com"),
            shipping_address=ADDRESS,
            payment_status="paid",
        )
        try:
            with transaction.atomic():
                with CaptureQueriesContext(connection) as captured:
                    order_intake(channel=channel, data=data, actor=actor)
                after_commit = len(connection.run_on_commit)
                raise _RollBack
        except _RollBack:
            pass
        sqls = [q["sql"] for q in captured.captured_queries]
        return [s for s in sqls if "SAVEPOINT" not in s.upper()], after_commit

    skus = catalog["skus"]
    count(skus[:5])  # warm up
    one, one_hooks = count(skus[10:11])
    five, five_hooks = count(skus[20:25])
    grown = Counter(map(_shape, five)) - Counter(map(_shape, one))
    repeated = [f"+{n} {shape}" for shape, n in grown.most_common()]
    if five_hooks != one_hooks:
        repeated.append(
            f"after-commit hooks {one_hooks} -> {five_hooks} (each enqueues an outbox "
            "delivery: one INSERT with the database task backend)"
        )
    return len(one), len(five), repeated


def main() -> None:
    url = os.environ.get("BENCH_DATABASE_URL") or DEFAULT_URL
    if not url.startswith("postgres") or not database_ensure(url):
        print("order_intake error=no_postgresql", flush=True)
        return
    os.environ["BENCH_DATABASE_URL"] = url
    django_ready("order_intake")
    from django.db import connection
    from django.db.models import Count, F

    from omniretail.inventory.models import StockLevel
    from omniretail.orders.models import Order

    catalog = catalog_build()
    connection.close()  # the app's workers need the connections, not us
    log = Path(tempfile.mkdtemp(prefix="omni-bench-gunicorn-")) / "gunicorn.log"
    port = free_port()
    server = gunicorn_start(url, port, log)
    try:
        if not gunicorn_wait(port, server):
            sys.stderr.write(log.read_text(errors="replace")[-3000:])
            print("order_intake error=gunicorn_did_not_start", flush=True)
            return
        latencies, booked, errors, elapsed = load(port, catalog)
    finally:
        gunicorn_stop(server)
    oversold = StockLevel.objects.filter(reserved__gt=F("on_hand")).count()
    duplicates = (
        Order.objects.values("channel_id", "external_id")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .count()
    )
    one, five, repeated = queries_per_order(catalog)
    for kind, n in errors.most_common():
        sys.stderr.write(f"order_intake error_kind={kind!r} count={n}\n")
    if errors:
        sys.stderr.write(f"gunicorn log: {log}\n")
    for line in repeated:
        sys.stderr.write(f"order_intake repeats_per_line {line}\n")
    print(
        f"order_intake orders_per_s={booked / elapsed:.1f} p50_ms={median(latencies):.1f} "
        f"p99_ms={percentile(latencies, 99):.1f} errors={sum(errors.values())} "
        f"oversold={oversold} duplicates={duplicates} "
        f"queries_per_order_1_line={one} queries_per_order_5_lines={five}",
        flush=True,
    )


if __name__ == "__main__":
    main()
