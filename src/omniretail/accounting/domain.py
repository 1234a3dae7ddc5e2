"""Pure bookkeeping rules: the default chart and balanced entries."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

CASH = "1000"
CARD_CLEARING = "1100"
CHECKS_TO_DEPOSIT = "1150"
ACCOUNTS_RECEIVABLE = "1200"
INVENTORY = "1300"
GOODS_RECEIVED_NOT_INVOICED = "2050"
VAT_PAYABLE = "2100"
GIFT_CARD_LIABILITY = "2300"
STORE_CREDIT_LIABILITY = "2310"
LOYALTY_LIABILITY = "2320"
EXCHANGE_CREDIT = "2330"
CUSTOMER_DEPOSITS = "2400"
SALES = "4000"
SALES_DISCOUNTS = "4100"
CASH_ROUNDING = "4900"
BREAKAGE_INCOME = "4950"
COST_OF_GOODS_SOLD = "5000"
INVENTORY_SHRINKAGE = "5100"
LOYALTY_EXPENSE = "6100"
CASH_OVER_SHORT = "6200"
PAID_OUT_EXPENSES = "6300"
OFFLINE_SHORTFALL = "6400"
OWNER_EQUITY = "3000"

DEFAULT_CHART: list[tuple[str, str, str]] = [
    (CASH, "Cash in drawers", "asset"),
    (CARD_CLEARING, "Card payments clearing", "asset"),
    (CHECKS_TO_DEPOSIT, "Checks to deposit", "asset"),
    (ACCOUNTS_RECEIVABLE, "Accounts receivable (on account)", "asset"),
    (INVENTORY, "Inventory", "asset"),
    (
        GOODS_RECEIVED_NOT_INVOICED,
        "Goods received, supplier invoice not yet booked",
        "liability",
    ),
    (VAT_PAYABLE, "Sales tax / VAT payable", "liability"),
    (GIFT_CARD_LIABILITY, "Gift cards outstanding", "liability"),
    (STORE_CREDIT_LIABILITY, "Store credit outstanding", "liability"),
    (LOYALTY_LIABILITY, "Loyalty points outstanding", "liability"),
    (
        EXCHANGE_CREDIT,
        "Exchange credit (returned goods applied to a replacement sale)",
        "liability",
    ),
    (CUSTOMER_DEPOSITS, "Customer payments not yet invoiced", "liability"),
    (OWNER_EQUITY, "Owner's equity (paid in / taken out)", "equity"),
    (SALES, "Sales revenue", "revenue"),
    (SALES_DISCOUNTS, "Sales discounts and refunds", "revenue"),
    (CASH_ROUNDING, "Cash rounding differences", "revenue"),
    (BREAKAGE_INCOME, "Expired gift cards and points", "revenue"),
    (COST_OF_GOODS_SOLD, "Cost of goods sold", "expense"),
    (INVENTORY_SHRINKAGE, "Inventory shrinkage and count differences", "expense"),
    (LOYALTY_EXPENSE, "Loyalty rewards granted", "expense"),
    (CASH_OVER_SHORT, "Cash over / short", "expense"),
    (PAID_OUT_EXPENSES, "Petty cash paid out", "expense"),
    (OFFLINE_SHORTFALL, "Offline sales their tender no longer covered", "expense"),
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
