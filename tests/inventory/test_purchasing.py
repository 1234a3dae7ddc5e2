"""Buying stock: reorder rules and proposals (reserved, backordered and open
purchase orders count), draft orders from proposals without double-ordering,
the purchase order state machine, receiving in part, over-receipts refused or
accepted and flagged, moving average cost, store scoping, and the API."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from omniretail.catalog.models import Product, Variant
from omniretail.catalog.services import VariantSpec, product_create
from omniretail.core.access import SYSTEM, actor_for_user
from omniretail.core.apikeys import api_key_issue
from omniretail.core.errors import Conflict, PermissionDenied, ValidationFailed
from omniretail.core.models import AuditLog
from omniretail.core.services import channel_create, membership_grant
from omniretail.inventory.models import (
    ChannelLocation,
    PurchaseOrder,
    PurchaseOrderLine,
    ReorderRule,
    Reservation,
    SkuValuation,
    StockLevel,
    StockMove,
)
from omniretail.inventory.selectors_purchasing import (
    purchase_location_ids,
    reorder_proposals,
    reorder_quantity_for,
)
from omniretail.inventory.services import (
    ChannelLine,
    ReserveLine,
    stock_reserve,
    stock_reserve_for_channel,
)
from omniretail.inventory.services.purchasing import (
    PurchaseLine,
    purchase_order_cancel,
    purchase_order_create,
    purchase_order_receive,
    purchase_order_send,
    purchase_orders_propose,
    reorder_rule_set,
    supplier_create,
)
from omniretail.verify import verify_all
from tests.conftest import build_shop, stock_up

pytestmark = pytest.mark.django_db

TEST_URLS = "tests.inventory.urls_for_tests"


@pytest.fixture
def nordic(db):
    return supplier_create(code="nordic", name="Nordic Linen", actor=SYSTEM, lead_time_days=5)


@pytest.fixture
def potter(db):
    return supplier_create(code="potter", name="Potter & Co", actor=SYSTEM)


def _rule(shop, sku, supplier, point, quantity, cost="4.00", location=None):
    return reorder_rule_set(
        sku=sku,
        location=location or shop.floor,
        supplier=supplier,
        reorder_point=point,
        reorder_quantity=quantity,
        unit_cost=None if cost is None else Decimal(cost),
        actor=SYSTEM,
    )


def _level(variant, location):
    return StockLevel.objects.filter(sku=variant, location=location).first()


def _on_hand(variant, location):
    level = _level(variant, location)
    return level.on_hand if level else 0


def _lines(order):
    return {
        line.sku.sku: (line.quantity_ordered, line.quantity_received, line.over_received)
        for line in PurchaseOrderLine.objects.select_related("sku").filter(order=order)
    }


def _sent(shop, supplier, lines, location=None):
    order = purchase_order_create(
        supplier=supplier,
        location=location or shop.floor,
        lines=[PurchaseLine(v.pk, q, Decimal(c)) for v, q, c in lines],
        actor=SYSTEM,
    )
    return purchase_order_send(order=order, actor=SYSTEM)


def _staff(username, role, store):
    user = get_user_model().objects.create_user(username=username, password="pw")
    membership_grant(user=user, role=role, store=store)
    return user


# --- the proposal arithmetic -----------------------------------------------------


@pytest.mark.parametrize(
    ("projected", "point", "quantity", "expected"),
    [
        (6, 5, 10, 0),  # above the point: nothing
        (5, 5, 10, 10),  # at the point: one lot
        (0, 5, 10, 10),
        (-5, 5, 10, 20),  # one lot would end at 5, still not above
        (0, 20, 6, 24),  # 18 would still be ≤ 20
        (-12, 0, 4, 16),
    ],
)
def test_reorder_quantity_is_the_smallest_lot_multiple_above_the_point(
    projected, point, quantity, expected
):
    assert (
        reorder_quantity_for(projected=projected, reorder_point=point, reorder_quantity=quantity)
        == expected
    )


def test_projection_counts_reserved_backordered_and_open_orders(shop, nordic, potter):
    _rule(shop, shop.mug, nordic, point=17, quantity=12)
    stock_up(shop, {shop.mug: 14})
    stock_reserve(
        lines=[ReserveLine(shop.mug.pk, shop.floor.pk, 5)],
        demand_type="cart",
        demand_id="c1",
        actor=SYSTEM,
    )
    # Open: a draft of 3 and a sent order of 6 of which 4 arrived (2 still due).
    purchase_order_create(
        supplier=nordic,
        location=shop.floor,
        lines=[PurchaseLine(shop.mug.pk, 3)],
        actor=SYSTEM,
    )
    partly = _sent(shop, potter, [(shop.mug, 6, "4.00")])
    purchase_order_receive(order=partly, received={shop.mug.pk: 4}, actor=SYSTEM)
    # Closed orders count for nothing: a cancelled one and a fully received one.
    purchase_order_cancel(order=_sent(shop, potter, [(shop.mug, 50, "4.00")]), actor=SYSTEM)
    done = _sent(shop, potter, [(shop.mug, 1, "4.00")])
    purchase_order_receive(order=done, received={shop.mug.pk: 1}, actor=SYSTEM)
    # Another location's order does not count here.
    _sent(shop, potter, [(shop.mug, 30, "4.00")], location=shop.warehouse)
    # Waiting for stock (after the receipts, which would have filled it).
    Reservation.objects.create(
        sku=shop.mug,
        location=shop.floor,
        quantity=2,
        status=Reservation.Status.BACKORDERED,
        demand_type="order_line",
        demand_id="o1",
    )

    [proposal] = reorder_proposals()
    [line] = proposal.lines
    # on hand 14 + 4 + 1 = 19; 19 - 5 reserved - 2 backordered + (3 + 2) on order = 17
    assert (
        line.on_hand,
        line.reserved,
        line.backordered,
        line.on_order,
        line.projected,
        line.quantity,
    ) == (19, 5, 2, 5, 17, 12)
    assert (proposal.supplier_code, proposal.location_code) == ("nordic", "st-paris")
    assert (line.sku, line.reorder_point, line.reorder_quantity) == ("MUG-GR", 17, 12)
    assert line.unit_cost == Decimal("4.0000")


def test_proposals_are_grouped_by_supplier_and_location(shop, nordic, potter):
    _rule(shop, shop.mug, nordic, point=5, quantity=10, cost="3.10")
    _rule(shop, shop.candle, nordic, point=20, quantity=6, cost="7.25")
    _rule(shop, shop.shirt_m, potter, point=2, quantity=5, cost="21.00")
    _rule(shop, shop.shirt_l, potter, point=3, quantity=4, cost="21.00")
    _rule(shop, shop.mug, nordic, point=0, quantity=24, cost="3.00", location=shop.warehouse)
    stock_up(shop, {shop.mug: 5, shop.shirt_m: 3, shop.shirt_l: 1})

    proposals = reorder_proposals()

    assert [
        (p.supplier_code, p.location_code, [(ln.sku, ln.quantity) for ln in p.lines])
        for p in proposals
    ] == [
        ("nordic", "st-paris", [("CAN-FIG", 24), ("MUG-GR", 10)]),
        ("nordic", "wh-main", [("MUG-GR", 24)]),
        ("potter", "st-paris", [("LS-L", 4)]),
    ]
    assert [p.units for p in proposals] == [34, 24, 4]
    assert proposals[0].value == Decimal("205.0000")  # 24 × 7.25 + 10 × 3.10
    only_floor = reorder_proposals(location_ids=[shop.floor.pk])
    assert [(p.supplier_code, p.location_code) for p in only_floor] == [
        ("nordic", "st-paris"),
        ("potter", "st-paris"),
    ]
    assert reorder_proposals(location_ids=[]) == []


def test_a_rule_without_cost_orders_at_the_average_cost(shop, nordic):
    _rule(shop, shop.mug, nordic, point=5, quantity=10, cost=None)
    _rule(shop, shop.candle, nordic, point=5, quantity=10, cost=None)
    stock_up(shop, {shop.mug: 1})  # at 10.00 (conftest)
    [proposal] = reorder_proposals()
    assert [(ln.sku, ln.unit_cost) for ln in proposal.lines] == [
        ("CAN-FIG", Decimal("0.0000")),
        ("MUG-GR", Decimal("10.0000")),
    ]


def test_reorder_proposals_take_a_constant_number_of_queries(shop, nordic, potter):
    def make_rules(count, start):
        for i in range(start, start + count):
            product = product_create(
                code=f"bulk-{i}",
                name=f"Bulk {i}",
                tax_class=shop.standard,
                variants=[VariantSpec(f"BULK-{i}", "One", Decimal("1.00"))],
            )
            variant = Variant.objects.get(product=product)
            cost = None if i % 3 == 0 else "4.00"  # some at the average cost
            _rule(shop, variant, nordic if i % 2 else potter, point=3, quantity=5, cost=cost)

    make_rules(5, 0)
    with CaptureQueriesContext(connection) as five:
        assert sum(len(p.lines) for p in reorder_proposals()) == 5
    make_rules(45, 5)
    with CaptureQueriesContext(connection) as fifty:
        assert sum(len(p.lines) for p in reorder_proposals()) == 50
    assert len(five) == len(fifty) == 5


# --- master data ---------------------------------------------------------------


def test_reorder_rule_set_is_an_upsert_with_audit(shop, nordic, potter):
    first = _rule(shop, shop.mug, nordic, point=5, quantity=10)
    again = _rule(shop, shop.mug, potter, point=8, quantity=12, cost="3.95")
    assert first.pk == again.pk
    rule = ReorderRule.objects.get()
    assert (rule.supplier_id, rule.reorder_point, rule.reorder_quantity, rule.unit_cost) == (
        potter.pk,
        8,
        12,
        Decimal("3.9500"),
    )
    audits = list(
        AuditLog.objects.filter(action="reorder_rule.set")
        .order_by("pk")
        .values_list("data", flat=True)
    )
    assert [(a["created"], a["supplier"], a["reorder_point"]) for a in audits] == [
        (True, "nordic", 5),
        (False, "potter", 8),
    ]
    with pytest.raises(ValidationFailed) as bad:
        _rule(shop, shop.mug, nordic, point=5, quantity=0)
    assert bad.value.field == "reorder_quantity"


def test_supplier_codes_are_unique_and_suppliers_company_wide(shop, nordic):
    with pytest.raises(Conflict) as duplicate:
        supplier_create(code="nordic", name="Other", actor=SYSTEM)
    assert duplicate.value.field == "code"
    manager = actor_for_user(_staff("anna", "store_manager", shop.store))
    with pytest.raises(PermissionDenied):
        supplier_create(code="local", name="Local", actor=manager)


# --- drafts from proposals ----------------------------------------------------------


def test_propose_creates_one_draft_per_supplier_and_location_once(shop, nordic, potter):
    _rule(shop, shop.mug, nordic, point=5, quantity=10, cost="3.10")
    _rule(shop, shop.candle, nordic, point=20, quantity=6, cost="7.25")
    _rule(shop, shop.shirt_l, potter, point=3, quantity=4, cost="21.00")
    stock_up(shop, {shop.mug: 5, shop.shirt_l: 1})

    orders = purchase_orders_propose(actor=SYSTEM)

    assert [(o.number, o.supplier.code, o.location.code, o.status) for o in orders] == [
        ("PO-000001", "nordic", "st-paris", "draft"),
        ("PO-000002", "potter", "st-paris", "draft"),
    ]
    assert _lines(orders[0]) == {"CAN-FIG": (24, 0, False), "MUG-GR": (10, 0, False)}
    assert _lines(orders[1]) == {"LS-L": (4, 0, False)}
    assert PurchaseOrderLine.objects.get(sku=shop.candle).unit_cost == Decimal("7.2500")
    assert orders[0].expected_date == timezone.localdate() + dt.timedelta(days=5)
    assert orders[0].created_by == "system"
    assert AuditLog.objects.filter(action="purchase_order.create").count() == 2

    # The drafts are on order now: a second run orders nothing more.
    assert purchase_orders_propose(actor=SYSTEM) == []
    assert reorder_proposals() == []
    assert PurchaseOrder.objects.count() == 2


def test_manual_order_validates_lines(shop, nordic):
    with pytest.raises(ValidationFailed) as empty:
        purchase_order_create(supplier=nordic, location=shop.floor, lines=[], actor=SYSTEM)
    assert empty.value.field == "lines"
    with pytest.raises(ValidationFailed) as twice:
        purchase_order_create(
            supplier=nordic,
            location=shop.floor,
            lines=[PurchaseLine(shop.mug.pk, 1, Decimal(1)), PurchaseLine(shop.mug.pk, 2)],
            actor=SYSTEM,
        )
    assert twice.value.field == "lines[1].sku"
    with pytest.raises(ValidationFailed) as no_cost:
        purchase_order_create(
            supplier=nordic,
            location=shop.floor,
            lines=[PurchaseLine(shop.candle.pk, 1)],
            actor=SYSTEM,
        )
    assert no_cost.value.field == "lines[0].unit_cost"
    assert "CAN-FIG" in no_cost.value.message
    assert PurchaseOrder.objects.count() == 0


# --- the state machine ------------------------------------------------------------------


def test_send_cancel_and_their_refusals(shop, nordic):
    draft = purchase_order_create(
        supplier=nordic,
        location=shop.floor,
        lines=[PurchaseLine(shop.mug.pk, 10, Decimal("4.00"))],
        actor=SYSTEM,
    )
    with pytest.raises(Conflict) as early:
        purchase_order_receive(order=draft, received={shop.mug.pk: 1}, actor=SYSTEM)
    assert "send it to the supplier" in early.value.message

    sent = purchase_order_send(order=draft, actor=SYSTEM)
    assert (sent.status, draft.status) == ("sent", "sent")
    with pytest.raises(Conflict) as twice:
        purchase_order_send(order=sent, actor=SYSTEM)
    assert twice.value.code == "invalid_transition"

    purchase_order_receive(order=sent, received={shop.mug.pk: 3}, actor=SYSTEM)
    with pytest.raises(Conflict) as arrived:
        purchase_order_cancel(order=sent, actor=SYSTEM)
    assert arrived.value.message == (
        "PO-000001 cannot be cancelled: 3 unit(s) already arrived. Receive the rest, or "
        "return goods to the supplier."
    )
    assert PurchaseOrder.objects.get(pk=sent.pk).status == "partly_received"

    other = _sent(shop, nordic, [(shop.candle, 2, "5.00")])
    cancelled = purchase_order_cancel(order=other, actor=SYSTEM, reason="supplier out of stock")
    assert cancelled.status == "cancelled"
    with pytest.raises(Conflict):
        purchase_order_receive(order=other, received={shop.candle.pk: 2}, actor=SYSTEM)
    actions = list(
        AuditLog.objects.filter(object_type="purchase_order")
        .values_list("action", "object_id", "reason")
        .order_by("pk")
    )
    assert actions == [
        ("purchase_order.create", "PO-000001", ""),
        ("purchase_order.send", "PO-000001", ""),
        ("purchase_order.receive", "PO-000001", ""),
        ("purchase_order.create", "PO-000002", ""),
        ("purchase_order.send", "PO-000002", ""),
        ("purchase_order.cancel", "PO-000002", "supplier out of stock"),
    ]


def test_over_receipt_is_refused_with_the_quantities(shop, nordic):
    order = _sent(shop, nordic, [(shop.mug, 10, "4.00"), (shop.candle, 5, "6.00")])
    purchase_order_receive(order=order, received={shop.mug.pk: 8}, actor=SYSTEM)
    moves_before = StockMove.objects.count()

    with pytest.raises(Conflict) as over:
        purchase_order_receive(
            order=order, received={shop.mug.pk: 5, shop.candle.pk: 5}, actor=SYSTEM
        )

    assert over.value.http_status == 409
    assert over.value.code == "over_receipt"
    assert over.value.message == (
        "Over-receipt of MUG-GR on PO-000001: 10 ordered, 8 already received, 5 arriving "
        "(3 too many). Receive at most 2, or accept the over-receipt to keep the extra units."
    )
    assert over.value.extra["over"] == [
        {"sku": "MUG-GR", "ordered": 10, "already_received": 8, "arriving": 5, "over": 3}
    ]
    # Nothing of the refused receipt happened, not even the candle line.
    assert StockMove.objects.count() == moves_before
    assert _on_hand(shop.mug, shop.floor) == 8
    assert _on_hand(shop.candle, shop.floor) == 0
    assert _lines(order) == {"MUG-GR": (10, 8, False), "CAN-FIG": (5, 0, False)}
    assert PurchaseOrder.objects.get(pk=order.pk).status == "partly_received"


def test_accepted_over_receipt_keeps_the_units_and_flags_the_line(shop, nordic):
    order = _sent(shop, nordic, [(shop.mug, 10, "4.00")])

    done = purchase_order_receive(
        order=order, received={shop.mug.pk: 12}, actor=SYSTEM, accept_over=True
    )

    assert done.status == "received"
    assert _lines(order) == {"MUG-GR": (10, 12, True)}
    assert _on_hand(shop.mug, shop.floor) == 12
    flagged = AuditLog.objects.get(action="purchase_order.over_receipt")
    assert (flagged.object_id, flagged.data["lines"]) == (
        "PO-000001",
        [{"sku": "MUG-GR", "ordered": 10, "already_received": 0, "arriving": 12, "over": 2}],
    )
    assert verify_all()[0] == []


def test_a_sku_not_on_the_order_is_422(shop, nordic):
    order = _sent(shop, nordic, [(shop.mug, 10, "4.00")])
    with pytest.raises(ValidationFailed) as unknown:
        purchase_order_receive(
            order=order, received={shop.mug.pk: 1, shop.candle.pk: 2}, actor=SYSTEM
        )
    assert unknown.value.http_status == 422
    assert unknown.value.message == (
        "CAN-FIG is not on PO-000001; receive it without a purchase order, or add it to a "
        "new order."
    )
    with pytest.raises(ValidationFailed) as nothing:
        purchase_order_receive(order=order, received={shop.mug.pk: 0}, actor=SYSTEM)
    assert nothing.value.field == "received"
    assert StockMove.objects.filter(reference_type="purchase_order").count() == 0


def test_two_receipts_at_different_costs_make_the_moving_average(shop, nordic):
    order = _sent(shop, nordic, [(shop.mug, 10, "4.00")])
    purchase_order_receive(order=order, received={shop.mug.pk: 4}, actor=SYSTEM)
    assert SkuValuation.objects.get(sku=shop.mug).average_cost == Decimal("4.0000")
    # The invoice of the second delivery says 5.00 a unit.
    purchase_order_receive(
        order=order,
        received={shop.mug.pk: 6},
        actor=SYSTEM,
        unit_costs={shop.mug.pk: Decimal("5.00")},
    )
    # (4 × 4.00 + 6 × 5.00) / 10
    assert SkuValuation.objects.get(sku=shop.mug).average_cost == Decimal("4.6000")
    moves = list(
        StockMove.objects.filter(reference_id="PO-000001")
        .order_by("pk")
        .values_list("quantity", "unit_cost", "reference_type")
    )
    assert moves == [
        (4, Decimal("4.0000"), "purchase_order"),
        (6, Decimal("5.0000"), "purchase_order"),
    ]
    assert PurchaseOrderLine.objects.get().unit_cost == Decimal("4.0000")
    assert verify_all()[0] == []


def test_receiving_fills_waiting_backorders(shop, nordic):
    web = channel_create(company=shop.company, code="web", name="Web shop", kind="web")
    ChannelLocation.objects.create(channel=web, location=shop.warehouse, priority=1)
    Product.objects.filter(pk=shop.mug.product_id).update(stock_policy="backorder")
    [waiting] = stock_reserve_for_channel(
        lines=[ChannelLine(shop.mug.pk, 3)],
        channel_id=web.pk,
        demand_type="order_line",
        demand_id="o1",
        actor=SYSTEM,
    )
    assert waiting.status == "backordered"
    order = _sent(shop, nordic, [(shop.mug, 5, "4.00")], location=shop.warehouse)
    purchase_order_receive(order=order, received={shop.mug.pk: 5}, actor=SYSTEM)
    waiting.refresh_from_db()
    assert waiting.status == "active"
    level = _level(shop.mug, shop.warehouse)
    assert (level.on_hand, level.reserved) == (5, 3)
    assert verify_all()[0] == []


# --- store scoping --------------------------------------------------------------


@pytest.fixture
def lyon(shop):
    return build_shop("-lyon")


def test_a_manager_of_another_store_gets_403(shop, lyon, nordic):
    manager = actor_for_user(_staff("lucie", "store_manager", lyon.store))
    _rule(shop, shop.mug, nordic, point=5, quantity=10)
    order = _sent(shop, nordic, [(shop.mug, 10, "4.00")])
    calls = [
        lambda: purchase_order_create(
            supplier=nordic,
            location=shop.floor,
            lines=[PurchaseLine(shop.mug.pk, 1, Decimal(1))],
            actor=manager,
        ),
        lambda: purchase_order_send(order=order, actor=manager),
        lambda: purchase_order_cancel(order=order, actor=manager),
        lambda: purchase_order_receive(order=order, received={shop.mug.pk: 1}, actor=manager),
        lambda: purchase_orders_propose(actor=manager, location_ids=[shop.floor.pk]),
        lambda: reorder_rule_set(
            sku=shop.mug,
            location=shop.floor,
            supplier=nordic,
            reorder_point=1,
            reorder_quantity=1,
            actor=manager,
        ),
    ]
    for call in calls:
        with pytest.raises(PermissionDenied) as denied:
            call()
        assert denied.value.http_status == 403
        assert "user:lucie may not" in denied.value.message
    assert _on_hand(shop.mug, shop.floor) == 0
    assert PurchaseOrder.objects.get(pk=order.pk).status == "sent"


def test_a_manager_proposes_only_for_their_stores_not_the_warehouse(shop, lyon, nordic):
    manager = actor_for_user(_staff("lucie", "store_manager", lyon.store))
    _rule(shop, shop.mug, nordic, point=5, quantity=10)
    _rule(lyon, lyon.mug, nordic, point=5, quantity=10)
    _rule(shop, shop.candle, nordic, point=5, quantity=10, location=shop.warehouse)

    assert purchase_location_ids(actor=manager) == [lyon.floor.pk]
    orders = purchase_orders_propose(actor=manager)
    assert [(o.location.code, list(_lines(o))) for o in orders] == [
        ("st-paris-lyon", ["MUG-GR-lyon"])
    ]
    with pytest.raises(PermissionDenied) as warehouse:
        purchase_orders_propose(actor=manager, location_ids=[shop.warehouse.pk])
    assert "at company-wide locations (warehouses)" in warehouse.value.message
    # Everything else is still to order, by someone who may.
    assert [(p.location_code, p.lines[0].sku) for p in reorder_proposals()] == [
        ("st-paris", "MUG-GR"),
        ("wh-main", "CAN-FIG"),
    ]


# --- the API --------------------------------------------------------------------------


@pytest.fixture
def api_urls(settings):
    settings.ROOT_URLCONF = TEST_URLS


@pytest.fixture
def buyer_key(shop):
    """A head-office tool's key: its channel belongs to no store, so it buys
    for every location (warehouse included)."""
    erp = channel_create(company=shop.company, code="erp", name="ERP", kind="phone")
    return api_key_issue(
        name="purchasing tool", channel=erp, scopes=["stock:write", "stock:read"]
    ).token


def _post(client, token, path, body, key=None):
    headers = {"Authorization": f"Bearer {token}"}
    if key:
        headers["Idempotency-Key"] = key
    return client.post(
        f"/api/v1/inventory{path}", body, content_type="application/json", headers=headers
    )


def _get(client, token, path):
    return client.get(f"/api/v1/inventory{path}", headers={"Authorization": f"Bearer {token}"})


def test_api_order_send_receive_over_receipt(client, api_urls, shop, nordic, buyer_key):
    body = {
        "supplier": "nordic",
        "location": "st-paris",
        "lines": [
            {"sku": "MUG-GR", "quantity": 10, "unit_cost": "4.00"},
            {"sku": "CAN-FIG", "quantity": 4, "unit_cost": "6.50"},
        ],
    }
    created = _post(client, buyer_key, "/purchase-orders", body, key="po-1")
    replay = _post(client, buyer_key, "/purchase-orders", body, key="po-1")
    assert (created.status_code, replay.status_code) == (201, 200)
    assert created.json()["number"] == replay.json()["number"] == "PO-000001"
    assert (created.json()["status"], replay.json()["replayed"]) == ("draft", True)
    assert PurchaseOrder.objects.count() == 1

    sent = _post(client, buyer_key, "/purchase-orders/PO-000001/send", {})
    assert (sent.status_code, sent.json()["status"]) == (200, "sent")

    over = _post(
        client,
        buyer_key,
        "/purchase-orders/PO-000001/receive",
        {"lines": [{"sku": "MUG-GR", "quantity": 11}]},
    )
    assert over.status_code == 409
    assert over.json()["error"]["code"] == "over_receipt"
    assert over.json()["error"]["over"] == [
        {"sku": "MUG-GR", "ordered": 10, "already_received": 0, "arriving": 11, "over": 1}
    ]
    unknown = _post(
        client,
        buyer_key,
        "/purchase-orders/PO-000001/receive",
        {"lines": [{"sku": "LS-M", "quantity": 1}]},
    )
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (422, "not_on_order")

    partly = _post(
        client,
        buyer_key,
        "/purchase-orders/PO-000001/receive",
        {"lines": [{"sku": "MUG-GR", "quantity": 11}], "accept_over": True, "reference": "DN-7"},
        key="rcv-1",
    )
    assert partly.status_code == 200
    assert partly.json()["status"] == "partly_received"
    assert partly.json()["lines"] == [
        {
            "sku": "MUG-GR",
            "quantity_ordered": 10,
            "quantity_received": 11,
            "unit_cost": "4.0000",
            "over_received": True,
        },
        {
            "sku": "CAN-FIG",
            "quantity_ordered": 4,
            "quantity_received": 0,
            "unit_cost": "6.5000",
            "over_received": False,
        },
    ]
    again = _post(
        client,
        buyer_key,
        "/purchase-orders/PO-000001/receive",
        {"lines": [{"sku": "MUG-GR", "quantity": 11}], "accept_over": True, "reference": "DN-7"},
        key="rcv-1",
    )
    assert (again.status_code, again.json()["replayed"]) == (200, True)
    assert _on_hand(shop.mug, shop.floor) == 11

    refused = _post(client, buyer_key, "/purchase-orders/PO-000001/cancel", {"reason": "late"})
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "invalid_transition")

    detail = _get(client, buyer_key, "/purchase-orders/PO-000001")
    assert (detail.status_code, detail.json()["status"]) == (200, "partly_received")
    assert _get(client, buyer_key, "/purchase-orders/PO-999999").status_code == 404


def test_api_proposals_propose_and_suppliers(client, api_urls, shop, nordic, potter, buyer_key):
    _rule(shop, shop.mug, nordic, point=5, quantity=10, cost="3.10")
    _rule(shop, shop.candle, potter, point=1, quantity=6, cost="7.25", location=shop.warehouse)

    suppliers = _get(client, buyer_key, "/suppliers")
    assert [s["code"] for s in suppliers.json()] == ["nordic", "potter"]

    listed = _get(client, buyer_key, "/reorder-proposals?location=st-paris")
    assert listed.status_code == 200
    assert listed.json() == [
        {
            "supplier": "nordic",
            "supplier_name": "Nordic Linen",
            "location": "st-paris",
            "location_name": "Paris floor",
            "units": 10,
            "lines": [
                {
                    "sku": "MUG-GR",
                    "name": "Stoneware Mug Grey",
                    "on_hand": 0,
                    "reserved": 0,
                    "backordered": 0,
                    "on_order": 0,
                    "projected": 0,
                    "reorder_point": 5,
                    "reorder_quantity": 10,
                    "quantity": 10,
                    "unit_cost": "3.1000",
                }
            ],
        }
    ]
    assert len(_get(client, buyer_key, "/reorder-proposals").json()) == 2
    bad = _get(client, buyer_key, "/reorder-proposals?location=nowhere")
    assert (bad.status_code, bad.json()["error"]["field"]) == (422, "location")

    proposed = _post(client, buyer_key, "/purchase-orders/propose", {}, key="prop-1")
    assert proposed.status_code == 201
    assert [(o["number"], o["supplier"], o["location"]) for o in proposed.json()["orders"]] == [
        ("PO-000001", "nordic", "st-paris"),
        ("PO-000002", "potter", "wh-main"),
    ]
    nothing = _post(client, buyer_key, "/purchase-orders/propose", {})
    assert (nothing.status_code, nothing.json()["orders"]) == (200, [])
    cancelled = _post(
        client, buyer_key, "/purchase-orders/PO-000002/cancel", {"reason": "wrong supplier"}
    )
    assert (cancelled.status_code, cancelled.json()["status"]) == (200, "cancelled")
    assert AuditLog.objects.get(action="purchase_order.cancel").reason == "wrong supplier"


def test_api_scopes_a_store_manager_to_their_stores(client, api_urls, shop, lyon, nordic):
    user = _staff("lucie", "store_manager", lyon.store)
    client.force_login(user)
    _sent(shop, nordic, [(shop.mug, 10, "4.00")])
    r = client.post(
        "/api/v1/inventory/purchase-orders/PO-000001/receive",
        {"lines": [{"sku": "MUG-GR", "quantity": 1}]},
        content_type="application/json",
    )
    assert r.status_code == 403
    assert client.get("/api/v1/inventory/purchase-orders/PO-000001").status_code == 403
    r = client.post(
        "/api/v1/inventory/purchase-orders/propose",
        {"locations": ["st-paris"]},
        content_type="application/json",
    )
    assert (r.status_code, r.json()["error"]["field"]) == (403, "locations[0]")


# --- at the same time (PostgreSQL) ---------------------------------------------------


def _together(count, work):
    """Run work(i) in `count` threads released at once; each closes its connection."""
    barrier = threading.Barrier(count, timeout=30)
    results, errors = [None] * count, []

    def run(i):
        try:
            barrier.wait()
            results[i] = work(i)
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a thread is stuck (deadlock?)"
    return results, errors


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_buyers_proposing_at_once_order_once(shop, nordic, potter):
    _rule(shop, shop.mug, nordic, point=5, quantity=10)
    _rule(shop, shop.candle, potter, point=5, quantity=10, location=shop.warehouse)
    results, errors = _together(4, lambda _i: purchase_orders_propose(actor=SYSTEM))
    assert errors == []
    assert sorted(len(orders) for orders in results) == [0, 0, 0, 2]
    assert sorted(PurchaseOrder.objects.values_list("number", flat=True)) == [
        "PO-000001",
        "PO-000002",
    ]


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_receipts_at_once_cannot_over_receive_together(shop, nordic):
    order = _sent(shop, nordic, [(shop.mug, 10, "4.00")])
    _results, errors = _together(
        2,
        lambda _i: purchase_order_receive(order=order, received={shop.mug.pk: 6}, actor=SYSTEM),
    )
    assert [type(e) for e in errors] == [Conflict]
    assert errors[0].code == "over_receipt"
    assert _lines(order) == {"MUG-GR": (10, 6, False)}
    assert _on_hand(shop.mug, shop.floor) == 6
    assert verify_all()[0] == []
