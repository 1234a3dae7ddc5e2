"""Pure tender arithmetic: what is due in cash, what is applied, the change."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from omniretail.core.money import Money

CASH = "cash"
CARD = "card"
GIFT_CARD = "gift_card"
STORE_CREDIT = "store_credit"
LOYALTY = "loyalty"
CHECK = "check"
ON_ACCOUNT = "on_account"
ACCEPTED_TENDERS = (CASH, CARD, GIFT_CARD, STORE_CREDIT, LOYALTY, CHECK, ON_ACCOUNT)


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


# --- card payment states -------------------------------------------------------------------

AUTHORISED = "authorised"
CAPTURED = "captured"
VOIDED = "voided"
PARTIALLY_REFUNDED = "partially_refunded"
REFUNDED = "refunded"

# A payment's state only moves forward; voided ends an authorisation.
CARD_TRANSITIONS: dict[str, frozenset[str]] = {
    AUTHORISED: frozenset({CAPTURED, VOIDED, PARTIALLY_REFUNDED, REFUNDED}),
    CAPTURED: frozenset({PARTIALLY_REFUNDED, REFUNDED}),
    PARTIALLY_REFUNDED: frozenset({PARTIALLY_REFUNDED, REFUNDED}),
    REFUNDED: frozenset(),
    VOIDED: frozenset(),
}


@dataclass(frozen=True)
class CardState:
    status: str
    captured: Decimal | None
    refunded: Decimal


def refund_status(captured: Decimal, refunded: Decimal) -> str:
    return REFUNDED if refunded >= captured else PARTIALLY_REFUNDED


def card_state_after_event(
    state: CardState,
    event_type: str,
    *,
    amount_captured: Decimal | None,
    amount_refunded: Decimal | None,
) -> CardState | None:
    """The state a gateway event moves a card payment to, or None when the
    event is stale (we already know as much or more) or does not apply.
    Events carry cumulative amounts, so a late or repeated one never undoes
    what a newer one did."""
    new: CardState | None = None
    if event_type == "payment.captured" and state.status == AUTHORISED:
        new = CardState(CAPTURED, amount_captured, state.refunded)
    elif event_type == "payment.voided" and state.status == AUTHORISED:
        new = CardState(VOIDED, state.captured, state.refunded)
    elif (
        event_type == "payment.refunded"
        and amount_refunded is not None
        and amount_refunded > state.refunded
    ):
        captured = state.captured if state.captured is not None else amount_captured
        if captured is None or captured <= 0:
            return None
        new = CardState(refund_status(captured, amount_refunded), captured, amount_refunded)
    if new is None or new.status not in CARD_TRANSITIONS.get(state.status, frozenset()):
        return None
    return new


# --- cash drawers --------------------------------------------------------------------------

# Notes and coins in use; a count of anything else is refused as a typo.
DENOMINATIONS: dict[str, tuple[str, ...]] = {
    "EUR": (
        "500", "200", "100", "50", "20", "10", "5",
        "2", "1", "0.50", "0.20", "0.10", "0.05", "0.02", "0.01",
    ),
    "USD": ("100", "50", "20", "10", "5", "2", "1", "0.50", "0.25", "0.10", "0.05", "0.01"),
    "GBP": ("50", "20", "10", "5", "2", "1", "0.50", "0.20", "0.10", "0.05", "0.02", "0.01"),
    "CHF": (
        "1000", "200", "100", "50", "20", "10", "5", "2", "1", "0.50", "0.20", "0.10", "0.05",
    ),
}  # fmt: skip


class CountError(ValueError):
    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def cash_count(counted: dict[str, int], currency: str) -> tuple[dict[str, int], Decimal]:
    """Check a count of notes and coins; return it normalised ("0.5" → "0.50")
    with its total."""
    if not counted:
        raise CountError(
            'Count the drawer: give the number of each note and coin, e.g. {"20": 3}.',
            "counted",
        )
    allowed = {Decimal(d): d for d in DENOMINATIONS.get(currency.upper(), ())}
    normalised: dict[str, int] = {}
    total = Decimal(0)
    for key, count in counted.items():
        field = f"counted[{key}]"
        try:
            value = Decimal(str(key).strip())
        except ArithmeticError:
            raise CountError(f'{key!r} is not a denomination; write it like "20" or "0.50".', field)
        if not value.is_finite() or value <= 0:
            raise CountError(f"{key!r} is not a denomination above 0.", field)
        if allowed and value not in allowed:
            raise CountError(
                f"{key} is not a {currency} note or coin; use one of "
                f"{', '.join(allowed.values())}.",
                field,
            )
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise CountError(f"the count of {key} must be a whole number, 0 or more.", field)
        label = allowed.get(value, format(value.normalize(), "f"))
        if label in normalised:
            raise CountError(f"{key} is counted twice; give each denomination once.", field)
        normalised[label] = count
        total += value * count
    return normalised, total.quantize(Decimal("0.01"))


def expected_cash(
    *,
    float_amount: Decimal,
    cash_sales: Decimal,
    cash_refunds: Decimal,
    paid_in: Decimal,
    paid_out: Decimal,
) -> Decimal:
    return float_amount + cash_sales - cash_refunds + paid_in - paid_out
