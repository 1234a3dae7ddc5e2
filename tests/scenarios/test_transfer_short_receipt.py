"""Replenishing a store from the warehouse, with a carton short.

The warehouse ships 10 shirts to Paris; the store finds 7 in the delivery,
waits a day for the rest, then closes the transfer and writes the 3 missing
shirts off. Stock stays visible in transit, conserved, and every step is
in the audit log with who and why."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from omniretail.core.access import actor_for_user
from omniretail.core.errors import PermissionDenied
from omniretail.core.models import AuditLog
from omniretail.core.services import membership_grant, store_create
from omniretail.inventory.models import Location, StockLevel, StockMove
from omniretail.inventory.services import StockLine, location_transit
from omniretail.inventory.services.transfers import (
    transfer_create,
    transfer_receive,
    transfer_ship,
)
from omniretail.verify import verify_all
from tests.conftest import stock_up

pytestmark = pytest.mark.django_db


def _staff(username, role, store=None):
    user = get_user_model().objects.create_user(username=username, password="pw")
    membership_grant(user=user, role=role, store=store)
    return actor_for_user(user)


def _levels(variant) -> dict[str, int]:
    return dict(
        StockLevel.objects.filter(sku=variant, on_hand__gt=0)
        .order_by("location__code")
        .values_list("location__code", "on_hand")
    )


def _ledger(variant) -> dict[str, int]:
    """Net units per location from the moves alone."""
    net: dict[str, int] = defaultdict(int)
    for move in StockMove.objects.filter(sku=variant).select_related(
        "from_location", "to_location"
    ):
        net[move.from_location.code] -= move.quantity
        net[move.to_location.code] += move.quantity
    return {code: qty for code, qty in sorted(net.items()) if qty}


def test_a_transfer_with_a_short_receipt(shop):
    walter = _staff("walter", "warehouse")  # the warehouse team works for every store
    paula = _staff("paula", "store_manager", shop.store)
    lyon = store_create(company=shop.company, code="lyon", name="Lyon")
    leo = _staff("leo", "store_manager", lyon)
    transit = location_transit()

    # Monday 07:00 — the supplier's delivery lands in the warehouse at 10.00 a shirt.
    stock_up(shop, {shop.shirt_m: 25}, location=shop.warehouse)

    # 08:00 — Walter drafts and ships 10 shirts to Paris.
    transfer = transfer_create(
        from_location=shop.warehouse,
        to_location=shop.floor,
        lines=[StockLine(shop.shirt_m.pk, 6), StockLine(shop.shirt_m.pk, 4)],
        actor=walter,
        note="weekly replenishment",
    )
    assert (transfer.number, transfer.status) == ("TR-000001", "draft")
    transfer = transfer_ship(transfer=transfer, actor=walter)
    assert transfer.status == "shipped"
    # On the road the shirts are neither in the warehouse nor in the store, but visible.
    assert _levels(shop.shirt_m) == {"transit": 10, "wh-main": 15}

    # Tuesday 09:30 — the van arrives. Lyon's manager cannot book Paris's delivery.
    with pytest.raises(PermissionDenied) as denied:
        transfer_receive(transfer=transfer, received={shop.shirt_m.pk: 7}, actor=leo)
    assert denied.value.http_status == 403
    # Paula finds 7 shirts in the carton and books them.
    transfer = transfer_receive(transfer=transfer, received={shop.shirt_m.pk: 7}, actor=paula)
    assert transfer.status == "partly_received"
    assert _levels(shop.shirt_m) == {"st-paris": 7, "transit": 3, "wh-main": 15}

    # Wednesday 18:00 — the rest never turns up: Paula closes the transfer.
    transfer = transfer_receive(
        transfer=transfer,
        received={},
        actor=paula,
        close=True,
        note="carton arrived open, 3 shirts missing; carrier claim 4471",
    )
    assert transfer.status == "received"
    assert transfer.closed_at is not None
    line = transfer.lines.get()
    assert (line.quantity, line.quantity_received, line.quantity_lost) == (10, 7, 3)
    assert line.discrepancy_note == "carton arrived open, 3 shirts missing; carrier claim 4471"

    # Stock: the warehouse kept 15, the store has 7, nothing is left on the road,
    # and the 3 lost shirts went to the adjustment location at their average cost.
    assert _levels(shop.shirt_m) == {"st-paris": 7, "wh-main": 15}
    assert StockLevel.objects.get(sku=shop.shirt_m, location=transit).on_hand == 0
    assert _ledger(shop.shirt_m) == {
        "st-paris": 7,
        "virtual-adjustment": 3,
        "virtual-supplier": -25,
        "wh-main": 15,
    }
    write_off = StockMove.objects.get(sku=shop.shirt_m, to_location__kind="adjustment")
    assert (
        write_off.from_location,
        write_off.quantity,
        write_off.unit_cost,
        write_off.reference_type,
        write_off.reference_id,
        write_off.actor_label,
    ) == (transit, 3, Decimal("10.0000"), "transfer", "TR-000001", "user:paula")
    by_step = [
        (m.from_location.code, m.to_location.code, m.quantity, m.actor_label)
        for m in StockMove.objects.filter(reference_id="TR-000001")
        .select_related("from_location", "to_location")
        .order_by("pk")
    ]
    assert by_step == [
        ("wh-main", "transit", 10, "user:walter"),
        ("transit", "st-paris", 7, "user:paula"),
        ("transit", "virtual-adjustment", 3, "user:paula"),
    ]

    # Audit: who did what, and why the shirts were written off.
    trail = [
        (a.action, a.actor_label, a.reason, a.data)
        for a in AuditLog.objects.filter(object_type="transfer", object_id="TR-000001").order_by(
            "pk"
        )
    ]
    why = "carton arrived open, 3 shirts missing; carrier claim 4471"
    assert trail == [
        (
            "transfer.create",
            "user:walter",
            "weekly replenishment",
            {"from": "wh-main", "to": "st-paris", "lines": 1, "units": 10},
        ),
        ("transfer.ship", "user:walter", "", {"units": 10, "lines": 1}),
        (
            "transfer.receive",
            "user:paula",
            "",
            {"received": {"LS-M": 7}, "status": "partly_received"},
        ),
        ("transfer.receive", "user:paula", why, {"received": {}, "status": "received"}),
        ("transfer.discrepancy", "user:paula", why, {"lost": {"LS-M": 3}, "units": 3}),
    ]
    assert AuditLog.objects.get(action="transfer.discrepancy").actor_user_id == paula.user_id

    # And the promises hold.
    assert Location.objects.filter(code="virtual-adjustment", kind="adjustment").exists()
    problems, _ = verify_all()
    assert problems == []
