"""POS cash sales through the whole flow (order, stock, payment, numbered
chained receipt, journal, outbox) on one terminal.

Prints: pos_sale db=… sales=… sales_per_s=… p50_ms=… p99_ms=… queries_per_sale=…
"""

from __future__ import annotations

import time
import uuid
from decimal import Decimal

from _setup import django_ready, median, percentile

SALES = 300


def main() -> None:
    engine = django_ready("pos_sale")
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from tests.conftest import build_shop, stock_up

    from omniretail.channels.pos.services import SaleLine, Tender, pos_sale_record
    from omniretail.core.access import SYSTEM
    from omniretail.verify import verify_all

    shop = build_shop(f"bench{uuid.uuid4().hex[:6]}")
    stock_up(shop, {shop.shirt_m: 10_000, shop.mug: 10_000, shop.candle: 10_000})
    lines = [
        SaleLine(1, sku=shop.shirt_m.sku),
        SaleLine(2, sku=shop.mug.sku),
        SaleLine(1, barcode=shop.candle.barcode),
    ]
    tenders = [Tender("cash", Decimal("200"))]

    def sell() -> None:
        pos_sale_record(
            terminal=shop.terminal,
            client_uuid=uuid.uuid4(),
            lines=lines,
            tenders=tenders,
            actor=SYSTEM,
        )

    sell()  # warm up
    with CaptureQueriesContext(connection) as queries:
        sell()
    timings: list[float] = []
    started = time.perf_counter()
    for _ in range(SALES):
        t0 = time.perf_counter()
        sell()
        timings.append((time.perf_counter() - t0) * 1000)
    elapsed = time.perf_counter() - started
    problems, _ = verify_all()
    print(
        f"pos_sale db={engine} sales={SALES} sales_per_s={SALES / elapsed:.1f} "
        f"p50_ms={median(timings):.2f} p99_ms={percentile(timings, 99):.2f} "
        f"queries_per_sale={len(queries)} verify_problems={len(problems)}"
    )


if __name__ == "__main__":
    main()
