"""Cash drawer sessions: open with a float, pay in/out, X report, count and
close with a numbered, hash-chained Z report.

Expected cash is computed, never typed: the float, plus the cash Payment rows
of the session's terminal between opening and closing, minus cash refunds out
of this drawer, plus paid in, minus paid out. So the POS only has to check a
drawer is open (`drawer_session_for_cash`) before it takes cash.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from omniretail.core.access import Actor, require
from omniretail.core.audit import audit_record
from omniretail.core.errors import Conflict, ValidationFailed
from omniretail.core.events import event_publish
from omniretail.core.models import Terminal
from omniretail.core.series import series_get_or_create, series_take
from omniretail.payments.domain import CountError, cash_count
from omniretail.payments.events import DrawerClosed, DrawerOpened, DrawerPaid
from omniretail.payments.models import DrawerMovement, DrawerSession, ZReport
from omniretail.payments.selectors import ZERO, DrawerTotals, drawer_totals

CENT = Decimal("0.01")


def _money_in(value: Decimal, field: str, *, allow_zero: bool = False) -> Decimal:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise ValidationFailed(f"{field} must be an amount, e.g. 100.00.", field=field)
    if value < 0 or (value == 0 and not allow_zero):
        raise ValidationFailed(
            f"{field} must be {'0 or more' if allow_zero else 'above 0'} (got {value}).",
            field=field,
        )
    if value != value.quantize(CENT):
        raise ValidationFailed(f"{field} has more than 2 decimals ({value}).", field=field)
    return value


def _own_terminal(actor: Actor, terminal_id: int) -> None:
    if actor.terminal_id is not None and actor.terminal_id != terminal_id:
        raise Conflict(
            "This key belongs to another terminal; work the drawer from its own till.",
            field="terminal",
            code="forbidden",
        )


@transaction.atomic
def drawer_open(*, terminal: Terminal, float_amount: Decimal, actor: Actor) -> DrawerSession:
    """Open the terminal's drawer with a float. One open session per terminal."""
    require(actor, "drawer.operate", store_id=terminal.store_id)
    _own_terminal(actor, terminal.pk)
    float_amount = _money_in(float_amount, "float", allow_zero=True)
    if not terminal.active:
        raise Conflict(f"Terminal {terminal.code} is deactivated.", field="terminal")
    currency = terminal.store.company.currency
    try:
        with transaction.atomic():
            session = DrawerSession.objects.create(
                terminal=terminal,
                store_id=terminal.store_id,
                currency=currency,
                float_amount=float_amount,
                opened_at=timezone.now(),
                opened_by=actor.label,
            )
    except IntegrityError:
        raise Conflict(
            f"The drawer of {terminal.code} is already open; close it (Z report) before "
            "opening a new session.",
            field="terminal",
            code="drawer_open",
        )
    event_publish(
        DrawerOpened(
            session_id=session.pk,
            terminal_id=terminal.pk,
            store_id=terminal.store_id,
            float_amount=str(float_amount),
            currency=currency,
        )
    )
    return session


def drawer_session_for_cash(*, terminal_id: int) -> DrawerSession:
    """The open drawer that takes (or gives back) cash at a terminal, locked
    until the caller's transaction ends so a close cannot slip in between.
    Call it inside the sale's or refund's transaction."""
    session = (
        DrawerSession.objects.select_for_update()
        .filter(terminal_id=terminal_id, status=DrawerSession.Status.OPEN)
        .first()
    )
    if session is None:
        raise ValidationFailed(
            "The cash drawer of this terminal is closed: open the drawer first (count the "
            "float), then take cash.",
            field="terminal",
            code="drawer_closed",
        )
    return session


def _locked_open(session: DrawerSession, actor: Actor) -> DrawerSession:
    locked = (
        DrawerSession.objects.select_for_update()
        .select_related("terminal")
        .filter(pk=session.pk)
        .first()
    )
    if locked is None or locked.status != DrawerSession.Status.OPEN:
        raise Conflict(
            f"Drawer session #{session.pk} is closed; open a new one.",
            field="session",
            code="drawer_closed",
        )
    require(actor, "drawer.operate", store_id=locked.store_id)
    _own_terminal(actor, locked.terminal_id)
    return locked


@transaction.atomic
def drawer_paid(
    *, session: DrawerSession, kind: str, amount: Decimal, reason: str, actor: Actor
) -> DrawerMovement:
    """Cash put into ("in") or taken out of ("out") the drawer, with a reason."""
    locked = _locked_open(session, actor)
    if kind not in DrawerMovement.Kind.values:
        raise ValidationFailed('kind must be "in" (paid in) or "out" (paid out).', field="kind")
    amount = _money_in(amount, "amount")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(
            "Give the reason (e.g. 'window cleaner', 'change from the bank').", field="reason"
        )
    if len(reason) > 300:
        raise ValidationFailed("reason is longer than 300 characters; shorten it.", field="reason")
    if kind == DrawerMovement.Kind.PAID_OUT:
        in_drawer = drawer_totals(session=locked, until=timezone.now()).expected_cash
        if amount > in_drawer:
            raise ValidationFailed(
                f"amount {amount} is more than the {in_drawer} {locked.currency} the drawer "
                "should hold; count the drawer or pay out less.",
                field="amount",
            )
    movement = DrawerMovement.objects.create(
        session=locked, kind=kind, amount=amount, reason=reason, actor_label=actor.label
    )
    audit_record(
        actor=actor,
        action=f"drawer.paid_{kind}",
        object_type="drawer_session",
        object_id=locked.pk,
        store_id=locked.store_id,
        reason=reason,
        data={"amount": str(amount), "currency": locked.currency, "movement_id": movement.pk},
    )
    event_publish(
        DrawerPaid(
            movement_id=movement.pk,
            session_id=locked.pk,
            terminal_id=locked.terminal_id,
            store_id=locked.store_id,
            kind=kind,
            amount=str(amount),
            currency=locked.currency,
            reason=reason,
        )
    )
    return movement


def drawer_x_report(*, session: DrawerSession) -> DrawerTotals:
    """Running totals at any time; changes nothing."""
    return drawer_totals(session=session)


def z_series_code(terminal: Terminal) -> str:
    return f"z-{terminal.code}"


def _money(value: Decimal) -> str:
    return format(value, "f")


@transaction.atomic
def drawer_close(*, session: DrawerSession, counted: Mapping[str, int], actor: Actor) -> ZReport:
    """Count the drawer and close it: expected cash, over/short (booked through
    `drawer.closed`), and the Z report on the terminal's gapless series."""
    locked = _locked_open(session, actor)
    try:
        count, counted_total = cash_count(dict(counted), locked.currency)
    except CountError as exc:
        raise ValidationFailed(str(exc), field=exc.field)
    closed_at = timezone.now()
    totals = drawer_totals(session=locked, until=closed_at)
    expected = totals.expected_cash
    over_short = counted_total - expected
    terminal = locked.terminal
    series = series_get_or_create(
        code=z_series_code(terminal), prefix=f"Z-{terminal.code.upper()}-"
    )
    report = ZReport(
        series=series,
        session=locked,
        terminal=terminal,
        store_id=locked.store_id,
        issued_at=closed_at,
        opened_at=locked.opened_at,
        currency=locked.currency,
        float_amount=locked.float_amount,
        tenders=[t.as_dict() for t in totals.tenders],
        cash_sales=totals.cash_sales,
        cash_refunds=totals.cash_refunds,
        paid_in=totals.paid_in,
        paid_out=totals.paid_out,
        expected_cash=expected,
        counted=count,
        counted_total=counted_total,
        over_short=over_short,
        net_sales=totals.net_sales,
    )

    def fields_for(number: int, full_number: str, previous_hash: str) -> Mapping[str, Any]:
        # The series row is locked now: the previous Z report's grand total is final.
        before = (
            ZReport.objects.filter(series=series, number=number - 1)
            .values_list("grand_total", flat=True)
            .first()
        )
        report.number, report.full_number = number, full_number
        report.grand_total = (before or ZERO) + totals.net_sales
        return report.hash_fields()

    numbered = series_take(series_id=series.pk, fields_for=fields_for)
    report.previous_hash, report.hash = numbered.previous_hash, numbered.hash
    report.save(force_insert=True)
    locked.status = DrawerSession.Status.CLOSED
    locked.closed_at = closed_at
    locked.closed_by = actor.label
    locked.counted = count
    locked.counted_total = counted_total
    locked.expected_cash = expected
    locked.over_short = over_short
    locked.save(
        update_fields=[
            "status",
            "closed_at",
            "closed_by",
            "counted",
            "counted_total",
            "expected_cash",
            "over_short",
        ]
    )
    audit_record(
        actor=actor,
        action="drawer.close",
        object_type="drawer_session",
        object_id=locked.pk,
        store_id=locked.store_id,
        reason="over" if over_short > 0 else ("short" if over_short < 0 else "balanced"),
        data={
            "z_report": report.full_number,
            "expected_cash": _money(expected),
            "counted_total": _money(counted_total),
            "over_short": _money(over_short),
        },
    )
    event_publish(
        DrawerClosed(
            session_id=locked.pk,
            terminal_id=locked.terminal_id,
            store_id=locked.store_id,
            z_report=report.full_number,
            expected_cash=_money(expected),
            counted_total=_money(counted_total),
            over_short=_money(over_short),
            currency=locked.currency,
        )
    )
    return report
