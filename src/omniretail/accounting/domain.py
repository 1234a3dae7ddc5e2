"""Pure bookkeeping rules: the default chart and balanced entries."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

CASH = "1000"
CARD_CLEARING = "1100"
INVENTORY = "1300"
VAT_PAYABLE = "2100"
SALES = "4000"
CASH_ROUNDING = "4900"
COST_OF_GOODS_SOLD = "5000"
INVENTORY_SHRINKAGE = "5100"

DEFAULT_CHART: list[tuple[str, str, str]] = [
    (CASH, "Cash in drawers", "asset"),
    (CARD_CLEARING, "Card payments clearing", "asset"),
    (INVENTORY, "Inventory", "asset"),
    (VAT_PAYABLE, "Sales tax / VAT payable", "liability"),
    (SALES, "Sales revenue", "revenue"),
    (CASH_ROUNDING, "Cash rounding differences", "revenue"),
    (COST_OF_GOODS_SOLD, "Cost of goods sold", "expense"),
    (INVENTORY_SHRINKAGE, "Inventory shrinkage and count differences", "expense"),
]


@dataclass(frozen=True)
class Posting:
    account: str
    debit: Decimal = Decimal(0)
    credit: Decimal = Decimal(0)


def postings_balanced(postings: list[Posting]) -> bool:
    return sum((p.debit for p in postings), Decimal(0)) == sum(
        (p.credit for p in postings), Decimal(0)
    )


def postings_net(postings: list[Posting]) -> list[Posting]:
    """Merge postings per account and drop zero lines, keeping one side each."""
    per_account: dict[str, Decimal] = {}
    for p in postings:
        per_account[p.account] = per_account.get(p.account, Decimal(0)) + p.debit - p.credit
    result = []
    for account, balance in per_account.items():
        if balance > 0:
            result.append(Posting(account, debit=balance))
        elif balance < 0:
            result.append(Posting(account, credit=-balance))
    return result
