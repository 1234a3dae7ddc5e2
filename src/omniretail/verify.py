"""`omni verify`: every check of ARCHITECTURE.md's promises that exists so far.

Each check returns (problems, summary). Apps own their checks; this list is
project wiring, like wiring.py.
"""

from __future__ import annotations

from collections.abc import Callable

from omniretail.accounting.verify import (
    verify_closing_chains,
    verify_credit_note_chains,
    verify_drawer_over_short,
    verify_invoice_chains,
    verify_journal_balanced,
    verify_orders_settled,
    verify_receipt_chains,
)
from omniretail.inventory.verify import verify_reservations, verify_stock, verify_valuation

CHECKS: list[Callable[[], tuple[list[str], str]]] = [
    verify_stock,
    verify_reservations,
    verify_valuation,
    verify_receipt_chains,
    verify_journal_balanced,
    verify_invoice_chains,
    verify_credit_note_chains,
    verify_closing_chains,
    verify_orders_settled,
    verify_drawer_over_short,
]


def verify_all() -> tuple[list[str], list[str]]:
    problems: list[str] = []
    summaries: list[str] = []
    for check in CHECKS:
        found, summary = check()
        problems.extend(found)
        summaries.append(summary)
    return problems, summaries
