"""Transfers: a draft summed per SKU, shipped into transit (refused when the
source is short), received in parts, closed with a written-off discrepancy,
cancelled while a draft — store-scoped, audited, conserved. Then the API."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from omniretail.catalog.models import KitComponent, Product
from omniretail.catalog.services import VariantSpec, product_create
from omniretail.core.access import SYSTEM, actor_for_user
from omniretail.core.apikeys import api_key_issue
from omniretail.core.errors import Conflict, PermissionDenied, ValidationFailed
from omniretail.core.models import AuditLog
from omniretail.core.services import channel_create, membership_grant, store_create
from omniretail.inventory.models import (
    ChannelLocation,
    Location,
    Reservation,
    StockLevel,
    StockMove,
    Transfer,
)
from omniretail.inventory.services import (
    ChannelLine,
    ReserveLine,
    StockLine,
    location_transit,
    stock_reserve,
    stock_reserve_for_channel,
)
from omniretail.inventory.services.transfers import (
    transfer_cancel,
    transfer_create,
    transfer_receive,
    transfer_ship,
)
from omniretail.verify import verify_all
from tests.conftest import stock_up

pytestmark = pytest.mark.django_db


def _on_hand(variant, location) -> int:
    level = StockLevel.objects.filter(sku=variant, location=location).first()
    return level.on_hand if level else 0


def _lines(transfer):
    return [
        (ln.sku.sku, ln.quantity, ln.quantity_received, ln.quantity_lost, ln.discrepancy_note)
        for ln in transfer.lines.select_related("sku").order_by("sku__sku")
    ]


def _staff(username, role, store):
    user = get_user_model().objects.create_user(username=username, password="pw")
    membership_grant(user=user, role=role, store=store)
    return user


@pytest.fixture
def lyon(shop):
    store = store_create(company=shop.company, code="lyon", name="Lyon Presqu'île")
    return Location.objects.create(code="st-lyon", name="Lyon floor", kind="store", store=store)


@pytest.fixture
def stocked(shop):
    stock_up(shop, {shop.mug: 10, shop.candle: 5}, location=shop.warehouse)
    return shop


def _draft(shop, mug=7, candle=2, to=None):
    return transfer_create(
        from_location=shop.warehouse,
        to_location=to or shop.floor,
        lines=[StockLine(shop.mug.pk, mug), StockLine(shop.candle.pk, candle)],
        actor=SYSTEM,
    )


# --- create ------------------------------------------------------------------------------


def test_a_draft_sums_lines_per_sku_and_takes_the_next_number(shop):
    first = transfer_create(
        from_location=shop.warehouse,
        to_location=shop.floor,
        lines=[
            StockLine(shop.mug.pk, 4),
            StockLine(shop.candle.pk, 2),
            StockLine(shop.mug.pk, 3),
        ],
        actor=SYSTEM,
        note="Saturday restock",
    )
    second = _draft(shop, mug=1, candle=1)
    assert (first.number, second.number) == ("TR-000001", "TR-000002")
    assert (first.status, first.created_by, first.note) == ("draft", "system", "Saturday restock")
    assert _lines(first) == [("CAN-FIG", 2, 0, 0, ""), ("MUG-GR", 7, 0, 0, "")]
    audit = AuditLog.objects.get(action="transfer.create", object_id="TR-000001")
    assert audit.data == {"from": "wh-main", "to": "st-paris", "lines": 2, "units": 9}
    assert audit.store_id == shop.store.pk
    assert StockMove.objects.count() == 0  # a draft moves nothing


def test_a_draft_refuses_bad_input_naming_the_field(shop):
    def refused(**kwargs):
        args = {
            "from_location": shop.warehouse,
            "to_location": shop.floor,
            "lines": [StockLine(shop.mug.pk, 1)],
            "actor": SYSTEM,
        }
        args.update(kwargs)
        with pytest.raises(ValidationFailed) as error:
            transfer_create(**args)
        assert error.value.http_status == 422
        return error.value

    assert refused(to_location=shop.warehouse).field == "to_location"
    transit = location_transit()
    assert refused(to_location=transit).field == "to_location"
    assert "not a warehouse or store" in refused(to_location=transit).message
    assert refused(lines=[]).field == "lines"
    assert refused(lines=[StockLine(shop.mug.pk, 0)]).field == "lines[0].quantity"
    assert refused(lines=[StockLine(shop.mug.pk, 1), StockLine(999_999, 1)]).field == (
        "lines[1].sku"
    )
    product_create(
        code="gift",
        name="Gift set",
        tax_class=shop.standard,
        variants=[VariantSpec("GIFT", "Mug + candle", Decimal("28.00"))],
    )
    kit = shop.mug.__class__.objects.get(sku="GIFT")
    KitComponent.objects.create(kit=kit, component=shop.mug, quantity=2)
    assert "GIFT is a kit" in refused(lines=[StockLine(kit.pk, 1)]).message
    assert Transfer.objects.count() == 0


# --- ship --------------------------------------------------------------------------------


def test_shipping_moves_every_line_into_transit(stocked):
    shop = stocked
    transfer = transfer_ship(transfer=_draft(shop), actor=SYSTEM)
    transit = location_transit()
    assert transfer.status == "shipped"
    assert transfer.shipped_at is not None
    assert (_on_hand(shop.mug, shop.warehouse), _on_hand(shop.candle, shop.warehouse)) == (3, 3)
    assert (_on_hand(shop.mug, transit), _on_hand(shop.candle, transit)) == (7, 2)
    assert _on_hand(shop.mug, shop.floor) == 0
    moves = StockMove.objects.filter(reference_type="transfer", reference_id=transfer.number)
    assert sorted(
        (m.sku.sku, m.from_location.code, m.to_location.code, m.quantity, m.reason) for m in moves
    ) == [
        ("CAN-FIG", "wh-main", "transit", 2, "transfer shipped"),
        ("MUG-GR", "wh-main", "transit", 7, "transfer shipped"),
    ]
    assert AuditLog.objects.get(action="transfer.ship").data == {"units": 9, "lines": 2}
    assert verify_all()[0] == []


def test_shipping_more_than_on_hand_is_refused_and_moves_nothing(stocked):
    shop = stocked
    transfer = _draft(shop, mug=12)
    with pytest.raises(Conflict) as refused:
        transfer_ship(transfer=transfer, actor=SYSTEM)
    assert refused.value.http_status == 409
    assert refused.value.code == "insufficient_stock"
    assert refused.value.message == (
        "Transfer TR-000001 cannot ship: Main warehouse has 10 of MUG-GR on hand, 12 to ship. "
        "Receive stock first or lower the transfer quantity."
    )
    assert refused.value.extra["short"] == [
        {"sku": "MUG-GR", "on_hand": 10, "reserved": 0, "needed": 12}
    ]
    transfer.refresh_from_db()
    assert (transfer.status, transfer.shipped_at) == ("draft", None)
    assert StockMove.objects.filter(reference_type="transfer").count() == 0
    assert _on_hand(shop.mug, shop.warehouse) == 10


def test_stock_held_for_customers_is_not_shipped_away(stocked):
    shop = stocked
    stock_reserve(
        lines=[ReserveLine(shop.mug.pk, shop.warehouse.pk, 4)],
        demand_type="order_line",
        demand_id="web-1",
        actor=SYSTEM,
    )
    with pytest.raises(Conflict) as refused:
        transfer_ship(transfer=_draft(shop, mug=7), actor=SYSTEM)
    assert "10 of MUG-GR on hand, 4 of them held for orders, 7 to ship" in refused.value.message
    assert _on_hand(shop.mug, shop.warehouse) == 10
    transfer_ship(transfer=_draft(shop, mug=6), actor=SYSTEM)
    level = StockLevel.objects.get(sku=shop.mug, location=shop.warehouse)
    assert (level.on_hand, level.reserved) == (4, 4)
    assert verify_all()[0] == []


# --- receive -----------------------------------------------------------------------------


def test_partial_receipts_add_up_to_received(stocked):
    shop = stocked
    transfer = transfer_ship(transfer=_draft(shop), actor=SYSTEM)
    transit = location_transit()

    transfer = transfer_receive(transfer=transfer, received={shop.mug.pk: 4}, actor=SYSTEM)
    assert (transfer.status, transfer.closed_at) == ("partly_received", None)
    assert _lines(transfer) == [("CAN-FIG", 2, 0, 0, ""), ("MUG-GR", 7, 4, 0, "")]
    assert (_on_hand(shop.mug, transit), _on_hand(shop.mug, shop.floor)) == (3, 4)

    transfer = transfer_receive(
        transfer=transfer, received={shop.mug.pk: 3, shop.candle.pk: 2}, actor=SYSTEM
    )
    assert transfer.status == "received"
    assert transfer.closed_at is not None
    assert _lines(transfer) == [("CAN-FIG", 2, 2, 0, ""), ("MUG-GR", 7, 7, 0, "")]
    assert (_on_hand(shop.mug, transit), _on_hand(shop.candle, transit)) == (0, 0)
    assert (_on_hand(shop.mug, shop.floor), _on_hand(shop.candle, shop.floor)) == (7, 2)
    receipts = AuditLog.objects.filter(action="transfer.receive").order_by("pk")
    assert [a.data for a in receipts] == [
        {"received": {"MUG-GR": 4}, "status": "partly_received"},
        {"received": {"CAN-FIG": 2, "MUG-GR": 3}, "status": "received"},
    ]
    assert not AuditLog.objects.filter(action="transfer.discrepancy").exists()
    with pytest.raises(Conflict) as again:
        transfer_receive(transfer=transfer, received={shop.mug.pk: 1}, actor=SYSTEM)
    assert again.value.code == "invalid_transition"
    assert verify_all()[0] == []


def test_over_receipt_and_strangers_are_refused(stocked):
    shop = stocked
    transfer = transfer_ship(transfer=_draft(shop), actor=SYSTEM)
    transfer_receive(transfer=transfer, received={shop.mug.pk: 5}, actor=SYSTEM)

    with pytest.raises(ValidationFailed) as over:
        transfer_receive(transfer=transfer, received={shop.mug.pk: 3}, actor=SYSTEM)
    assert (over.value.code, over.value.field) == ("over_receipt", "received[MUG-GR]")
    assert over.value.message.startswith(
        "received[MUG-GR]: 3 received but only 2 of 7 shipped are still expected"
    )
    with pytest.raises(ValidationFailed) as stranger:
        transfer_receive(transfer=transfer, received={shop.shirt_m.pk: 1}, actor=SYSTEM)
    assert "LS-M is not on transfer TR-000001" in stranger.value.message
    with pytest.raises(ValidationFailed) as negative:
        transfer_receive(transfer=transfer, received={shop.mug.pk: -1}, actor=SYSTEM)
    assert negative.value.field == "received[MUG-GR]"
    with pytest.raises(ValidationFailed) as nothing:
        transfer_receive(transfer=transfer, received={}, actor=SYSTEM)
    assert nothing.value.field == "received"

    transfer.refresh_from_db()
    assert transfer.status == "partly_received"
    assert _lines(transfer) == [("CAN-FIG", 2, 0, 0, ""), ("MUG-GR", 7, 5, 0, "")]
    assert _on_hand(shop.mug, shop.floor) == 5


def test_closing_writes_off_what_never_arrived_and_says_why(stocked):
    shop = stocked
    transfer = transfer_ship(transfer=_draft(shop), actor=SYSTEM)
    with pytest.raises(ValidationFailed) as no_reason:
        transfer_receive(transfer=transfer, received={shop.mug.pk: 6}, actor=SYSTEM, close=True)
    assert no_reason.value.field == "note"
    assert _on_hand(shop.mug, shop.floor) == 0  # the refused call changed nothing

    transfer = transfer_receive(
        transfer=transfer,
        received={shop.mug.pk: 6},
        actor=SYSTEM,
        close=True,
        note="box of candles crushed, one mug missing",
    )
    assert transfer.status == "received"
    note = "box of candles crushed, one mug missing"
    assert _lines(transfer) == [("CAN-FIG", 2, 0, 2, note), ("MUG-GR", 7, 6, 1, note)]
    transit = location_transit()
    assert (_on_hand(shop.mug, transit), _on_hand(shop.candle, transit)) == (0, 0)
    assert (_on_hand(shop.mug, shop.floor), _on_hand(shop.candle, shop.floor)) == (6, 0)
    written_off = StockMove.objects.filter(to_location__kind="adjustment")
    assert sorted((m.sku.sku, m.from_location.code, m.quantity) for m in written_off) == [
        ("CAN-FIG", "transit", 2),
        ("MUG-GR", "transit", 1),
    ]
    assert {m.reason for m in written_off} == {f"transfer discrepancy: {note}"}
    audit = AuditLog.objects.get(action="transfer.discrepancy")
    assert (audit.actor_label, audit.reason, audit.store_id) == ("system", note, shop.store.pk)
    assert audit.data == {"lost": {"CAN-FIG": 2, "MUG-GR": 1}, "units": 3}
    assert verify_all()[0] == []


def test_receiving_fills_backorders_at_the_destination(stocked):
    shop = stocked
    web = channel_create(company=shop.company, code="web", name="Web", kind="web")
    ChannelLocation.objects.create(channel=web, location=shop.floor, priority=1)
    Product.objects.filter(pk=shop.mug.product_id).update(stock_policy="backorder")
    waiting = stock_reserve_for_channel(
        lines=[ChannelLine(shop.mug.pk, 3)],
        channel_id=web.pk,
        demand_type="order_line",
        demand_id="web-7",
        actor=SYSTEM,
    )
    assert [r.status for r in waiting] == ["backordered"]
    transfer = transfer_ship(transfer=_draft(shop), actor=SYSTEM)
    transfer_receive(transfer=transfer, received={shop.mug.pk: 2}, actor=SYSTEM)
    assert Reservation.objects.get(demand_id="web-7").status == "backordered"  # 2 < 3
    transfer_receive(transfer=transfer, received={shop.mug.pk: 1}, actor=SYSTEM)
    assert Reservation.objects.get(demand_id="web-7").status == "active"
    assert StockLevel.objects.get(sku=shop.mug, location=shop.floor).reserved == 3
    assert verify_all()[0] == []


# --- cancel ------------------------------------------------------------------------------


def test_only_a_draft_can_be_cancelled(stocked):
    shop = stocked
    draft = _draft(shop)
    cancelled = transfer_cancel(transfer=draft, actor=SYSTEM, reason="ordered twice")
    assert (cancelled.status, cancelled.closed_at is not None) == ("cancelled", True)
    assert AuditLog.objects.get(action="transfer.cancel").reason == "ordered twice"
    with pytest.raises(Conflict):
        transfer_ship(transfer=draft, actor=SYSTEM)
    shipped = transfer_ship(transfer=_draft(shop), actor=SYSTEM)
    with pytest.raises(Conflict) as refused:
        transfer_cancel(transfer=shipped, actor=SYSTEM)
    assert refused.value.message == (
        "Transfer TR-000002 is shipped; it cannot become cancelled (from shipped it may "
        "become: partly_received, received)."
    )
    assert StockMove.objects.filter(reference_id="TR-000001").count() == 0


# --- who may do what ---------------------------------------------------------------------


def test_only_the_stores_at_either_end_may_act(shop, lyon):
    stock_up(shop, {shop.mug: 5})
    paris_manager = actor_for_user(_staff("paula", "store_manager", shop.store))
    lyon_manager = actor_for_user(_staff("leo", "store_manager", lyon.store))
    nice = store_create(company=shop.company, code="nice", name="Nice")
    nice_manager = actor_for_user(_staff("nina", "store_manager", nice))
    cashier = actor_for_user(_staff("cam", "cashier", shop.store))

    def create(actor):
        return transfer_create(
            from_location=shop.floor,
            to_location=lyon,
            lines=[StockLine(shop.mug.pk, 2)],
            actor=actor,
        )

    # creating needs stock.move in both stores
    for actor in (paris_manager, lyon_manager, nice_manager, cashier):
        with pytest.raises(PermissionDenied) as denied:
            create(actor)
        assert denied.value.http_status == 403
    transfer = create(SYSTEM)

    # the source ships, the destination receives; a third store does neither
    for actor in (lyon_manager, nice_manager, cashier):
        with pytest.raises(PermissionDenied):
            transfer_ship(transfer=transfer, actor=actor)
    transfer_ship(transfer=transfer, actor=paris_manager)
    for actor in (paris_manager, nice_manager):
        with pytest.raises(PermissionDenied) as denied:
            transfer_receive(transfer=transfer, received={shop.mug.pk: 2}, actor=actor)
        assert "may not stock.move in store" in denied.value.message
    transfer = transfer_receive(transfer=transfer, received={shop.mug.pk: 2}, actor=lyon_manager)
    assert transfer.status == "received"
    assert (_on_hand(shop.mug, shop.floor), _on_hand(shop.mug, lyon)) == (3, 2)
    labels = list(
        AuditLog.objects.filter(object_type="transfer")
        .order_by("pk")
        .values_list("action", "actor_label")
    )
    assert labels == [
        ("transfer.create", "system"),
        ("transfer.ship", "user:paula"),
        ("transfer.receive", "user:leo"),
    ]


# --- HTTP --------------------------------------------------------------------------------


@pytest.fixture
def http(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    if "/api/v1/inventory/transfers" not in paths:
        pytest.skip(
            "the transfers router is not mounted yet: add "
            '`api.add_router("/inventory", transfers_router)` in src/omniretail/api.py'
        )
    return client


def _auth(token):
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def stock_key(shop):
    # The warehouse system's key: a channel of no store, so it may act on the
    # warehouse (a store's key may not: warehouses are company-wide).
    wms = channel_create(company=shop.company, code="wms", name="Warehouse system", kind="web")
    return api_key_issue(
        name="warehouse system", channel=wms, scopes=["stock:write", "stock:read"]
    ).token


def _post(client, token, path, body=None, key=None):
    headers = _auth(token)
    if key:
        headers["Idempotency-Key"] = key
    return client.post(
        f"/api/v1/inventory{path}", body or {}, content_type="application/json", headers=headers
    )


def test_http_transfer_from_draft_to_closed(http, stocked, stock_key):
    shop = stocked
    draft = {
        "from_location": "wh-main",
        "to_location": "st-paris",
        "lines": [
            {"sku": "MUG-GR", "quantity": 5},
            {"sku": "CAN-FIG", "quantity": 2},
            {"sku": "MUG-GR", "quantity": 2},
        ],
        "note": "restock",
    }
    r = _post(http, stock_key, "/transfers", draft, key="tr-1")
    assert r.status_code == 201, r.content
    body = r.json()
    assert (body["number"], body["status"], body["replayed"]) == ("TR-000001", "draft", False)
    assert (body["from_location"], body["to_location"], body["created_by"]) == (
        "wh-main",
        "st-paris",
        "key:warehouse system",
    )
    assert body["lines"] == [
        {
            "sku": "CAN-FIG",
            "quantity": 2,
            "quantity_received": 0,
            "quantity_lost": 0,
            "in_transit": 0,
            "discrepancy_note": "",
        },
        {
            "sku": "MUG-GR",
            "quantity": 7,
            "quantity_received": 0,
            "quantity_lost": 0,
            "in_transit": 0,
            "discrepancy_note": "",
        },
    ]
    again = _post(http, stock_key, "/transfers", draft, key="tr-1")
    assert (again.status_code, again.json()["number"], again.json()["replayed"]) == (
        200,
        "TR-000001",
        True,
    )
    assert Transfer.objects.count() == 1

    r = _post(http, stock_key, "/transfers/TR-000001/ship", key="ship-1")
    assert (r.status_code, r.json()["status"]) == (200, "shipped")
    assert [ln["in_transit"] for ln in r.json()["lines"]] == [2, 7]
    replay = _post(http, stock_key, "/transfers/TR-000001/ship", key="ship-1")
    assert (replay.status_code, replay.json()["replayed"]) == (200, True)
    assert _on_hand(shop.mug, shop.warehouse) == 3  # shipped once

    receive = {"lines": [{"sku": "MUG-GR", "quantity": 4}]}
    r = _post(http, stock_key, "/transfers/TR-000001/receive", receive, key="rcv-1")
    assert (r.status_code, r.json()["status"]) == (200, "partly_received")
    replay = _post(http, stock_key, "/transfers/TR-000001/receive", receive, key="rcv-1")
    assert (replay.status_code, replay.json()["replayed"]) == (200, True)
    assert _on_hand(shop.mug, shop.floor) == 4  # received once

    r = _post(
        http,
        stock_key,
        "/transfers/TR-000001/receive",
        {"lines": [{"sku": "MUG-GR", "quantity": 3}], "close": True, "note": "candles lost"},
    )
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["status"] == "received"
    assert [
        (ln["sku"], ln["quantity_received"], ln["quantity_lost"], ln["in_transit"])
        for ln in body["lines"]
    ] == [("CAN-FIG", 0, 2, 0), ("MUG-GR", 7, 0, 0)]
    assert body["lines"][0]["discrepancy_note"] == "candles lost"

    r = http.get("/api/v1/inventory/transfers/TR-000001", headers=_auth(stock_key))
    assert (r.status_code, r.json()["status"]) == (200, "received")
    r = http.get(
        "/api/v1/inventory/transfers?status=received&location=st-paris", headers=_auth(stock_key)
    )
    assert [t["number"] for t in r.json()] == ["TR-000001"]
    r = http.get("/api/v1/inventory/transfers?status=draft", headers=_auth(stock_key))
    assert r.json() == []
    assert verify_all()[0] == []


def _transfer_body():
    return {
        "from_location": "wh-main",
        "to_location": "st-paris",
        "lines": [{"sku": "MUG-GR", "quantity": 7}],
    }


def test_http_errors_name_the_field(http, stocked, stock_key):
    r = _post(http, stock_key, "/transfers", {**_transfer_body(), "to_location": "nowhere"})
    assert (r.status_code, r.json()["error"]["field"]) == (422, "to_location")
    body = {**_transfer_body(), "lines": [{"sku": "NOPE", "quantity": 1}]}
    r = _post(http, stock_key, "/transfers", body)
    assert (r.status_code, r.json()["error"]["field"]) == (422, "lines[0].sku")
    body = {**_transfer_body(), "lines": [{"sku": "MUG-GR", "quantity": 0}]}
    r = _post(http, stock_key, "/transfers", body)
    assert (r.status_code, r.json()["error"]["field"]) == (422, "lines[0].quantity")
    r = _post(http, stock_key, "/transfers/TR-999999/ship")
    assert (r.status_code, r.json()["error"]["field"]) == (404, "number")

    body = {**_transfer_body(), "lines": [{"sku": "MUG-GR", "quantity": 11}]}
    assert _post(http, stock_key, "/transfers", body).status_code == 201
    r = _post(http, stock_key, "/transfers/TR-000001/ship")
    assert (r.status_code, r.json()["error"]["code"]) == (409, "insufficient_stock")
    assert "10 of MUG-GR on hand, 11 to ship" in r.json()["error"]["message"]
    r = http.get("/api/v1/inventory/transfers?status=lost", headers=_auth(stock_key))
    assert (r.status_code, r.json()["error"]["field"]) == (422, "status")


def test_http_another_stores_key_may_not_receive(http, stocked, lyon):
    shop = stocked
    transfer = transfer_ship(transfer=_draft(shop), actor=SYSTEM)
    lyon_channel = channel_create(
        company=shop.company, code="pos-lyon", name="POS Lyon", kind="pos", store=lyon.store
    )
    lyon_key = api_key_issue(
        name="lyon stock", channel=lyon_channel, scopes=["stock:write", "stock:read"]
    ).token
    r = _post(
        http,
        lyon_key,
        f"/transfers/{transfer.number}/receive",
        {"lines": [{"sku": "MUG-GR", "quantity": 1}]},
    )
    assert r.status_code == 403
    assert r.json()["error"]["message"].startswith(
        f"key:lyon stock may not stock.move in store #{shop.store.pk}."
    )
    assert _on_hand(shop.mug, shop.floor) == 0
    assert _on_hand(shop.mug, location_transit()) == 7


def test_http_session_staff_of_another_store_may_not_ship(http, shop, lyon, client):
    stock_up(shop, {shop.mug: 5})
    transfer = transfer_create(
        from_location=shop.floor,
        to_location=lyon,
        lines=[StockLine(shop.mug.pk, 2)],
        actor=SYSTEM,
    )
    client.force_login(_staff("leo", "store_manager", lyon.store))
    r = client.post(
        f"/api/v1/inventory/transfers/{transfer.number}/ship", {}, content_type="application/json"
    )
    assert r.status_code == 403
    r = client.get(f"/api/v1/inventory/transfers/{transfer.number}")
    assert r.status_code == 200  # Lyon is the destination: it may follow what is coming
    r = client.get("/api/v1/inventory/transfers")
    assert [t["number"] for t in r.json()] == [transfer.number]
    assert _on_hand(shop.mug, shop.floor) == 5

    # a manager of a third store sees neither the transfer nor the list entry
    client.force_login(
        _staff(
            "nina", "store_manager", store_create(company=shop.company, code="nice", name="Nice")
        )
    )
    assert client.get(f"/api/v1/inventory/transfers/{transfer.number}").status_code == 403
    assert client.get("/api/v1/inventory/transfers").json() == []


# --- back office -------------------------------------------------------------------------


def test_the_admin_shows_transfers_of_my_stores_read_only(rf, shop, lyon):
    from django.contrib import admin

    from omniretail.inventory.admin_transfers import TransferAdmin, TransferLineInline

    stock_up(shop, {shop.mug: 5})
    to_lyon = transfer_create(
        from_location=shop.floor, to_location=lyon, lines=[StockLine(shop.mug.pk, 1)], actor=SYSTEM
    )
    to_paris = _draft(shop)
    nice = store_create(company=shop.company, code="nice", name="Nice")
    nice_floor = Location.objects.create(code="st-nice", name="Nice", kind="store", store=nice)
    transfer_create(
        from_location=lyon,
        to_location=nice_floor,
        lines=[StockLine(shop.mug.pk, 1)],
        actor=SYSTEM,
    )
    model_admin = TransferAdmin(Transfer, admin.site)
    request = rf.get("/admin/inventory/transfer/")
    request.user = _staff("paula", "store_manager", shop.store)
    assert sorted(t.number for t in model_admin.get_queryset(request)) == [
        to_lyon.number,
        to_paris.number,
    ]
    request = rf.get("/admin/inventory/transfer/")  # the admin actor is cached per request
    request.user = get_user_model().objects.create_superuser("root", password="pw")
    assert model_admin.get_queryset(request).count() == 3
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, to_lyon)
    assert not model_admin.has_delete_permission(request, to_lyon)
    inline = TransferLineInline(Transfer, admin.site)
    assert not inline.has_change_permission(request, to_lyon)
    assert inline.get_readonly_fields(request, to_lyon) == (
        "sku",
        "quantity",
        "quantity_received",
        "quantity_lost",
        "discrepancy_note",
    )
