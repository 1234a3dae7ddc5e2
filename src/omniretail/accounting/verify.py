"""Promises 4 and 5 of ARCHITECTURE.md, recomputed from the stored documents:
every receipt series is gapless and its hash chain intact; every journal
entry balances."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Count, Q, Sum

from omniretail.accounting.models import JournalEntry, Receipt
from omniretail.core.fiscal import ChainLink, chain_verify
from omniretail.core.models import NumberSeries

CENT = Decimal("0.01")


def verify_receipt_chains() -> tuple[list[str], str]:
    problems: list[str] = []
    documents = 0
    series_list = list(
        NumberSeries.objects.filter(Q(receipts__isnull=False) | Q(terminal__isnull=False))
        .distinct()
        .order_by("code")
    )
    for series in series_list:
        receipts = list(Receipt.objects.filter(series=series).order_by("number", "pk"))
        documents += len(receipts)
        links = (ChainLink(r.number, r.previous_hash, r.hash, r.hash_fields()) for r in receipts)
        found = chain_verify(links, expected_next=series.next_number, head_hash=series.head_hash)
        for p in found:
            where = f"{series.prefix}{p.number:0{series.padding}d}" if p.number else series.code
            problems.append(f"receipts: series {series.code}: {where}: {p.message}")
    summary = f"receipts: {documents} receipts in {len(series_list)} series gapless, chains intact"
    return problems, summary


def verify_journal_balanced() -> tuple[list[str], str]:
    problems: list[str] = []
    rows = JournalEntry.objects.annotate(
        dr=Sum("lines__debit"), cr=Sum("lines__credit"), n=Count("lines")
    ).values_list("pk", "reference_type", "reference_id", "dr", "cr", "n")
    count = 0
    for pk, ref_type, ref_id, dr, cr, n in rows.iterator(2000):
        count += 1
        if n == 0:
            problems.append(f"journal: entry #{pk} ({ref_type} {ref_id}) has no lines")
            continue
        # SQLite sums decimals in floating point: compare and show cents, as on the lines.
        dr, cr = (Decimal(str(v)).quantize(CENT) for v in (dr, cr))
        if dr != cr:
            problems.append(
                f"journal: entry #{pk} ({ref_type} {ref_id}) debits {dr} != credits {cr}"
            )
    return problems, f"journal: {count} entries balanced"
