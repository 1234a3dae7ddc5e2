"""JSON API of payments: the POS drawer (`/api/v1/pos/drawer/...`) and the
gateways' webhooks (`/api/v1/payments/webhooks/{gateway}`).

Drawer calls come from a terminal key (scopes drawer:write / drawer:read; the
key's own terminal) or a staff session naming the terminal. Mutating calls
accept an `Idempotency-Key`; a retry replays the first response.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from ninja import Field, Query, Router, Schema, Status

from omniretail.core.access import Actor, require
from omniretail.core.api_auth import idempotency_key, request_actor
from omniretail.core.errors import NotFound, ValidationFailed
from omniretail.core.idempotency import idempotent_call, request_fingerprint
from omniretail.core.models import Terminal
from omniretail.payments.drawers import (
    drawer_close,
    drawer_open,
    drawer_paid,
    drawer_x_report,
)
from omniretail.payments.gateways.base import SignatureInvalid, WebhookNotConfigured
from omniretail.payments.models import DrawerSession, ZReport
from omniretail.payments.selectors import DrawerTotals, drawer_open_session, z_report_get
from omniretail.payments.webhooks import webhook_receive

drawer_router = Router(tags=["pos drawer"])
router = Router(tags=["payments"])


# --- schemas ------------------------------------------------------------------------------


class TerminalIn(Schema):
    terminal: str | None = Field(
        None, description="Terminal code; optional with a terminal key (its own terminal)"
    )


class OpenIn(TerminalIn):
    float: Decimal = Field(..., description='Cash put in the drawer to start, e.g. "150.00"')


class PaidIn(TerminalIn):
    kind: str = Field(..., description='"in" (paid in) or "out" (paid out)')
    amount: Decimal
    reason: str = Field(..., max_length=300, description="Why (required)")


class CloseIn(TerminalIn):
    counted: dict[str, int] = Field(
        ..., description='Count per note/coin, e.g. {"50": 2, "20": 5, "0.50": 3}'
    )


class SessionOut(Schema):
    session_id: int
    terminal: str
    status: str
    currency: str
    float: str
    opened_at: dt.datetime
    opened_by: str


class MovementOut(Schema):
    movement_id: int
    session_id: int
    kind: str
    amount: str
    reason: str


class TenderTotalOut(Schema):
    tender: str
    count: int
    sales: str
    refunds: str
    net: str


class XReportOut(Schema):
    session_id: int
    terminal: str
    currency: str
    opened_at: dt.datetime
    at: dt.datetime
    float: str
    tenders: list[TenderTotalOut]
    cash_sales: str
    cash_refunds: str
    paid_in: str
    paid_out: str
    expected_cash: str
    net_sales: str


class ZReportOut(Schema):
    number: str
    session_id: int
    terminal: str
    currency: str
    opened_at: dt.datetime
    issued_at: dt.datetime
    float: str
    tenders: list[TenderTotalOut]
    cash_sales: str
    cash_refunds: str
    paid_in: str
    paid_out: str
    expected_cash: str
    counted: dict[str, int]
    counted_total: str
    over_short: str
    net_sales: str
    grand_total: str
    hash: str
    previous_hash: str


# --- helpers ------------------------------------------------------------------------------


def _terminal(actor: Actor, code: str | None) -> Terminal:
    qs = Terminal.objects.select_related("store__company")
    if code:
        terminal = qs.filter(code=code).first()
        if terminal is None:
            raise ValidationFailed(
                f"unknown terminal {code!r}; use the till's code.", field="terminal"
            )
        return terminal
    if actor.terminal_id is not None:
        return qs.get(pk=actor.terminal_id)
    raise ValidationFailed("Name the terminal (its code) whose drawer this is.", field="terminal")


def _open_session(terminal: Terminal) -> DrawerSession:
    session = drawer_open_session(terminal_id=terminal.pk)
    if session is None:
        raise ValidationFailed(
            f"The drawer of {terminal.code} is closed: open the drawer first.",
            field="terminal",
            code="drawer_closed",
        )
    return session


def _money(value: Decimal) -> str:
    return format(value, "f")


def _session_out(session: DrawerSession) -> dict[str, Any]:
    return {
        "session_id": session.pk,
        "terminal": session.terminal.code,
        "status": session.status,
        "currency": session.currency,
        "float": _money(session.float_amount),
        "opened_at": session.opened_at.isoformat(),
        "opened_by": session.opened_by,
    }


def _x_out(totals: DrawerTotals) -> dict[str, Any]:
    return {
        "session_id": totals.session_id,
        "terminal": totals.terminal_code,
        "currency": totals.currency,
        "opened_at": totals.opened_at,
        "at": totals.until,
        "float": _money(totals.float_amount),
        "tenders": [t.as_dict() for t in totals.tenders],
        "cash_sales": _money(totals.cash_sales),
        "cash_refunds": _money(totals.cash_refunds),
        "paid_in": _money(totals.paid_in),
        "paid_out": _money(totals.paid_out),
        "expected_cash": _money(totals.expected_cash),
        "net_sales": _money(totals.net_sales),
    }


def _z_out(z: ZReport) -> dict[str, Any]:
    return {
        "number": z.full_number,
        "session_id": z.session_id,
        "terminal": z.terminal.code,
        "currency": z.currency,
        "opened_at": z.opened_at.isoformat(),
        "issued_at": z.issued_at.isoformat(),
        "float": _money(z.float_amount),
        "tenders": z.tenders,
        "cash_sales": _money(z.cash_sales),
        "cash_refunds": _money(z.cash_refunds),
        "paid_in": _money(z.paid_in),
        "paid_out": _money(z.paid_out),
        "expected_cash": _money(z.expected_cash),
        "counted": z.counted,
        "counted_total": _money(z.counted_total),
        "over_short": _money(z.over_short),
        "net_sales": _money(z.net_sales),
        "grand_total": _money(z.grand_total),
        "hash": z.hash,
        "previous_hash": z.previous_hash,
    }


def _idempotent(request: HttpRequest, actor: Actor, payload: Schema, effect: Any) -> Status:
    result = idempotent_call(
        scope=actor.idempotency_scope,
        key=idempotency_key(request),
        fingerprint=request_fingerprint("POST", request.path, payload.dict()),
        effect=effect,
    )
    return Status(200 if result.replayed else result.status, result.body)


def _z_for(actor: Actor, number: str) -> ZReport:
    z = z_report_get(full_number=number)
    if z is None or (actor.terminal_id is not None and z.terminal_id != actor.terminal_id):
        raise NotFound(f"No Z report {number!r}.", field="number")
    require(actor, "drawer.read", store_id=z.store_id)
    return z


def _html(title: str, report: dict[str, Any], *, z: bool) -> HttpResponse:
    body = render_to_string("payments/drawer_report.html", {"title": title, "r": report, "is_z": z})
    return HttpResponse(body, content_type="text/html; charset=utf-8")


# --- drawer endpoints -----------------------------------------------------------------------


@drawer_router.post("/open", response={201: SessionOut, 200: SessionOut})
def open_drawer(request: HttpRequest, payload: OpenIn) -> Status:
    """Open the terminal's drawer with a float (one open session per terminal)."""
    actor = request_actor(request)
    terminal = _terminal(actor, payload.terminal)

    def effect() -> tuple[int, dict[str, Any]]:
        session = drawer_open(terminal=terminal, float_amount=payload.float, actor=actor)
        return 201, _session_out(session)

    return _idempotent(request, actor, payload, effect)


@drawer_router.post("/paid", response={201: MovementOut, 200: MovementOut})
def paid_in_out(request: HttpRequest, payload: PaidIn) -> Status:
    """Pay cash into or out of the open drawer, with a reason."""
    actor = request_actor(request)
    terminal = _terminal(actor, payload.terminal)

    def effect() -> tuple[int, dict[str, Any]]:
        movement = drawer_paid(
            session=_open_session(terminal),
            kind=payload.kind,
            amount=payload.amount,
            reason=payload.reason,
            actor=actor,
        )
        return 201, {
            "movement_id": movement.pk,
            "session_id": movement.session_id,
            "kind": movement.kind,
            "amount": _money(movement.amount),
            "reason": movement.reason,
        }

    return _idempotent(request, actor, payload, effect)


def _x_report(request: HttpRequest, code: str | None) -> DrawerTotals:
    actor = request_actor(request)
    terminal = _terminal(actor, code)
    require(actor, "drawer.read", store_id=terminal.store_id)
    if actor.terminal_id is not None and actor.terminal_id != terminal.pk:
        raise NotFound("No open drawer for you at that terminal.", field="terminal")
    return drawer_x_report(session=_open_session(terminal))


@drawer_router.get("/x-report", response=XReportOut)
def x_report(request: HttpRequest, query: Query[TerminalIn]) -> dict[str, Any]:
    """Running totals of the open drawer (changes nothing)."""
    return _x_out(_x_report(request, query.terminal))


@drawer_router.get("/x-report/print")
def x_report_print(request: HttpRequest, query: Query[TerminalIn]) -> HttpResponse:
    """The X report as an 80 mm printable page."""
    totals = _x_report(request, query.terminal)
    return _html(f"X report — {totals.terminal_code}", _x_out(totals), z=False)


@drawer_router.post("/close", response={201: ZReportOut, 200: ZReportOut})
def close_drawer(request: HttpRequest, payload: CloseIn) -> Status:
    """Count the drawer and close it: over/short and the numbered Z report."""
    actor = request_actor(request)
    terminal = _terminal(actor, payload.terminal)

    def effect() -> tuple[int, dict[str, Any]]:
        z = drawer_close(session=_open_session(terminal), counted=payload.counted, actor=actor)
        return 201, _z_out(z)

    return _idempotent(request, actor, payload, effect)


@drawer_router.get("/z-reports/{number}", response=ZReportOut)
def z_report(request: HttpRequest, number: str) -> dict[str, Any]:
    return _z_out(_z_for(request_actor(request), number))


@drawer_router.get("/z-reports/{number}/print")
def z_report_print(request: HttpRequest, number: str) -> HttpResponse:
    """The Z report as an 80 mm printable page."""
    z = _z_for(request_actor(request), number)
    return _html(f"Z report {z.full_number}", _z_out(z), z=True)


# --- webhooks -------------------------------------------------------------------------------


class WebhookOut(Schema):
    status: str = Field(..., description="processed, duplicate, stale or unknown")
    event_id: str
    type: str


class WebhookError(Schema):
    error: dict[str, str]


@router.post(
    "/webhooks/{gateway}",
    auth=None,
    response={200: WebhookOut, 400: WebhookError, 503: WebhookError},
)
def webhook(request: HttpRequest, gateway: str) -> Status:
    """A gateway's event. Signature-checked (400 when forged or older than 5
    minutes), refused with 503 while the gateway's webhook secret is not
    configured, processed once per event id."""
    try:
        result = webhook_receive(gateway=gateway, payload=request.body, headers=request.headers)
    except WebhookNotConfigured as exc:
        return Status(503, {"error": {"code": "webhook_not_configured", "message": str(exc)}})
    except SignatureInvalid as exc:
        return Status(
            400, {"error": {"code": "bad_signature", "message": f"Webhook refused: {exc}"}}
        )
    return Status(200, {"status": result.status, "event_id": result.event_id, "type": result.type})
