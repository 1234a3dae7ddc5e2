"""Returns and exchanges at the counter through the till's API: a web order
found by its number and refunded to its card or as store credit (a manager's
PIN above the cashier's refund limit), a till sale found by its receipt."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from django.test import Client

from omniretail.core.models import AuditLog
from omniretail.loyalty.models import StoreCreditAccount
from omniretail.orders.models import Order, Return
from omniretail.payments.models import Payment, Refund
from tests.conftest import stock_up
from tests.pos.test_till_api import sign_in
from tests.pos.web_orders import pickup_waiting, web_channel, web_order_shipped

pytestmark = pytest.mark.django_db


@pytest.fixture
def till(shop) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {shop.terminal_token}")


def post(till: Client, path: str, body: dict, token: str | None = None):
    extra = {"HTTP_X_CASHIER_TOKEN": token} if token else {}
    return till.post(f"/api/v1{path}", body, content_type="application/json", **extra)


def test_a_web_order_comes_back_as_store_credit_then_on_its_card_with_a_manager(shop, staff, till):
    order, card = web_order_shipped(
        shop, web_channel(shop), external_id="W-7001", lines=[("LS-M", 1), ("MUG-GR", 2)]
    )
    assert order.total_gross == Decimal("79.80")  # 49.90 + 2 × 12.50 + 4.90 shipping
    token = sign_in(till, staff.cashier)
    [found] = till.get("/api/v1/pos/orders/find?q=W-7001").json()
    assert (found["order_id"], found["channel"], found["tenders"]) == (order.pk, "web", ["card"])
    shirt, mugs = found["lines"]
    assert (shirt["sku"], shirt["returnable"], mugs["sku"], mugs["returnable"]) == (
        "LS-M",
        1,
        "MUG-GR",
        2,
    )

    # One mug as store credit: no limit applies to credit.
    r = post(
        till,
        "/returns",
        {
            "order_id": order.pk,
            "location": "st-paris",
            "lines": [{"line_id": mugs["line_id"], "quantity": 1}],
            "refund_method": "store_credit",
            "client_uuid": str(uuid.uuid4()),
        },
    )
    assert r.status_code == 201, r.content
    assert (r.json()["number"], r.json()["refund_amount"]) == ("RET-000001", "12.50")
    credit = StoreCreditAccount.objects.get(customer_id=order.customer_id)
    assert credit.balance == Decimal("12.50")

    # The shirt and the other mug on the card: 62.40 is above the 50.00 limit.
    body = {
        "order_id": order.pk,
        "location": "st-paris",
        "lines": [
            {"line_id": shirt["line_id"], "quantity": 1},
            {"line_id": mugs["line_id"], "quantity": 1},
        ],
        "refund_method": "original",
        "client_uuid": str(uuid.uuid4()),
    }
    r = post(till, "/returns", body)
    assert r.status_code == 403, r.content
    assert r.json()["error"]["code"] == "approval_required"
    assert Return.objects.count() == 1  # nothing changed
    assert not Refund.objects.exists()

    # The till cannot name a manager who did not type their PIN for this order.
    r = post(till, "/returns", {**body, "approved_by_user_id": staff.manager.pk})
    assert r.status_code == 403
    assert r.json()["error"]["field"] == "approved_by_user_id"

    override = {
        "kind": "refund",
        "manager_id": staff.manager.pk,
        "amount": "62.40",
        "reason": "shirt too small",
        "sale_ref": str(order.pk),
    }
    r = post(till, "/pos/overrides", {**override, "pin": "0000"}, token)
    assert (r.status_code, r.json()["error"]["code"]) == (403, "wrong_pin")
    r = post(
        till, "/pos/overrides", {**override, "manager_id": staff.cashier.pk, "pin": "1234"}, token
    )
    assert r.status_code == 403  # a cashier approves nothing, least of all their own refund
    r = post(till, "/pos/overrides", {**override, "pin": "9876"}, token)
    assert r.status_code == 200, r.content
    assert r.json()["manager_name"] == "Morgan"
    log = AuditLog.objects.get(action="pos.refund_override")
    assert (log.actor_user_id, log.reason, log.data) == (
        staff.manager.pk,
        "shirt too small",
        {"cashier_id": staff.cashier.pk, "amount": "62.40", "sale_ref": str(order.pk)},
    )

    r = post(till, "/returns", {**body, "approved_by_user_id": staff.manager.pk})
    assert r.status_code == 201, r.content
    assert (r.json()["number"], r.json()["refund_amount"], r.json()["refund_method"]) == (
        "RET-000002",
        "62.40",
        "original",
    )
    [refund] = Refund.objects.all()
    assert (refund.payment_id, refund.tender, refund.amount, refund.status) == (
        card.pk,
        "card",
        Decimal("62.40"),
        "succeeded",
    )
    assert refund.approved_by_id == staff.manager.pk
    card.refresh_from_db()
    assert card.refunded_amount == Decimal("62.40")
    assert [
        ln["returnable"] for ln in till.get("/api/v1/pos/orders/find?q=W-7001").json()[0]["lines"]
    ] == [0, 0]


def test_a_till_sale_found_by_its_receipt_is_refunded_in_cash(shop, staff, till):
    stock_up(shop, {shop.mug: 3})
    r = post(
        till,
        "/pos/sales",
        {
            "client_uuid": str(uuid.uuid4()),
            "lines": [{"barcode": shop.mug.barcode, "quantity": 2}],
            "tenders": [{"type": "cash", "amount": "30.00"}],
        },
    )
    assert r.status_code == 201, r.content
    assert r.json()["receipt_number"] == "R-PT1-000001"
    [found] = till.get("/api/v1/pos/orders/find?q=R-PT1-000001").json()
    assert (found["receipt_number"], found["tenders"], found["lines"][0]["returnable"]) == (
        "R-PT1-000001",
        ["cash"],
        2,
    )
    r = post(
        till,
        "/returns",
        {
            "order_id": found["order_id"],
            "location": "st-paris",
            "lines": [{"line_id": found["lines"][0]["line_id"], "quantity": 1}],
            "client_uuid": str(uuid.uuid4()),
        },
    )
    assert r.status_code == 201, r.content
    [refund] = Refund.objects.all()
    assert (refund.tender, refund.amount, refund.terminal_id) == (
        "cash",
        Decimal("12.50"),
        shop.terminal.pk,
    )
    assert refund.drawer_session_id is not None  # out of the open drawer


def _till_sale(till: Client, shop, lines: list[tuple[str, int]], cash: str) -> Order:
    r = post(
        till,
        "/pos/sales",
        {
            "client_uuid": str(uuid.uuid4()),
            "lines": [{"sku": s, "quantity": q} for s, q in lines],
            "tenders": [{"type": "cash", "amount": cash}],
        },
    )
    assert r.status_code == 201, r.content
    return Order.objects.get(pk=r.json()["order_id"])


def test_an_exchange_for_dearer_goods_the_customer_pays_the_difference(shop, staff, till):
    stock_up(shop, {shop.shirt_m: 2, shop.shirt_l: 2, shop.candle: 2})
    sale = _till_sale(till, shop, [("LS-M", 1)], "49.90")
    line = sale.lines.get()
    token = sign_in(till, staff.cashier)
    exchange = {
        "order_id": sale.pk,
        "return_lines": [{"line_id": line.pk, "quantity": 1}],
        "replacement_lines": [{"barcode": shop.shirt_l.barcode}, {"sku": "CAN-FIG"}],
    }
    assert post(till, "/pos/exchanges/quote", exchange).status_code == 403  # no cashier
    r = post(till, "/pos/exchanges/quote", exchange, token)
    assert r.json() == {
        "currency": "EUR",
        "refund_total": "49.90",
        "replacement_total": "67.90",
        "customer_pays": "18.00",
        "store_refunds": "0.00",
    }
    bad = post(
        till, "/pos/exchanges/quote", {**exchange, "replacement_lines": [{"sku": "NOPE"}]}, token
    )
    assert (bad.status_code, bad.json()["error"]["field"]) == (422, "replacement_lines[0].sku")

    body = {**exchange, "client_uuid": str(uuid.uuid4())}
    r = post(  # a card needs the terminal's gateway token, never a number
        till, "/pos/exchanges", {**body, "tenders": [{"type": "card", "amount": "18.00"}]}, token
    )
    assert (r.status_code, r.json()["error"]["field"]) == (422, "tenders[0].token")
    assert not Return.objects.exists()
    r = post(till, "/pos/exchanges", {**body, "tenders": [{"type": "cash", "amount": "20"}]}, token)
    assert r.status_code == 201, r.content
    done = r.json()
    assert (done["return_number"], done["customer_pays"], done["change"], done["replayed"]) == (
        "RET-000001",
        "18.00",
        "2.00",
        False,
    )
    new = Order.objects.get(pk=done["replacement_order_id"])
    assert sorted(new.lines.values_list("sku__sku", "quantity")) == [("CAN-FIG", 1), ("LS-L", 1)]
    # The returned shirt pays as exchange credit; the difference is taken in cash.
    paid = Payment.objects.filter(order=new).order_by("pk")
    assert list(paid.values_list("tender", "amount", "change")) == [
        ("exchange_credit", Decimal("49.90"), Decimal("0.00")),
        ("cash", Decimal("18.00"), Decimal("2.00")),
    ]
    again = post(
        till, "/pos/exchanges", {**body, "tenders": [{"type": "cash", "amount": "20"}]}, token
    )
    assert (again.status_code, again.json()["replayed"]) == (200, True)
    assert Return.objects.count() == 1


def test_an_exchange_difference_paid_by_card_at_the_till_gets_its_own_receipt(shop, staff, till):
    stock_up(shop, {shop.shirt_m: 2, shop.shirt_l: 2})
    sale = _till_sale(till, shop, [("LS-M", 1)], "49.90")
    token = sign_in(till, staff.cashier)
    r = post(
        till,
        "/pos/exchanges",
        {
            "order_id": sale.pk,
            "return_lines": [{"line_id": sale.lines.get().pk, "quantity": 1}],
            "replacement_lines": [{"sku": "LS-L"}, {"sku": "LS-M"}],
            "client_uuid": str(uuid.uuid4()),
            "tenders": [{"type": "card", "amount": "49.90", "token": "tok_visa", "brand": "Visa"}],
        },
        token,
    )
    assert r.status_code == 201, r.content
    done = r.json()
    assert done["customer_pays"] == "49.90"
    new = Order.objects.get(pk=done["replacement_order_id"])
    assert done["receipt_number"] == new.receipt.full_number
    assert list(
        Payment.objects.filter(order=new).order_by("pk").values_list("tender", "amount")
    ) == [("exchange_credit", Decimal("49.90")), ("card", Decimal("49.90"))]


def test_an_exchange_for_cheaper_goods_refunds_the_difference_in_cash(shop, staff, till):
    stock_up(shop, {shop.shirt_m: 2, shop.candle: 2})
    sale = _till_sale(till, shop, [("LS-M", 1)], "50.00")
    token = sign_in(till, staff.cashier)
    r = post(
        till,
        "/pos/exchanges",
        {
            "order_id": sale.pk,
            "return_lines": [{"line_id": sale.lines.get().pk, "quantity": 1}],
            "replacement_lines": [{"sku": "CAN-FIG"}],
            "client_uuid": str(uuid.uuid4()),
        },
        token,
    )
    assert r.status_code == 201, r.content
    assert (r.json()["store_refunds"], r.json()["customer_pays"]) == ("31.90", "0.00")
    [refund] = Refund.objects.all()
    assert (refund.tender, refund.amount, refund.payment.order_id) == (
        "cash",
        Decimal("31.90"),
        sale.pk,
    )


def test_an_exchange_refund_above_the_limit_needs_the_managers_pin(shop, staff, till):
    stock_up(shop, {shop.shirt_m: 2, shop.candle: 2})
    sale = _till_sale(till, shop, [("LS-M", 2)], "99.80")
    token = sign_in(till, staff.cashier)
    body = {
        "order_id": sale.pk,
        "return_lines": [{"line_id": sale.lines.get().pk, "quantity": 2}],
        "replacement_lines": [{"sku": "CAN-FIG"}],
        "client_uuid": str(uuid.uuid4()),
    }
    r = post(till, "/pos/exchanges", body, token)
    assert (r.status_code, r.json()["error"]["code"]) == (403, "approval_required")
    assert not Return.objects.exists()
    r = post(
        till,
        "/pos/overrides",
        {
            "kind": "refund",
            "manager_id": staff.manager.pk,
            "pin": "9876",
            "amount": "81.80",
            "reason": "exchange",
            "sale_ref": str(sale.pk),
        },
        token,
    )
    assert r.status_code == 200, r.content
    r = post(till, "/pos/exchanges", {**body, "approved_by_user_id": staff.manager.pk}, token)
    assert r.status_code == 201, r.content
    [refund] = Refund.objects.all()
    assert (refund.tender, refund.amount, refund.approved_by_id) == (
        "cash",
        Decimal("81.80"),
        staff.manager.pk,
    )


def test_a_pickup_is_listed_and_a_wrong_code_changes_nothing(shop, staff, till):
    order, number, code = pickup_waiting(shop, web_channel(shop), external_id="W-3107")
    [bag] = till.get("/api/v1/pos/pickups").json()
    assert (bag["number"], bag["order_id"], bag["external_id"], bag["customer"]) == (
        number,
        order.pk,
        "W-3107",
        "Marc Petit",
    )
    token = sign_in(till, staff.cashier)
    path = f"/pos/pickups/{number}/hand-over"
    assert post(till, path, {"code": code}).status_code == 403  # nobody signed in
    wrong = "22222222" if code != "22222222" else "33333333"
    r = post(till, path, {"code": wrong}, token)
    assert (r.status_code, r.json()["error"]["field"]) == (422, "code")
    assert till.get("/api/v1/pos/pickups").json()[0]["number"] == number
    r = post(till, path, {"code": code.lower()}, token)
    assert r.json() == {"number": number, "status": "collected", "order_id": order.pk}
    assert till.get("/api/v1/pos/pickups").json() == []
    assert post(till, "/pos/pickups/SH-999999/hand-over", {"code": code}, token).status_code == 404
