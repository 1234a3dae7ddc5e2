"""Invoices posted per second by 16 writers on PostgreSQL, per number of series.

Each writer thread posts invoices through the accounting service's posting
path (`invoicing._invoice_create`: the gapless series counter row locked
until commit, the hash chain, the document row) for a fixed number of
documents; the invoices of a web order are numbered on their channel's
series (`INV-<CHANNEL>-`), so the writers spread over as many channels as
series. Configurations: 1 series (16 writers on one counter: the worst case,
fully serialised) and 4 series (4 writers per counter). Afterwards every
series is read back: numbers must run 1..n (`gaps`, `duplicates` count what
does not).

Prints one line per configuration:
  invoice_post docs_per_s=… p99_ms=… gaps=… duplicates=… series=… writers=16

Runs on BENCH_DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/omni_bench_invoices), created when missing
and flushed at the start. Without PostgreSQL it prints
`invoice_post error=no_postgresql` and exits 0.
"""

from __future__ import annotations

import os
import threading
import time
from decimal import Decimal

from _setup import django_ready, percentile

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/omni_bench_invoices"
WRITERS = 16
DOCUMENTS = int(os.environ.get("BENCH_INVOICE_DOCUMENTS", "150"))  # per writer and configuration
CONFIGURATIONS = (1, 4)


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


def orders_build(series_count: int) -> list[int]:
    """One web channel per series, one order on each to invoice."""
    from django.utils import timezone

    from omniretail.core.models import Channel, Company
    from omniretail.orders.models import Order

    company, _ = Company.objects.get_or_create(
        code="bench", defaults={"name": "Bench retail", "currency": "EUR"}
    )
    ids = []
    for i in range(series_count):
        channel = Channel.objects.create(
            company=company, code=f"bench-s{series_count}-{i}", name=f"Bench {i}", kind="web"
        )
        order = Order.objects.create(
            channel=channel,
            external_id=f"bench-{series_count}-{i}",
            currency="EUR",
            status="fulfilled",
            total_net=Decimal("41.67"),
            total_tax=Decimal("8.33"),
            total_gross=Decimal("50.00"),
            placed_at=timezone.now(),
            created_by="bench",
        )
        ids.append(order.pk)
    return ids


def run(series_count: int) -> str:
    from django.db import connection, transaction
    from django.db.models import Count, Max

    from omniretail.accounting.invoicing import _invoice_create
    from omniretail.accounting.models import Invoice
    from omniretail.accounting.taxes import LineIn, document_lines
    from omniretail.orders.models import Order

    order_ids = orders_build(series_count)
    amounts = document_lines(
        [
            LineIn("Linen Shirt White / M", 1, Decimal("37.50"), Decimal("0.20"), sku="LS-M"),
            LineIn("Stoneware Mug Grey", 1, Decimal("12.50"), Decimal("0.20"), sku="MUG-GR"),
        ],
        currency="EUR",
        prices_include_tax=True,
        rounding="line",
    )
    buyer = {"name": "Léa Martin", "address": "5 rue de la Paix, Paris", "country": "FR"}
    latencies: list[list[float]] = [[] for _ in range(WRITERS)]
    barrier = threading.Barrier(WRITERS + 1)

    def writer(index: int) -> None:
        try:
            order = Order.objects.select_related("channel__company").get(
                pk=order_ids[index % series_count]
            )
            barrier.wait()
            for _ in range(DOCUMENTS):
                started = time.perf_counter()
                with transaction.atomic():
                    _invoice_create(
                        order=order,
                        amounts=amounts,
                        buyer=buyer,
                        source=Invoice.Source.FULFILMENT,
                        books_revenue=False,
                    )
                latencies[index].append((time.perf_counter() - started) * 1000)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(WRITERS)]
    for t in threads:
        t.start()
    barrier.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    samples = [ms for per in latencies for ms in per]
    gaps = duplicates = 0
    rows = (
        Invoice.objects.filter(order_id__in=order_ids)
        .values("series_id")
        .annotate(n=Count("id"), distinct=Count("number", distinct=True), top=Max("number"))
    )
    for row in rows:
        duplicates += row["n"] - row["distinct"]
        gaps += row["top"] - row["distinct"]
    return (
        f"invoice_post docs_per_s={len(samples) / elapsed:.0f} "
        f"p99_ms={percentile(samples, 99):.1f} gaps={gaps} duplicates={duplicates} "
        f"series={series_count} writers={WRITERS}"
    )


def main() -> None:
    url = os.environ.get("BENCH_DATABASE_URL") or DEFAULT_URL
    if not url.startswith("postgres") or not database_ensure(url):
        print("invoice_post error=no_postgresql", flush=True)
        return
    os.environ["BENCH_DATABASE_URL"] = url
    django_ready("invoice_post")
    from django.db import connection

    for series_count in CONFIGURATIONS:
        print(run(series_count), flush=True)
        connection.close()


if __name__ == "__main__":
    main()
