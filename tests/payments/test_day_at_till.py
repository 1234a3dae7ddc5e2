"""A day at a till, as far as payments go: open the drawer with a float, sell
for cash (the real POS sale) and by card, refund in cash, pay out, X report,
close with a shortage, Z report; the next day continues the Z series and the
perpetual grand total; every journal entry balances."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from django.db.models import Sum

from omniretail.accounting.models import JournalEntry, JournalLine
from omniretail.core.errors import Conflict, ValidationFailed
from omniretail.core.fiscal import GENESIS_HASH, chain_hash
from omniretail.core.models import AuditLog
from omniretail.payments.drawers import drawer_close, drawer_session_for_cash
from omniretail.payments.models import DrawerSession, ZReport
from omniretail.payments.services import card_authorise, payment_refund
from omniretail.verify import verify_all
from tests.payments.conftest import open_order

pytestmark = pytest.mark.django_db


def auth(shop):
    return {"Authorization": f"Bearer {shop.terminal_token}"}


def post(client, shop, path, body):
    return client.post(
        f"/api/v1/pos{path}", body, content_type="application/json", headers=auth(shop)
    )


def sell(client, shop, lines, cash):
    r = post(
        client,
        shop,
        "/sales",
        {
            "client_uuid": str(uuid.uuid4()),
            "lines": lines,
            "tenders": [{"type": "cash", "amount": cash}],
        },
    )
    assert r.status_code == 201, r.content
    return r.json()


def balance(code):
    sums = JournalLine.objects.filter(account__code=code).aggregate(d=Sum("debit"), c=Sum("credit"))
    return (sums["d"] or 0) - (sums["c"] or 0)


def test_a_day_at_a_till(client, stocked, cashier):
    shop = stocked
    # 08:55 — the drawer is closed: no cash can be taken yet.
    with pytest.raises(ValidationFailed) as err:
        drawer_session_for_cash(terminal_id=shop.terminal.pk)
    assert "open the drawer first" in err.value.message
    assert client.get("/api/v1/pos/drawer/x-report", headers=auth(shop)).status_code == 422

    # 09:00 — open with a float of 150.00 (twice is refused).
    r = post(client, shop, "/drawer/open", {"float": "150.00"})
    assert r.status_code == 201, r.content
    session_id = r.json()["session_id"]
    r = post(client, shop, "/drawer/open", {"float": "150.00"})
    assert (r.status_code, r.json()["error"]["code"]) == (409, "drawer_open")

    # Cash sales through the POS: 74.90 (80 handed over) and 18.00 (20 handed over).
    first = sell(
        client, shop, [{"sku": "LS-M", "quantity": 1}, {"sku": "MUG-GR", "quantity": 2}], "80"
    )
    sell(client, shop, [{"sku": "CAN-FIG", "quantity": 1}], "20")
    # A card sale of 40.00 at this till.
    card = card_authorise(
        order_id=open_order(shop, "40.00").pk,
        amount=Decimal("40.00"),
        token="tok_mastercard",
        actor=cashier,
        idempotency_key=str(uuid.uuid4()),
        capture=True,
        terminal_id=shop.terminal.pk,
    )
    assert (card.status, card.card_brand, card.card_last4) == ("captured", "mastercard", "4444")

    # 11:30 — a chipped mug comes back: 12.50 in cash out of the drawer.
    cash_payment = DrawerSession.objects.get().terminal.payments.get(order_id=first["order_id"])
    payment_refund(
        payment=cash_payment,
        amount=Decimal("12.50"),
        reason="chipped mug",
        actor=cashier,
        terminal_id=shop.terminal.pk,
    )

    # 14:00 — the window cleaner is paid 15.00 out of the drawer; a reason is required.
    r = post(client, shop, "/drawer/paid", {"kind": "out", "amount": "15.00", "reason": " "})
    assert (r.status_code, r.json()["error"]["field"]) == (422, "reason")
    r = post(
        client, shop, "/drawer/paid", {"kind": "out", "amount": "15.00", "reason": "window cleaner"}
    )
    assert r.status_code == 201, r.content

    # 17:00 — X report: running totals, nothing closed.
    r = client.get("/api/v1/pos/drawer/x-report", headers=auth(shop))
    x = r.json()
    assert x["tenders"] == [
        {"tender": "card", "count": 1, "sales": "40.00", "refunds": "0.00", "net": "40.00"},
        {"tender": "cash", "count": 2, "sales": "92.90", "refunds": "12.50", "net": "80.40"},
    ]
    assert (x["cash_sales"], x["cash_refunds"], x["paid_out"], x["expected_cash"]) == (
        "92.90",
        "12.50",
        "15.00",
        "215.40",  # 150 + 92.90 - 12.50 - 15.00
    )
    page = client.get("/api/v1/pos/drawer/x-report/print", headers=auth(shop))
    assert page["Content-Type"].startswith("text/html")
    assert b"215.40" in page.content
    assert b"80mm" in page.content

    # 19:00 — close: 213.40 counted, 2.00 short. A typo in the count is refused first.
    r = post(client, shop, "/drawer/close", {"counted": {"100": 1, "3": 1}})
    assert (r.status_code, r.json()["error"]["field"]) == (422, "counted[3]")
    counted = {"100": 1, "50": 2, "10": 1, "2": 1, "1": 1, "0.20": 2}
    r = post(client, shop, "/drawer/close", {"counted": counted})
    assert r.status_code == 201, r.content
    z = r.json()
    assert (z["number"], z["counted_total"], z["expected_cash"], z["over_short"]) == (
        "Z-PT1-000001",
        "213.40",
        "215.40",
        "-2.00",
    )
    assert (z["net_sales"], z["grand_total"], z["previous_hash"]) == (
        "120.40",
        "120.40",
        GENESIS_HASH,
    )
    report = ZReport.objects.get()
    assert report.hash == chain_hash(GENESIS_HASH, report.hash_fields())
    assert DrawerSession.objects.get(pk=session_id).status == "closed"
    audit = AuditLog.objects.get(action="drawer.close")
    assert (audit.reason, audit.data["over_short"]) == ("short", "-2.00")
    page = client.get(f"/api/v1/pos/drawer/z-reports/{z['number']}/print", headers=auth(shop))
    assert b"Z REPORT Z-PT1-000001" in page.content
    assert b"-2.00" in page.content

    # The books: paid out and the shortage, each balanced; cash = sales - paid out - short.
    assert {
        (line.account.code, line.debit, line.credit)
        for line in JournalLine.objects.filter(entry__reference_type="drawer_session")
    } == {("6200", Decimal("2.00"), Decimal("0")), ("1000", Decimal("0"), Decimal("2.00"))}
    assert balance("6300") == Decimal("15.00")
    assert balance("6200") == Decimal("2.00")
    for entry in JournalEntry.objects.all():
        lines = entry.lines.all()
        assert sum(ln.debit for ln in lines) == sum(ln.credit for ln in lines)
    problems, _ = verify_all()
    assert problems == []

    # After closing, the drawer takes nothing more.
    r = post(client, shop, "/drawer/paid", {"kind": "in", "amount": "5", "reason": "coins"})
    assert r.status_code == 422

    # Next day: the Z series continues, chained, with the perpetual grand total.
    assert post(client, shop, "/drawer/open", {"float": "200.00"}).status_code == 201
    sell(client, shop, [{"sku": "MUG-GR", "quantity": 1}], "12.50")
    r = post(
        client, shop, "/drawer/paid", {"kind": "in", "amount": "10.00", "reason": "coins from bank"}
    )
    assert r.status_code == 201
    r = post(client, shop, "/drawer/close", {"counted": {"200": 1, "10": 2, "2": 1, "0.50": 1}})
    z2 = r.json()
    assert (z2["number"], z2["expected_cash"], z2["over_short"]) == (
        "Z-PT1-000002",
        "222.50",
        "0.00",
    )
    assert (z2["net_sales"], z2["grand_total"], z2["previous_hash"]) == (
        "12.50",
        "132.90",
        z["hash"],
    )
    assert balance("3000") == Decimal("-10.00")  # paid in: owner's equity credited
    closed = DrawerSession.objects.get(pk=session_id)
    with pytest.raises(Conflict):
        drawer_close(session=closed, counted=counted, actor=cashier)
