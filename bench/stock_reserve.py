"""Holding stock under contention, and the availability read, on PostgreSQL.

1. 8 worker processes hold 1-3 units of random SKUs (20 % of requests on 10
   hot SKUs with little stock, soon refused) through `stock_reserve` for a
   fixed time; then 8 processes send the same statements straight through
   psycopg for the same time on the same data (reserved reset first): per
   request one transaction with the service's hold statement (the
   conditional UPDATE, which explains a refusal in the same statement) and,
   when held, the Reservation row and the outbox event. Rates count requests, held or
   refused; ratio = ORM / raw.
   The service path includes what it does in this configuration: the
   Reservation row, the outbox event and its after-commit delivery (the
   immediate task backend set by django_ready).
2. `stock_available(sku_id=…, channel_id=…)` for random SKUs among 100,000
   SKUs stocked in 20 locations of one channel (2,000,000 levels).

Prints:
  stock_reserve reservations_per_s=… p50_ms=… p99_ms=… oversold=… raw_sql_per_s=… ratio=…
  stock_available p50_ms=… p99_ms=…

Runs on BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/omni_bench),
created when missing. The dataset is built with INSERT … SELECT generate_series
(no ledger moves: `omni verify` means nothing there) and kept between runs.
Without PostgreSQL it prints `stock_reserve error=no_postgresql` and exits 0.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from _setup import django_ready, median, percentile

if TYPE_CHECKING:
    from multiprocessing.synchronize import Barrier

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/omni_bench"
WORKERS = 8
SECONDS = float(os.environ.get("BENCH_RESERVE_SECONDS", "10"))
SKUS, HOT_SKUS, HOT_STOCK, STOCK = 10_000, 10, 50, 1_000_000
HOT_SHARE = 0.2
ATP_SKUS, ATP_LOCATIONS, SAMPLES = 100_000, 20, 2_000

RESERVE_LOCATION = "bench-reserve"
ATP_CHANNEL = "bench-atp"

RESERVATION_SQL = (
    "INSERT INTO inventory_reservation (sku_id, location_id, quantity, status, demand_type, "
    "demand_id, created_at, updated_at) VALUES (%s, %s, %s, 'active', 'bench', %s, now(), now())"
)
OUTBOX_SQL = (
    "INSERT INTO core_outboxevent (id, name, payload, created_at, delivered_at, attempts, "
    "last_error) VALUES (%s, 'stock.changed', %s, now(), now(), 0, '')"
)


# --- the database ----------------------------------------------------------
def database_ensure(url: str) -> bool:
    """Create the benchmark database if missing. False when PostgreSQL is unreachable."""
    import psycopg
    from psycopg import sql
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    name = conninfo_to_dict(url)["dbname"]
    try:
        admin = psycopg.connect(
            make_conninfo(url, dbname="postgres"), autocommit=True, connect_timeout=3
        )
    except psycopg.OperationalError:
        return False
    with admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return True


def dataset_present(url: str) -> bool:
    """Both datasets of a previous run are complete (counted, not trusted)."""
    import psycopg

    checks = [
        ("SELECT count(*) FROM catalog_variant WHERE sku LIKE 'BR-%%'", SKUS + HOT_SKUS),
        (
            "SELECT count(*) FROM inventory_stocklevel s JOIN inventory_location l "
            "ON l.id = s.location_id WHERE l.code = %s",
            SKUS + HOT_SKUS,
            [RESERVE_LOCATION],
        ),
        ("SELECT count(*) FROM catalog_variant WHERE sku LIKE 'BA-%%'", ATP_SKUS),
        (
            "SELECT count(*) FROM inventory_stocklevel s JOIN inventory_channellocation c "
            "ON c.location_id = s.location_id JOIN core_channel ch ON ch.id = c.channel_id "
            "WHERE ch.code = %s",
            ATP_SKUS * ATP_LOCATIONS,
            [ATP_CHANNEL],
        ),
    ]
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            for query, expected, *params in checks:
                (count,) = conn.execute(query, *params).fetchone()
                if count != expected:
                    return False
    except psycopg.errors.UndefinedTable:
        return False
    return True


@contextlib.contextmanager
def flush_skipped() -> Iterator[None]:
    """django_ready flushes PostgreSQL; keep the 2M-row dataset of the last run."""
    from django.core import management

    real = management.call_command

    def call_command(name: str, *args: object, **options: object) -> object:
        return None if name == "flush" else real(name, *args, **options)

    management.call_command = call_command
    try:
        yield
    finally:
        management.call_command = real


def dataset_build() -> None:
    """10,010 SKUs at one location for the holds; 100,000 SKUs x 20 locations
    of one channel for the availability read. Set-based SQL: a minute at most."""
    from decimal import Decimal

    from django.db import connection, transaction

    from omniretail.catalog.models import Product, TaxClass
    from omniretail.core.models import Channel, Company
    from omniretail.inventory.models import ChannelLocation, Location

    with transaction.atomic():
        company, _ = Company.objects.get_or_create(
            code="bench", defaults={"name": "Bench retail", "currency": "EUR"}
        )
        tax, _ = TaxClass.objects.get_or_create(
            code="standard", defaults={"name": "Standard", "rate": Decimal("0.2000")}
        )
        reserve_products = Product.objects.bulk_create(
            [Product(code=f"bench-r{i}", name=f"Bench R{i}", tax_class=tax) for i in range(10)]
        )
        atp_products = Product.objects.bulk_create(
            [Product(code=f"bench-a{i}", name=f"Bench A{i}", tax_class=tax) for i in range(100)]
        )
        reserve_at = Location.objects.create(
            code=RESERVE_LOCATION, name="Bench reserve warehouse", kind="warehouse"
        )
        atp_locations = Location.objects.bulk_create(
            [
                Location(code=f"bench-atp-{i:02d}", name=f"Bench ATP {i}", kind="warehouse")
                for i in range(ATP_LOCATIONS)
            ]
        )
        channel = Channel.objects.create(
            company=company, code=ATP_CHANNEL, name="Bench web", kind="web"
        )
        ChannelLocation.objects.bulk_create(
            [
                ChannelLocation(channel=channel, location=loc, priority=i + 1, safety_buffer=i % 3)
                for i, loc in enumerate(atp_locations)
            ]
        )
        with connection.cursor() as cursor:
            insert_variants = (
                "INSERT INTO catalog_variant (product_id, sku, name, attributes, price, active) "
                "SELECT (%s::bigint[])[1 + g %% %s], %s || lpad(g::text, 6, '0'), "
                "'Bench', '{}'::jsonb, 10.00, true FROM generate_series(1, %s) g"
            )
            products = [p.pk for p in reserve_products]
            cursor.execute(insert_variants, [products, len(products), "BR-", SKUS])
            cursor.execute(insert_variants, [products, len(products), "BR-HOT-", HOT_SKUS])
            products = [p.pk for p in atp_products]
            cursor.execute(insert_variants, [products, len(products), "BA-", ATP_SKUS])
            cursor.execute(
                "INSERT INTO inventory_stocklevel (sku_id, location_id, on_hand, reserved) "
                "SELECT id, %s, CASE WHEN sku LIKE 'BR-HOT-%%' THEN %s ELSE %s END, 0 "
                "FROM catalog_variant WHERE sku LIKE 'BR-%%' ORDER BY id",
                [reserve_at.pk, HOT_STOCK, STOCK],
            )
            # Location by location, as stock arrives in real life: one SKU's
            # 20 levels sit on 20 different pages, not side by side.
            cursor.execute(
                "INSERT INTO inventory_stocklevel (sku_id, location_id, on_hand, reserved) "
                "SELECT v.id, l.id, (v.id * 7 + l.id * 13) %% 40, "
                "least((v.id + l.id) %% 3, (v.id * 7 + l.id * 13) %% 40) "
                "FROM unnest(%s::bigint[]) AS l(id) "
                "CROSS JOIN catalog_variant v WHERE v.sku LIKE 'BA-%%' ORDER BY l.id, v.id",
                [[loc.pk for loc in atp_locations]],
            )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE catalog_variant")
        cursor.execute("ANALYZE inventory_stocklevel")


# --- the workers -----------------------------------------------------------
@dataclass(frozen=True)
class Plan:
    mode: str  # "orm" or "sql"
    url: str
    location_id: int
    sku_ids: list[int]
    hot_ids: list[int]
    seconds: float


def holder(plan: Plan, number: int) -> Callable[[int, int, int], bool]:
    """One way of holding `quantity` of a SKU: True when held."""
    if plan.mode == "sql":
        import json
        import uuid

        import django
        import psycopg

        django.setup()  # only to read the service's own hold statement (one line, no buffer)
        from omniretail.inventory.services.holding import HOLD_ONE_SQL, hold_one_params

        conn = psycopg.connect(plan.url)

        def hold_sql(sku_id: int, quantity: int, i: int) -> bool:
            # The statements a hold writes, in one transaction: the hold (the
            # conditional UPDATE, or a refusal's explanation), the Reservation
            # row and the stock.changed outbox event.
            with conn.transaction():
                rows = conn.execute(
                    HOLD_ONE_SQL, hold_one_params(sku_id, plan.location_id, quantity, quantity)
                ).fetchall()
                if not rows or rows[0][0] != "h":
                    return False
                conn.execute(
                    RESERVATION_SQL, (sku_id, plan.location_id, quantity, f"raw-{number}-{i}")
                )
                conn.execute(
                    OUTBOX_SQL,
                    (
                        uuid.uuid4(),
                        json.dumps({"pairs": [[sku_id, plan.location_id]], "reason": "reserved"}),
                    ),
                )
            return True

        return hold_sql

    import django

    django.setup()
    from django.db import connection

    from omniretail.core.access import SYSTEM
    from omniretail.inventory.services import InsufficientStock, ReserveLine, stock_reserve

    connection.ensure_connection()

    def hold_orm(sku_id: int, quantity: int, i: int) -> bool:
        try:
            stock_reserve(
                lines=[ReserveLine(sku_id, plan.location_id, quantity)],
                demand_type="bench",
                demand_id=f"{number}-{i}",
                actor=SYSTEM,
            )
        except InsufficientStock:
            return False
        return True

    return hold_orm


def work(plan: Plan, number: int, start: Barrier, out: mp.Queue) -> None:
    try:
        hold = holder(plan, number)
    except BaseException as exc:
        start.abort()  # the parent stops waiting and reports this
        out.put(f"worker {number}: {exc!r}")
        raise
    rng = random.Random(number)
    timings: list[float] = []
    start.wait()
    began = time.time()
    stop = time.perf_counter() + plan.seconds
    while (t0 := time.perf_counter()) < stop:
        pool = plan.hot_ids if rng.random() < HOT_SHARE else plan.sku_ids
        hold(rng.choice(pool), rng.randint(1, 3), len(timings))
        timings.append((time.perf_counter() - t0) * 1000)
    out.put((began, time.time(), timings))


def run(plan: Plan) -> tuple[float, list[float]]:
    """Requests (held or refused) per second over all workers, and every
    request's latency in ms."""
    context = mp.get_context("spawn")  # a fresh interpreter: no inherited connection
    start = context.Barrier(WORKERS + 1)
    out = context.Queue()
    procs = [
        context.Process(target=work, args=(plan, n, start, out), daemon=True)
        for n in range(WORKERS)
    ]
    for p in procs:
        p.start()
    try:
        start.wait(timeout=120)
    except threading.BrokenBarrierError:
        raise RuntimeError(out.get(timeout=10)) from None
    results = [out.get(timeout=plan.seconds + 120) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    failed = [r for r in results if isinstance(r, str)]
    if failed:
        raise RuntimeError(failed[0])
    elapsed = max(r[1] for r in results) - min(r[0] for r in results)
    timings = [t for r in results for t in r[2]]
    return len(timings) / elapsed, timings


def levels_reset(location_id: int) -> int:
    """Nobody holds anything at the reservation location; returns oversold levels."""
    from django.db import connection
    from django.db.models import F

    from omniretail.core.models import OutboxEvent
    from omniretail.inventory.models import Reservation, StockLevel

    oversold = StockLevel.objects.filter(location_id=location_id, reserved__gt=F("on_hand")).count()
    StockLevel.objects.filter(location_id=location_id, reserved__gt=0).update(reserved=0)
    Reservation.objects.filter(demand_type="bench").delete()
    OutboxEvent.objects.filter(name="stock.changed").delete()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE inventory_stocklevel")
    return oversold


# --- the figures -----------------------------------------------------------
def main() -> None:
    url = os.environ.get("BENCH_DATABASE_URL") or DEFAULT_URL
    if not url.startswith(("postgres://", "postgresql://")):
        print("stock_reserve error=needs_postgresql")
        return
    if not database_ensure(url):
        print("stock_reserve error=no_postgresql")
        return
    os.environ["BENCH_DATABASE_URL"] = url
    keep = dataset_present(url)
    with flush_skipped() if keep else contextlib.nullcontext():
        django_ready("stock_reserve")
    if not keep:
        dataset_build()

    from omniretail.catalog.models import Variant
    from omniretail.core.models import Channel
    from omniretail.inventory.models import Location, StockLevel
    from omniretail.inventory.selectors import stock_available

    location_id = Location.objects.get(code=RESERVE_LOCATION).pk
    levels = StockLevel.objects.filter(location_id=location_id).order_by("sku_id")
    hot = list(levels.filter(on_hand=HOT_STOCK).values_list("sku_id", flat=True))
    skus = list(levels.exclude(on_hand=HOT_STOCK).values_list("sku_id", flat=True))
    levels_reset(location_id)  # whatever an interrupted run left

    orm_per_s, orm_ms = run(Plan("orm", url, location_id, skus, hot, SECONDS))
    oversold = levels_reset(location_id)
    raw_per_s, _ = run(Plan("sql", url, location_id, skus, hot, SECONDS))
    oversold += levels_reset(location_id)
    print(
        f"stock_reserve reservations_per_s={orm_per_s:.1f} p50_ms={median(orm_ms):.2f} "
        f"p99_ms={percentile(orm_ms, 99):.2f} oversold={oversold} "
        f"raw_sql_per_s={raw_per_s:.1f} ratio={orm_per_s / raw_per_s:.2f}",
        flush=True,
    )

    channel_id = Channel.objects.get(code=ATP_CHANNEL).pk
    atp_skus = list(Variant.objects.filter(sku__startswith="BA-").values_list("pk", flat=True))
    rng = random.Random(42)
    for sku_id in rng.sample(atp_skus, 200):  # warm the connection and caches
        stock_available(sku_id=sku_id, channel_id=channel_id)
    timings = []
    for sku_id in rng.sample(atp_skus, SAMPLES):
        t0 = time.perf_counter()
        stock_available(sku_id=sku_id, channel_id=channel_id)
        timings.append((time.perf_counter() - t0) * 1000)
    print(
        f"stock_available p50_ms={median(timings):.2f} p99_ms={percentile(timings, 99):.2f}",
        flush=True,
    )


if __name__ == "__main__":
    main()
