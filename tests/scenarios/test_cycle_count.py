"""A cycle count on the Paris floor.

The manager opens a count of everything on the floor; a customer buys a mug
while the team counts; the counters find fewer mugs, one candle more, a
scarf nobody expected, and skip the large shirts. Posting books the
differences against the stock on hand at that moment, leaves the uncounted
shirts alone, and logs who adjusted what and why."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from omniretail.catalog.services import VariantSpec, product_create
from omniretail.core.access import actor_for_user
from omniretail.core.errors import PermissionDenied
from omniretail.core.models import AuditLog
from omniretail.core.services import membership_grant, store_create
from omniretail.inventory.models import StockLevel, StockMove
from omniretail.inventory.services.counts import count_open, count_post, count_record
from omniretail.verify import verify_all
from tests.conftest import stock_up

pytestmark = pytest.mark.django_db


def _staff(username, role, store):
    user = get_user_model().objects.create_user(username=username, password="pw")
    membership_grant(user=user, role=role, store=store)
    return actor_for_user(user)


def _floor(shop) -> dict[str, int]:
    return dict(
        StockLevel.objects.filter(location=shop.floor)
        .order_by("sku__sku")
        .values_list("sku__sku", "on_hand")
    )


def test_a_cycle_count_of_the_store_floor(client, shop):
    paula = _staff("paula", "store_manager", shop.store)
    lyon = store_create(company=shop.company, code="lyon", name="Lyon")
    leo = _staff("leo", "store_manager", lyon)
    scarf = product_create(
        code="scarf",
        name="Silk Scarf",
        tax_class=shop.standard,
        variants=[VariantSpec("SCARF-RED", "Red", Decimal("35.00"))],
    ).variants.get()

    # Stock on the floor from last week's deliveries.
    stock_up(shop, {shop.mug: 10, shop.candle: 5, shop.shirt_m: 3, shop.shirt_l: 2})
    assert _floor(shop) == {"CAN-FIG": 5, "LS-L": 2, "LS-M": 3, "MUG-GR": 10}

    # 08:00 — Paula opens a count of the whole floor; Lyon's manager may not.
    with pytest.raises(PermissionDenied):
        count_open(location=shop.floor, actor=leo)
    count = count_open(location=shop.floor, actor=paula, reason="quarterly cycle count")
    assert count.number == "CNT-000001"
    assert sorted(count.lines.values_list("sku__sku", "expected")) == [
        ("CAN-FIG", 5),
        ("LS-L", 2),
        ("LS-M", 3),
        ("MUG-GR", 10),
    ]

    # 09:05 — a customer buys a mug at the till while the team counts.
    r = client.post(
        "/api/v1/pos/sales",
        {
            "client_uuid": str(uuid.uuid4()),
            "lines": [{"sku": "MUG-GR", "quantity": 1}],
            "tenders": [{"type": "cash", "amount": "20.00"}],
        },
        content_type="application/json",
        headers={"Authorization": f"Bearer {shop.terminal_token}"},
    )
    assert r.status_code == 201, r.content

    # 09:30 — the counters' sheets: 8 mugs, 6 candles, 3 medium shirts, and a red
    # scarf nobody expected on this floor. Nobody got to the large shirts.
    count_record(
        count=count,
        counted={shop.mug.pk: 8, shop.candle.pk: 6, shop.shirt_m.pk: 3, scarf.pk: 1},
        actor=paula,
    )
    with pytest.raises(PermissionDenied):
        count_post(count=count, actor=leo, reason="not my store")

    # 10:00 — Paula posts: differences against the stock on hand now (9 mugs after the sale).
    posted = count_post(count=count, actor=paula, reason="")
    assert [(d.sku, d.expected, d.counted, d.difference) for d in posted.differences] == [
        ("CAN-FIG", 5, 6, 1),
        ("LS-M", 3, 3, 0),
        ("MUG-GR", 9, 8, -1),
        ("SCARF-RED", 0, 1, 1),
    ]
    assert (posted.units_added, posted.units_removed) == (2, 1)
    assert posted.uncounted == ["LS-L"]
    assert posted.count.status == "posted"

    # Stock: adjusted up and down; the uncounted large shirts are untouched.
    assert _floor(shop) == {"CAN-FIG": 6, "LS-L": 2, "LS-M": 3, "MUG-GR": 8, "SCARF-RED": 1}
    adjustments = sorted(
        (m.sku.sku, m.from_location.code, m.to_location.code, m.quantity, m.actor_label)
        for m in StockMove.objects.filter(reference_type="count", reference_id="CNT-000001")
    )
    assert adjustments == [
        ("CAN-FIG", "virtual-adjustment", "st-paris", 1, "user:paula"),
        ("MUG-GR", "st-paris", "virtual-adjustment", 1, "user:paula"),
        ("SCARF-RED", "virtual-adjustment", "st-paris", 1, "user:paula"),
    ]
    assert not StockMove.objects.filter(reference_type="count", sku=shop.shirt_l).exists()

    # Audit: one record says who adjusted what and why (the count's own reason).
    audit = AuditLog.objects.get(action="count.post", object_id="CNT-000001")
    assert (audit.actor_label, audit.actor_user_id, audit.store_id, audit.reason) == (
        "user:paula",
        paula.user_id,
        shop.store.pk,
        "quarterly cycle count",
    )
    assert audit.data == {
        "location": "st-paris",
        "differences": [
            {"sku": "CAN-FIG", "expected": 5, "counted": 6, "difference": 1},
            {"sku": "MUG-GR", "expected": 9, "counted": 8, "difference": -1},
            {"sku": "SCARF-RED", "expected": 0, "counted": 1, "difference": 1},
        ],
        "units_added": 2,
        "units_removed": 1,
        "uncounted": ["LS-L"],
    }
    assert list(
        AuditLog.objects.filter(object_type="stock_count").order_by("pk").values_list("action")
    ) == [("count.open",), ("count.record",), ("count.post",)]

    # And the promises hold.
    problems, _ = verify_all()
    assert problems == []
