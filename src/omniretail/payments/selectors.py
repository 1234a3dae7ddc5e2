"""Payment and drawer reads: running totals of a drawer session, by tender."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, F, Sum
from django.utils import timezone

from omniretail.payments.domain import expected_cash
from omniretail.payments.models import DrawerMovement, DrawerSession, Payment, Refund, ZReport

ZERO = Decimal("0.00")


def _q(value: Decimal | None) -> Decimal:
    """Sums come back from SQLite with any exponent: quantize to the cent."""
    return (value or ZERO).quantize(ZERO)


@dataclass(frozen=True)
class TenderTotal:
    tender: str
    count: int
    sales: Decimal
    refunds: Decimal

    @property
    def net(self) -> Decimal:
        return self.sales - self.refunds

    def as_dict(self) -> dict[str, str | int]:
        return {
            "tender": self.tender,
            "count": self.count,
            "sales": format(self.sales, "f"),
            "refunds": format(self.refunds, "f"),
            "net": format(self.net, "f"),
        }


@dataclass(frozen=True)
class DrawerTotals:
    """A drawer session's figures from its opening up to `until` (an X report)."""

    session_id: int
    terminal_code: str
    currency: str
    opened_at: dt.datetime
    until: dt.datetime
    float_amount: Decimal
    tenders: list[TenderTotal]
    cash_sales: Decimal
    cash_refunds: Decimal
    paid_in: Decimal
    paid_out: Decimal

    @property
    def expected_cash(self) -> Decimal:
        return expected_cash(
            float_amount=self.float_amount,
            cash_sales=self.cash_sales,
            cash_refunds=self.cash_refunds,
            paid_in=self.paid_in,
            paid_out=self.paid_out,
        )

    @property
    def net_sales(self) -> Decimal:
        return sum((t.net for t in self.tenders), ZERO)


def drawer_open_session(*, terminal_id: int) -> DrawerSession | None:
    return DrawerSession.objects.filter(
        terminal_id=terminal_id, status=DrawerSession.Status.OPEN
    ).first()


def drawer_totals(*, session: DrawerSession, until: dt.datetime | None = None) -> DrawerTotals:
    """Sales of the session's terminal between opening and `until` (closing,
    or now), by tender, plus its paid in / paid out and cash refunds."""
    until = until or session.closed_at or timezone.now()
    window = {"created_at__gte": session.opened_at, "created_at__lte": until}
    sales = {
        row["tender"]: row
        for row in Payment.objects.filter(terminal_id=session.terminal_id, **window)
        .exclude(status=Payment.Status.VOIDED)
        .values("tender")
        .annotate(
            count=Count("id"), total=Sum("amount"), in_drawer=Sum(F("amount") + F("rounding"))
        )
    }
    refunds = {
        row["tender"]: row["total"]
        for row in Refund.objects.filter(terminal_id=session.terminal_id, **window)
        .values("tender")
        .annotate(total=Sum("amount"))
    }
    tenders = [
        TenderTotal(
            tender=tender,
            count=sales[tender]["count"] if tender in sales else 0,
            sales=_q(sales[tender]["total"] if tender in sales else None),
            refunds=_q(refunds.get(tender)),
        )
        for tender in sorted(set(sales) | set(refunds))
    ]
    cash_refunds = Refund.objects.filter(drawer_session=session).aggregate(s=Sum("amount"))["s"]
    moves = dict(
        DrawerMovement.objects.filter(session=session)
        .values("kind")
        .annotate(total=Sum("amount"))
        .values_list("kind", "total")
    )
    return DrawerTotals(
        session_id=session.pk,
        terminal_code=session.terminal.code,
        currency=session.currency,
        opened_at=session.opened_at,
        until=until,
        float_amount=session.float_amount,
        tenders=tenders,
        cash_sales=_q(sales["cash"]["in_drawer"] if "cash" in sales else None),
        cash_refunds=_q(cash_refunds),
        paid_in=_q(moves.get(DrawerMovement.Kind.PAID_IN)),
        paid_out=_q(moves.get(DrawerMovement.Kind.PAID_OUT)),
    )


def z_report_get(*, full_number: str) -> ZReport | None:
    return (
        ZReport.objects.select_related("terminal", "store", "session")
        .filter(full_number=full_number)
        .first()
    )
