"""The warehouse restocks: reorder rules propose a purchase order of three
lines, the buyer sends it, the supplier delivers two lines on Tuesday (one
short) and the rest on Thursday at a new price. Stock, reservations, average
costs, statuses, audit trail and `omni verify` are checked at each step."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from omniretail.catalog.models import Product
from omniretail.core.access import SYSTEM, actor_for_user
from omniretail.core.errors import Conflict
from omniretail.core.models import AuditLog
from omniretail.core.services import channel_create, membership_grant
from omniretail.inventory.models import (
    ChannelLocation,
    PurchaseOrder,
    PurchaseOrderLine,
    Reservation,
    SkuValuation,
    StockLevel,
    StockMove,
)
from omniretail.inventory.selectors_purchasing import reorder_proposals
from omniretail.inventory.services import ChannelLine, stock_receive, stock_reserve_for_channel
from omniretail.inventory.services.ledger import StockLine
from omniretail.inventory.services.purchasing import (
    purchase_order_cancel,
    purchase_order_receive,
    purchase_order_send,
    purchase_orders_propose,
    reorder_rule_set,
    supplier_create,
)
from omniretail.verify import verify_all

pytestmark = pytest.mark.django_db


def _stock(shop):
    """(on hand, reserved) per SKU at the warehouse."""
    levels = StockLevel.objects.filter(location=shop.warehouse).select_related("sku")
    return {lv.sku.sku: (lv.on_hand, lv.reserved) for lv in levels}


def _average(variant):
    return SkuValuation.objects.get(sku=variant).average_cost


def _lines(order):
    return {
        line.sku.sku: (line.quantity_ordered, line.quantity_received, line.unit_cost)
        for line in PurchaseOrderLine.objects.select_related("sku").filter(order=order)
    }


def test_a_purchase_order_received_in_two_deliveries(shop):
    buyer_user = get_user_model().objects.create_user(username="bruno", password="pw")
    membership_grant(user=buyer_user, role="warehouse", store=None)
    buyer = actor_for_user(buyer_user)

    # Monday — what the warehouse holds: 4 mugs at 3.00, 2 candles at 5.00, no shirts.
    stock_receive(
        location=shop.warehouse,
        lines=[
            StockLine(shop.mug.pk, 4, Decimal("3.00")),
            StockLine(shop.candle.pk, 2, Decimal("5.00")),
        ],
        actor=SYSTEM,
        reference="DN-OPENING",
    )
    # The web shop sells from the warehouse; two shirts are already backordered.
    web = channel_create(company=shop.company, code="web", name="Web shop", kind="web")
    ChannelLocation.objects.create(channel=web, location=shop.warehouse, priority=1)
    Product.objects.filter(pk=shop.shirt.pk).update(stock_policy="backorder")
    [backorder] = stock_reserve_for_channel(
        lines=[ChannelLine(shop.shirt_m.pk, 2)],
        channel_id=web.pk,
        demand_type="order_line",
        demand_id="web-1001",
        actor=SYSTEM,
    )
    assert backorder.status == "backordered"

    # The buyer keeps three reorder rules with one supplier.
    nordic = supplier_create(code="nordic", name="Nordic Home", actor=buyer, lead_time_days=3)
    for variant, point, lot, cost in [
        (shop.mug, 10, 12, "4.00"),
        (shop.shirt_m, 5, 10, "20.00"),
        (shop.candle, 6, 6, "6.00"),
    ]:
        reorder_rule_set(
            sku=variant,
            location=shop.warehouse,
            supplier=nordic,
            reorder_point=point,
            reorder_quantity=lot,
            unit_cost=Decimal(cost),
            actor=buyer,
        )

    # The proposal: mugs 4 ≤ 10 → 12; shirts 0 − 2 waiting ≤ 5 → 10; candles 2 ≤ 6 → 6.
    [proposal] = reorder_proposals()
    assert [(ln.sku, ln.projected, ln.quantity) for ln in proposal.lines] == [
        ("CAN-FIG", 2, 6),
        ("LS-M", -2, 10),
        ("MUG-GR", 4, 12),
    ]
    [order] = purchase_orders_propose(actor=buyer)
    assert (order.number, order.status, order.location_id) == (
        "PO-000001",
        "draft",
        shop.warehouse.pk,
    )
    assert _lines(order) == {
        "CAN-FIG": (6, 0, Decimal("6.0000")),
        "LS-M": (10, 0, Decimal("20.0000")),
        "MUG-GR": (12, 0, Decimal("4.0000")),
    }
    order = purchase_order_send(order=order, actor=buyer)
    assert order.status == "sent"

    # Tuesday — the first delivery: all the mugs, 7 of the 10 shirts, no candles.
    order = purchase_order_receive(
        order=order,
        received={shop.mug.pk: 12, shop.shirt_m.pk: 7},
        actor=buyer,
        reference="DN-4471",
    )
    assert order.status == "partly_received"
    assert _lines(order) == {
        "CAN-FIG": (6, 0, Decimal("6.0000")),
        "LS-M": (10, 7, Decimal("20.0000")),
        "MUG-GR": (12, 12, Decimal("4.0000")),
    }
    assert _stock(shop) == {"MUG-GR": (16, 0), "LS-M": (7, 2), "CAN-FIG": (2, 0)}
    backorder.refresh_from_db()
    assert backorder.status == Reservation.Status.ACTIVE  # the web order can ship
    assert _average(shop.mug) == Decimal("3.7500")  # (4 × 3.00 + 12 × 4.00) / 16
    assert _average(shop.shirt_m) == Decimal("20.0000")
    assert _average(shop.candle) == Decimal("5.0000")
    # What is still due counts as on order: nothing more is proposed, nothing doubled.
    assert reorder_proposals() == []
    assert purchase_orders_propose(actor=buyer) == []
    with pytest.raises(Conflict) as too_late:
        purchase_order_cancel(order=order, actor=buyer)
    assert too_late.value.message == (
        "PO-000001 cannot be cancelled: 19 unit(s) already arrived. Receive the rest, or "
        "return goods to the supplier."
    )
    assert verify_all()[0] == []

    # Thursday — the rest: 3 shirts (invoiced at 22.00 now) and the 6 candles.
    order = purchase_order_receive(
        order=order,
        received={shop.shirt_m.pk: 3, shop.candle.pk: 6},
        actor=buyer,
        unit_costs={shop.shirt_m.pk: Decimal("22.00")},
        reference="DN-4502",
    )
    assert order.status == "received"
    assert {sku: line[:2] for sku, line in _lines(order).items()} == {
        "CAN-FIG": (6, 6),
        "LS-M": (10, 10),
        "MUG-GR": (12, 12),
    }
    assert _stock(shop) == {"MUG-GR": (16, 0), "LS-M": (10, 2), "CAN-FIG": (8, 0)}
    assert _average(shop.shirt_m) == Decimal("20.6000")  # (7 × 20.00 + 3 × 22.00) / 10
    assert _average(shop.candle) == Decimal("5.7500")  # (2 × 5.00 + 6 × 6.00) / 8
    assert _average(shop.mug) == Decimal("3.7500")

    # A closed order takes nothing more.
    with pytest.raises(Conflict) as closed:
        purchase_order_receive(order=order, received={shop.candle.pk: 1}, actor=buyer)
    assert closed.value.code == "invalid_transition"

    # The ledger: four moves from the supplier (SKUs in id order per delivery), each at its cost.
    moves = list(
        StockMove.objects.filter(reference_type="purchase_order", reference_id="PO-000001")
        .order_by("pk")
        .values_list("sku__sku", "quantity", "unit_cost", "from_location__kind", "actor_label")
    )
    assert moves == [
        ("LS-M", 7, Decimal("20.0000"), "supplier", "user:bruno"),
        ("MUG-GR", 12, Decimal("4.0000"), "supplier", "user:bruno"),
        ("LS-M", 3, Decimal("22.0000"), "supplier", "user:bruno"),
        ("CAN-FIG", 6, Decimal("6.0000"), "supplier", "user:bruno"),
    ]
    trail = list(
        AuditLog.objects.filter(object_type="purchase_order", object_id="PO-000001")
        .order_by("pk")
        .values_list("action", "actor_label", "data")
    )
    assert [(action, who) for action, who, _ in trail] == [
        ("purchase_order.create", "user:bruno"),
        ("purchase_order.send", "user:bruno"),
        ("purchase_order.receive", "user:bruno"),
        ("purchase_order.receive", "user:bruno"),
    ]
    assert [(d["status"], d["reference"], d["units"]) for _, _, d in trail[2:]] == [
        ("partly_received", "DN-4471", 19),
        ("received", "DN-4502", 9),
    ]
    assert PurchaseOrder.objects.get().status == "received"
    problems, _ = verify_all()
    assert problems == []
