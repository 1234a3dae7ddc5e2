from __future__ import annotations

from decimal import Decimal

from omniretail.core.errors import ValidationFailed
from omniretail.core.models import Terminal
from omniretail.core.money import Money
from omniretail.orders.models import Order
from omniretail.payments.domain import Settlement, TenderError, TenderInput, tenders_settle
from omniretail.payments.models import Payment


def payments_settle(
    *, due: Money, tenders: list[TenderInput], cash_rounding_step: Decimal
) -> list[Settlement]:
    """Check the tenders cover the amount due before anything is written."""
    try:
        return tenders_settle(due, tenders, cash_rounding_step=cash_rounding_step)
    except TenderError as exc:
        raise ValidationFailed(str(exc), field=exc.field)


def payments_record(
    *, order: Order, terminal: Terminal | None, settlements: list[Settlement]
) -> list[Payment]:
    """Store the settled tenders of an order (inside the sale's transaction)."""
    return Payment.objects.bulk_create(
        [
            Payment(
                order=order,
                terminal=terminal,
                tender=s.tender,
                currency=s.applied.currency,
                amount=s.applied.amount,
                tendered=s.tendered.amount,
                change=s.change.amount,
                rounding=s.rounding.amount,
            )
            for s in settlements
        ]
    )
