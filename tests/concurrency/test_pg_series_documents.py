"""16 writers post 500 documents each to 4 series at once, one in ten rolled
back on purpose: every series stays contiguous (1..n, no gap, no duplicate)
and its hash chain intact. PostgreSQL only (SQLite serialises writers)."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from omniretail.accounting.invoicing import _post
from omniretail.accounting.models import Invoice
from omniretail.accounting.taxes import LineIn, document_lines
from omniretail.core.fiscal import ChainLink, chain_verify
from omniretail.core.models import NumberSeries
from omniretail.core.series import series_get_or_create
from omniretail.orders.models import Order
from omniretail.verify import verify_all
from tests.concurrency.test_pg_concurrency import in_threads

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

WRITERS, DOCUMENTS, SERIES = 16, 500, 4


class RolledBack(Exception):
    pass


def test_sixteen_writers_keep_four_series_contiguous_and_chained(shop):
    order = Order.objects.create(
        channel=shop.pos_channel,
        external_id="bench",
        currency="EUR",
        status="completed",
        total_net=Decimal("10.00"),
        total_tax=Decimal("2.00"),
        total_gross=Decimal("12.00"),
        placed_at=timezone.now(),
        created_by="test",
    )
    series = [series_get_or_create(code=f"inv-c{i}", prefix=f"INV-C{i}-") for i in range(SERIES)]
    amounts = document_lines(
        [LineIn("Mug", 1, Decimal("12.00"), Decimal("0.20"))],
        currency="EUR",
        prices_include_tax=True,
        rounding="line",
    )

    def write(writer: int) -> int:
        committed = 0
        for i in range(DOCUMENTS):
            target = series[(writer + i) % SERIES]
            try:
                with transaction.atomic():
                    invoice = Invoice(
                        series=target,
                        order=order,
                        channel_id=order.channel_id,
                        store_id=None,
                        source="fulfilment",
                        books_revenue=False,
                        issued_at=timezone.now(),
                        currency="EUR",
                        seller={"name": "Acme"},
                        buyer={"name": f"w{writer}"},
                        lines=amounts.lines,
                        tax_summary=amounts.tax_summary,
                        total_net=amounts.net,
                        total_tax=amounts.tax,
                        total_gross=amounts.gross,
                    )
                    _post(invoice)
                    if (writer * DOCUMENTS + i) % 10 == 0:
                        raise RolledBack  # after the number was taken: it must come back
                committed += 1
            except RolledBack:
                pass
        return committed

    committed = sum(in_threads(WRITERS, write))
    assert committed == WRITERS * DOCUMENTS * 9 // 10 == 7200
    total = 0
    for s in NumberSeries.objects.filter(code__startswith="inv-c").order_by("code"):
        rows = list(Invoice.objects.filter(series=s).order_by("number"))
        numbers = [r.number for r in rows]
        total += len(rows)
        assert numbers == list(range(1, len(rows) + 1)), s.code  # contiguous, unique
        assert not [n for n, c in Counter(r.full_number for r in rows).items() if c > 1]
        assert s.next_number == len(rows) + 1
        links = (ChainLink(r.number, r.previous_hash, r.hash, r.hash_fields()) for r in rows)
        assert chain_verify(links, expected_next=s.next_number, head_hash=s.head_hash) == []
    assert total == committed
    problems, summaries = verify_all()
    assert [p for p in problems if p.startswith("invoices")] == []
    assert f"invoices: {committed} documents in {SERIES} series gapless, chains intact" in summaries
