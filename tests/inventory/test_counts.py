"""Cycle counts: opened for a location, a category or a list of SKUs;
counted (strangers added, recounts replace); posted against the stock on
hand at posting, up and down through the adjustment location, audited;
uncounted lines untouched. Then the API."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction

from omniretail.catalog.models import Category, Product
from omniretail.core.access import SYSTEM, actor_for_user
from omniretail.core.apikeys import api_key_issue
from omniretail.core.errors import Conflict, PermissionDenied, ValidationFailed
from omniretail.core.models import AuditLog
from omniretail.core.services import channel_create, membership_grant, store_create
from omniretail.inventory.models import (
    ChannelLocation,
    Location,
    Reservation,
    StockCount,
    StockLevel,
    StockMove,
)
from omniretail.inventory.services import (
    ChannelLine,
    MoveSpec,
    ReserveLine,
    location_transit,
    location_virtual,
    stock_moves_post,
    stock_reserve,
    stock_reserve_for_channel,
)
from omniretail.inventory.services.counts import (
    count_cancel,
    count_open,
    count_post,
    count_record,
)
from omniretail.verify import verify_all
from tests.conftest import stock_up

pytestmark = pytest.mark.django_db


def _on_hand(variant, location) -> int:
    level = StockLevel.objects.filter(sku=variant, location=location).first()
    return level.on_hand if level else 0


def _lines(count):
    return [
        (ln.sku.sku, ln.expected, ln.counted)
        for ln in count.lines.select_related("sku").order_by("sku__sku")
    ]


@pytest.fixture
def stocked(shop):
    stock_up(shop, {shop.mug: 10, shop.candle: 5, shop.shirt_m: 3})
    return shop


# --- open --------------------------------------------------------------------------------


def test_a_count_of_a_location_lists_every_sku_with_a_level_there(stocked):
    shop = stocked
    stock_up(shop, {shop.shirt_l: 4}, location=shop.warehouse)  # not at the store
    count = count_open(location=shop.floor, actor=SYSTEM, reason="monthly cycle count")
    assert (count.number, count.status, count.created_by) == ("CNT-000001", "open", "system")
    assert count.scope == "all SKUs with stock records here"
    assert _lines(count) == [("CAN-FIG", 5, None), ("LS-M", 3, None), ("MUG-GR", 10, None)]
    audit = AuditLog.objects.get(action="count.open")
    assert (audit.object_id, audit.reason, audit.store_id) == (
        "CNT-000001",
        "monthly cycle count",
        shop.store.pk,
    )
    assert audit.data == {
        "location": "st-paris",
        "scope": "all SKUs with stock records here",
        "lines": 3,
    }
    assert count_open(location=shop.floor, actor=SYSTEM).number == "CNT-000002"


def test_a_count_of_some_skus_or_of_a_category(stocked):
    shop = stocked
    by_sku = count_open(
        location=shop.floor, actor=SYSTEM, sku_ids=[shop.mug.pk, shop.shirt_l.pk, shop.mug.pk]
    )
    assert by_sku.scope == "2 SKU(s)"
    assert _lines(by_sku) == [("LS-L", 0, None), ("MUG-GR", 10, None)]

    home = Category.objects.create(code="home", name="Home")
    kitchen = Category.objects.create(code="kitchen", name="Kitchen", parent=home)
    Product.objects.filter(pk=shop.mug.product_id).update(category=kitchen)
    Product.objects.filter(pk=shop.candle.product_id).update(category=home)
    by_category = count_open(location=shop.floor, actor=SYSTEM, category_id=home.pk)
    assert by_category.scope == "category home"
    assert _lines(by_category) == [("CAN-FIG", 5, None), ("MUG-GR", 10, None)]


def test_opening_refuses_what_cannot_be_counted(stocked):
    shop = stocked
    with pytest.raises(ValidationFailed) as virtual:
        count_open(location=location_transit(), actor=SYSTEM)
    assert virtual.value.field == "location"
    with pytest.raises(ValidationFailed) as both:
        count_open(location=shop.floor, actor=SYSTEM, sku_ids=[shop.mug.pk], category_id=1)
    assert both.value.field == "sku_ids"
    with pytest.raises(ValidationFailed) as unknown:
        count_open(location=shop.floor, actor=SYSTEM, sku_ids=[999_999])
    assert unknown.value.message == "sku_ids: SKU #999999 does not exist; check the code."
    with pytest.raises(ValidationFailed) as no_category:
        count_open(location=shop.floor, actor=SYSTEM, category_id=999_999)
    assert no_category.value.field == "category"
    assert StockCount.objects.count() == 0


# --- record ------------------------------------------------------------------------------


def test_recording_adds_strangers_and_a_recount_replaces(stocked):
    shop = stocked
    count = count_open(location=shop.floor, actor=SYSTEM, sku_ids=[shop.mug.pk, shop.candle.pk])
    stock_up(shop, {shop.shirt_l: 2})  # arrives after the count was opened
    count_record(count=count, counted={shop.mug.pk: 9, shop.shirt_l.pk: 3}, actor=SYSTEM)
    count_record(count=count, counted={shop.mug.pk: 8}, actor=SYSTEM)
    assert _lines(count) == [("CAN-FIG", 5, None), ("LS-L", 2, 3), ("MUG-GR", 10, 8)]
    records = AuditLog.objects.filter(action="count.record").order_by("pk")
    assert [a.data for a in records] == [
        {"counted": {"MUG-GR": 9, "LS-L": 3}, "added": ["LS-L"]},
        {"counted": {"MUG-GR": 8}, "added": []},
    ]


def test_a_negative_or_unknown_count_is_refused(stocked):
    shop = stocked
    count = count_open(location=shop.floor, actor=SYSTEM)
    with pytest.raises(ValidationFailed) as negative:
        count_record(count=count, counted={shop.mug.pk: 4, shop.candle.pk: -1}, actor=SYSTEM)
    assert negative.value.http_status == 422
    assert negative.value.field == "counted[CAN-FIG]"
    assert negative.value.message.startswith(
        "counted[CAN-FIG] must be a whole number of 0 or more (got -1)"
    )
    with pytest.raises(ValidationFailed) as unknown:
        count_record(count=count, counted={999_999: 1}, actor=SYSTEM)
    assert unknown.value.field == "counted"
    with pytest.raises(ValidationFailed):
        count_record(count=count, counted={}, actor=SYSTEM)
    assert [c for _, _, c in _lines(count)] == [None, None, None]  # nothing was kept


# --- post --------------------------------------------------------------------------------


def test_posting_books_the_differences_against_stock_on_hand_now(stocked):
    shop = stocked
    count = count_open(location=shop.floor, actor=SYSTEM, reason="monthly cycle count")
    assert _lines(count) == [("CAN-FIG", 5, None), ("LS-M", 3, None), ("MUG-GR", 10, None)]
    count_record(
        count=count,
        counted={shop.mug.pk: 7, shop.candle.pk: 6, shop.shirt_l.pk: 1},
        actor=SYSTEM,
    )
    # two mugs sold between counting and posting: the difference is against 8
    customers = location_virtual(Location.Kind.CUSTOMER)
    with transaction.atomic():
        stock_moves_post(
            moves=[MoveSpec(shop.mug.pk, shop.floor.pk, customers.pk, 2)],
            actor=SYSTEM,
            reference_type="order",
            reference_id="pos-1",
        )

    posted = count_post(count=count, actor=SYSTEM, reason="")
    assert posted.count.status == "posted"
    assert posted.count.posted_at is not None
    assert [(d.sku, d.expected, d.counted, d.difference) for d in posted.differences] == [
        ("CAN-FIG", 5, 6, 1),
        ("LS-L", 0, 1, 1),
        ("MUG-GR", 8, 7, -1),
    ]
    assert (posted.units_added, posted.units_removed) == (2, 1)
    assert posted.uncounted == ["LS-M"]
    assert posted.short_of_reserved == []
    count.refresh_from_db()
    assert _lines(count) == [("CAN-FIG", 5, 6), ("LS-L", 0, 1), ("LS-M", 3, None), ("MUG-GR", 8, 7)]
    assert (
        _on_hand(shop.mug, shop.floor),
        _on_hand(shop.candle, shop.floor),
        _on_hand(shop.shirt_l, shop.floor),
        _on_hand(shop.shirt_m, shop.floor),
    ) == (7, 6, 1, 3)
    moves = StockMove.objects.filter(reference_type="count", reference_id="CNT-000001")
    assert sorted(
        (m.sku.sku, m.from_location.code, m.to_location.code, m.quantity, m.reason) for m in moves
    ) == [
        ("CAN-FIG", "virtual-adjustment", "st-paris", 1, "count CNT-000001: monthly cycle count"),
        ("LS-L", "virtual-adjustment", "st-paris", 1, "count CNT-000001: monthly cycle count"),
        ("MUG-GR", "st-paris", "virtual-adjustment", 1, "count CNT-000001: monthly cycle count"),
    ]
    audit = AuditLog.objects.get(action="count.post")
    assert (audit.actor_label, audit.reason, audit.store_id) == (
        "system",
        "monthly cycle count",
        shop.store.pk,
    )
    assert audit.data == {
        "location": "st-paris",
        "differences": [
            {"sku": "CAN-FIG", "expected": 5, "counted": 6, "difference": 1},
            {"sku": "LS-L", "expected": 0, "counted": 1, "difference": 1},
            {"sku": "MUG-GR", "expected": 8, "counted": 7, "difference": -1},
        ],
        "units_added": 2,
        "units_removed": 1,
        "uncounted": ["LS-M"],
    }
    with pytest.raises(Conflict) as again:
        count_post(count=count, actor=SYSTEM, reason="again")
    assert again.value.code == "invalid_transition"
    with pytest.raises(Conflict):
        count_record(count=count, counted={shop.mug.pk: 1}, actor=SYSTEM)
    assert verify_all()[0] == []


def test_posting_needs_a_reason_and_a_counted_line(stocked):
    shop = stocked
    count = count_open(location=shop.floor, actor=SYSTEM)
    with pytest.raises(ValidationFailed) as nothing:
        count_post(count=count, actor=SYSTEM, reason="shelf audit")
    assert nothing.value.field == "lines"
    count_record(count=count, counted={shop.mug.pk: 10}, actor=SYSTEM)
    with pytest.raises(ValidationFailed) as why:
        count_post(count=count, actor=SYSTEM, reason="  ")
    assert why.value.field == "reason"
    posted = count_post(count=count, actor=SYSTEM, reason="shelf audit")
    assert [(d.sku, d.difference) for d in posted.differences] == [("MUG-GR", 0)]
    assert StockMove.objects.filter(reference_type="count").count() == 0  # nothing to book


def test_a_count_up_fills_backorders_and_a_count_down_flags_holds(stocked):
    shop = stocked
    web = channel_create(company=shop.company, code="web", name="Web", kind="web")
    ChannelLocation.objects.create(channel=web, location=shop.floor, priority=1)
    Product.objects.filter(pk=shop.shirt_l.product_id).update(stock_policy="backorder")
    stock_reserve_for_channel(
        lines=[ChannelLine(shop.shirt_l.pk, 1)],
        channel_id=web.pk,
        demand_type="order_line",
        demand_id="web-1",
        actor=SYSTEM,
    )
    stock_reserve(
        lines=[ReserveLine(shop.candle.pk, shop.floor.pk, 4)],
        demand_type="order_line",
        demand_id="web-2",
        actor=SYSTEM,
    )
    count = count_open(location=shop.floor, actor=SYSTEM)
    count_record(count=count, counted={shop.shirt_l.pk: 2, shop.candle.pk: 3}, actor=SYSTEM)
    posted = count_post(count=count, actor=SYSTEM, reason="found a box of shirts")
    assert Reservation.objects.get(demand_id="web-1").status == "active"
    assert posted.short_of_reserved == ["CAN-FIG"]  # 3 on the shelf, 4 promised
    level = StockLevel.objects.get(sku=shop.candle, location=shop.floor)
    assert (level.on_hand, level.reserved) == (3, 4)
    assert verify_all()[0] == []


def test_an_open_count_can_be_cancelled_and_moves_nothing(stocked):
    shop = stocked
    count = count_open(location=shop.floor, actor=SYSTEM)
    count_record(count=count, counted={shop.mug.pk: 1}, actor=SYSTEM)
    cancelled = count_cancel(count=count, actor=SYSTEM, reason="wrong aisle")
    assert cancelled.status == "cancelled"
    assert AuditLog.objects.get(action="count.cancel").reason == "wrong aisle"
    with pytest.raises(Conflict):
        count_post(count=count, actor=SYSTEM, reason="late")
    assert _on_hand(shop.mug, shop.floor) == 10
    assert StockMove.objects.filter(reference_type="count").count() == 0


# --- who may count -----------------------------------------------------------------------


def _staff(username, role, store):
    user = get_user_model().objects.create_user(username=username, password="pw")
    membership_grant(user=user, role=role, store=store)
    return user


def test_only_staff_of_the_store_may_count_it(stocked):
    shop = stocked
    lyon = store_create(company=shop.company, code="lyon", name="Lyon")
    lyon_manager = actor_for_user(_staff("leo", "store_manager", lyon))
    paris_cashier = actor_for_user(_staff("cam", "cashier", shop.store))
    paris_manager = actor_for_user(_staff("paula", "store_manager", shop.store))
    for actor in (lyon_manager, paris_cashier):
        with pytest.raises(PermissionDenied) as denied:
            count_open(location=shop.floor, actor=actor)
        assert denied.value.http_status == 403
    count = count_open(location=shop.floor, actor=paris_manager, reason="weekly")
    for actor in (lyon_manager, paris_cashier):
        with pytest.raises(PermissionDenied):
            count_record(count=count, counted={shop.mug.pk: 1}, actor=actor)
        with pytest.raises(PermissionDenied):
            count_post(count=count, actor=actor, reason="weekly")
        with pytest.raises(PermissionDenied):
            count_cancel(count=count, actor=actor)
    count_record(count=count, counted={shop.mug.pk: 9}, actor=paris_manager)
    posted = count_post(count=count, actor=paris_manager, reason="weekly")
    assert posted.units_removed == 1
    audit = AuditLog.objects.get(action="count.post")
    assert (audit.actor_label, audit.actor_user_id) == ("user:paula", paris_manager.user_id)


# --- HTTP --------------------------------------------------------------------------------


@pytest.fixture
def http(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    if "/api/v1/inventory/counts" not in paths:
        pytest.skip(
            "the transfers and counts router is not mounted yet: add "
            '`api.add_router("/inventory", transfers_router)` in src/omniretail/api.py'
        )
    return client


@pytest.fixture
def stock_key(shop):
    return api_key_issue(
        name="paris stock", channel=shop.pos_channel, scopes=["stock:write", "stock:read"]
    ).token


def _post(client, token, path, body, key=None):
    headers = {"Authorization": f"Bearer {token}"}
    if key:
        headers["Idempotency-Key"] = key
    return client.post(
        f"/api/v1/inventory{path}", body, content_type="application/json", headers=headers
    )


def test_http_count_open_record_post(http, stocked, stock_key):
    shop = stocked
    r = _post(
        http,
        stock_key,
        "/counts",
        {"location": "st-paris", "skus": ["MUG-GR", "CAN-FIG"], "reason": "aisle 3"},
        key="cnt-1",
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert (body["number"], body["status"], body["scope"], body["location"]) == (
        "CNT-000001",
        "open",
        "2 SKU(s)",
        "st-paris",
    )
    assert body["lines"] == [
        {"sku": "CAN-FIG", "expected": 5, "counted": None, "difference": None},
        {"sku": "MUG-GR", "expected": 10, "counted": None, "difference": None},
    ]

    r = _post(
        http,
        stock_key,
        "/counts/CNT-000001/lines",
        {"lines": [{"sku": "MUG-GR", "quantity": 4}, {"sku": "MUG-GR", "quantity": 4}]},
    )
    assert r.status_code == 200, r.content
    assert r.json()["lines"][1] == {"sku": "MUG-GR", "expected": 10, "counted": 8, "difference": -2}
    r = _post(
        http, stock_key, "/counts/CNT-000001/lines", {"lines": [{"sku": "LS-L", "quantity": 1}]}
    )
    assert [ln["sku"] for ln in r.json()["lines"]] == ["CAN-FIG", "LS-L", "MUG-GR"]
    r = _post(
        http, stock_key, "/counts/CNT-000001/lines", {"lines": [{"sku": "MUG-GR", "quantity": -1}]}
    )
    assert (r.status_code, r.json()["error"]["field"]) == (422, "lines[0].quantity")

    r = _post(http, stock_key, "/counts/CNT-000001/post", {"reason": ""}, key="post-1")
    assert r.status_code == 200, r.content
    body = r.json()
    assert (body["status"], body["units_added"], body["units_removed"]) == ("posted", 1, 2)
    assert (body["uncounted"], body["short_of_reserved"], body["replayed"]) == (
        ["CAN-FIG"],
        [],
        False,
    )
    replay = _post(http, stock_key, "/counts/CNT-000001/post", {"reason": ""}, key="post-1")
    assert (replay.status_code, replay.json()["replayed"]) == (200, True)
    assert (_on_hand(shop.mug, shop.floor), _on_hand(shop.shirt_l, shop.floor)) == (8, 1)
    assert AuditLog.objects.filter(action="count.post").count() == 1

    r = http.get(
        "/api/v1/inventory/counts/CNT-000001", headers={"Authorization": f"Bearer {stock_key}"}
    )
    assert (r.status_code, r.json()["status"], r.json()["reason"]) == (200, "posted", "aisle 3")
    r = _post(http, stock_key, "/counts/CNT-000001/post", {"reason": "again"})
    assert (r.status_code, r.json()["error"]["code"]) == (409, "invalid_transition")
    assert verify_all()[0] == []


def test_http_count_errors_and_other_stores(http, stocked, stock_key):
    shop = stocked
    r = _post(http, stock_key, "/counts", {"location": "st-paris", "skus": ["NOPE"]})
    assert (r.status_code, r.json()["error"]["field"]) == (422, "skus[0]")
    r = _post(http, stock_key, "/counts", {"location": "st-paris", "category": "nope"})
    assert (r.status_code, r.json()["error"]["field"]) == (422, "category")
    r = _post(http, stock_key, "/counts/CNT-000404/post", {"reason": "x"})
    assert (r.status_code, r.json()["error"]["field"]) == (404, "number")

    other = Location.objects.create(
        code="st-lyon",
        name="Lyon floor",
        kind="store",
        store=store_create(company=shop.company, code="lyon", name="Lyon"),
    )
    r = _post(http, stock_key, "/counts", {"location": "st-lyon"})
    assert r.status_code == 403
    count = count_open(location=other, actor=SYSTEM)
    r = _post(
        http,
        stock_key,
        f"/counts/{count.number}/lines",
        {"lines": [{"sku": "MUG-GR", "quantity": 1}]},
    )
    assert r.status_code == 403
    r = http.get(
        f"/api/v1/inventory/counts/{count.number}",
        headers={"Authorization": f"Bearer {stock_key}"},
    )
    assert r.status_code == 403
    assert StockCount.objects.count() == 1


# --- back office -------------------------------------------------------------------------


def test_the_admin_shows_counts_of_my_stores_read_only(rf, stocked):
    from django.contrib import admin

    from omniretail.inventory.admin_transfers import StockCountAdmin, StockCountLineInline

    shop = stocked
    mine = count_open(location=shop.floor, actor=SYSTEM)
    count_record(count=mine, counted={shop.mug.pk: 8}, actor=SYSTEM)
    lyon = Location.objects.create(
        code="st-lyon",
        name="Lyon floor",
        kind="store",
        store=store_create(company=shop.company, code="lyon", name="Lyon"),
    )
    count_open(location=lyon, actor=SYSTEM)
    model_admin = StockCountAdmin(StockCount, admin.site)
    request = rf.get("/admin/inventory/stockcount/")
    request.user = _staff("paula", "store_manager", shop.store)
    assert [c.number for c in model_admin.get_queryset(request)] == [mine.number]
    assert not model_admin.has_change_permission(request, mine)
    inline = StockCountLineInline(StockCount, admin.site)
    mug_line = mine.lines.get(sku=shop.mug)
    other_line = mine.lines.get(sku=shop.candle)
    assert (inline.difference(mug_line), inline.difference(other_line)) == (-2, None)
