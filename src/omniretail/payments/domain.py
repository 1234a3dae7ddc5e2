"""Pure tender arithmetic: what is due in cash, what is applied, the change."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from omniretail.core.money import Money

CASH = "cash"
ACCEPTED_TENDERS = (CASH,)


@dataclass(frozen=True)
class TenderInput:
    type: str
    amount: Money


@dataclass(frozen=True)
class Settlement:
    tender: str
    applied: Money
    tendered: Money
    change: Money
    rounding: Money


class TenderError(ValueError):
    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def tenders_settle(
    due: Money, tenders: list[TenderInput], *, cash_rounding_step: Decimal = Decimal(0)
) -> list[Settlement]:
    """Apply tenders to the amount due in order. Only cash gives change; when
    cash settles the order, the due amount is rounded to the smallest coin."""
    if not tenders:
        raise TenderError("Add at least one tender (e.g. cash) to pay the sale.", "tenders")
    zero = Money.zero(due.currency)
    for i, t in enumerate(tenders):
        if t.type not in ACCEPTED_TENDERS:
            raise TenderError(
                f"tender type {t.type!r} is not accepted here; use one of "
                f"{', '.join(ACCEPTED_TENDERS)}.",
                f"tenders[{i}].type",
            )
        if t.amount.currency != due.currency:
            raise TenderError(
                f"tender currency {t.amount.currency} differs from the sale's {due.currency}.",
                f"tenders[{i}].amount",
            )
        if t.amount.amount <= 0:
            raise TenderError(
                f"tenders[{i}].amount must be above 0 (got {t.amount.amount}).",
                f"tenders[{i}].amount",
            )
    has_cash = any(t.type == CASH for t in tenders)
    rounded_due = due.round_to_step(cash_rounding_step) if has_cash else due
    rounding = rounded_due - due
    total_tendered = sum((t.amount for t in tenders), zero)
    if total_tendered < rounded_due:
        short = rounded_due - total_tendered
        raise TenderError(
            f"Underpaid: {total_tendered} tendered but {rounded_due} due; take {short} more.",
            "tenders",
        )
    settlements: list[Settlement] = []
    remaining = rounded_due
    for t in tenders:
        applied = t.amount if t.amount <= remaining else remaining
        remaining = remaining - applied
        change = t.amount - applied
        if change.amount > 0 and t.type != CASH:
            raise TenderError("Only cash can give change; lower the non-cash amount.", "tenders")
        if applied.is_zero():
            raise TenderError(
                "A tender is not needed: the sale is already paid; remove it.", "tenders"
            )
        settlements.append(Settlement(t.type, applied, t.amount, change, zero))
    # The cash rounding belongs to the cash tender (the last cash one).
    if not rounding.is_zero():
        last_cash = max(i for i, s in enumerate(settlements) if s.tender == CASH)
        s = settlements[last_cash]
        settlements[last_cash] = Settlement(
            s.tender, s.applied - rounding, s.tendered, s.change, rounding
        )
    return settlements
