"""The dashboard: every tile with exact values, for an administrator and for
a Paris store manager, and a query count that does not grow with the orders.

The day of conftest.py, plus: a Lyon till sale of 10 mugs with 9 on the
shelf (stock below zero: flagged), two more marketplace orders (a pick-up in
Paris made ready, one shipped from the Paris floor), reorder rules, and the
Lyon drawer closed 5.00 short. The orders are then placed on fixed dates
around 2030-06-15 so "today" and "this month" are the test's, not the clock's.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from omniretail.channels.intake import IntakeCustomer, IntakeLine, IntakeOrder, order_intake
from omniretail.channels.pos.services import SaleLine
from omniretail.core.access import SYSTEM, actor_for_user
from omniretail.fulfilment.shipping import pickup_ready, shipments_create
from omniretail.inventory.models import ReorderRule, Supplier
from omniretail.orders.models import Order
from omniretail.payments.drawers import drawer_close
from omniretail.payments.models import DrawerSession
from omniretail.reporting.selectors_dashboard import Dashboard, dashboard
from tests.reporting.conftest import Day, pos_sell, user

pytestmark = pytest.mark.django_db

D = Decimal
TODAY = dt.date(2030, 6, 15)
PAGE = "/backoffice/reports/"


def _at(day: dt.date, hour: int) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def _market(day: Day, external_id: str, *, pickup: bool) -> Order:
    return order_intake(
        channel=day.marketplace,
        data=IntakeOrder(
            external_id=external_id,
            lines=[IntakeLine(1, sku="CAN-FIG", unit_price=D("18.00"))],
            customer=IntakeCustomer(email="lea@example.com", first_name="Léa"),
            fulfilment="pickup" if pickup else "ship",
            pickup_store=day.paris.store.code if pickup else None,
            shipping_address={}
            if pickup
            else {
                "name": "Léa Martin",
                "line1": "5 rue de la Paix",
                "postcode": "75002",
                "city": "Paris",
                "country": "FR",
            },
            payment_status="paid",
        ),
        actor=SYSTEM,
    ).order


@pytest.fixture
def busy(day: Day) -> Day:
    orders = day.orders
    orders["L2"] = pos_sell(day.lyon, [SaleLine(10, sku="MUG-GR-lyon")], "100.00")
    orders["M2"] = _market(day, "M2", pickup=True)
    orders["M3"] = _market(day, "M3", pickup=False)
    [bag] = shipments_create(order=orders["M2"], actor=SYSTEM)
    pickup_ready(shipment=bag, actor=SYSTEM)
    supplier = Supplier.objects.create(code="potter", name="The Potter")
    for sku, location, point in (
        (day.paris.mug, day.paris.floor, 25),
        (day.paris.candle, day.paris.floor, 2),
        (day.lyon.mug, day.lyon.floor, 3),
    ):
        ReorderRule.objects.create(
            sku=sku, location=location, supplier=supplier, reorder_point=point, reorder_quantity=12
        )
    lyon_drawer = DrawerSession.objects.get(store=day.lyon.store, status="open")
    # 100.00 float + 10.00 + 100.00 cash = 210.00 expected; 205.00 counted.
    drawer_close(session=lyon_drawer, counted={"100": 2, "5": 1}, actor=SYSTEM)
    DrawerSession.objects.filter(pk=lyon_drawer.pk).update(closed_at=_at(TODAY, 18))
    Order.objects.update(placed_at=_at(TODAY, 10))
    Order.objects.filter(pk=orders["P5"].pk).update(placed_at=_at(dt.date(2030, 6, 2), 9))
    Order.objects.filter(pk=orders["P4"].pk).update(placed_at=_at(dt.date(2030, 5, 31), 9))
    return day


def _sales(lines) -> dict[str, tuple]:
    return {
        line.code: (line.today_orders, line.today_gross, line.month_orders, line.month_gross)
        for line in lines
    }


def test_the_administrator_sees_every_tile(busy: Day):
    board = dashboard(actor=SYSTEM, today=TODAY)
    assert board.all_stores
    # Today: P1-P3 34.20, L1+L2 110.00, W1 59.90, M1-M3 54.00; P5 49.90 earlier this
    # month; P4 last month; W2 cancelled.
    assert _sales(board.sales.by_channel) == {
        "market": (3, D("54.00"), 3, D("54.00")),
        "pos-paris": (3, D("34.20"), 4, D("84.10")),
        "pos-paris-lyon": (2, D("110.00"), 2, D("110.00")),
        "web": (1, D("59.90"), 1, D("59.90")),
    }
    assert _sales(board.sales.by_store) == {
        "paris": (5, D("70.20"), 6, D("120.10")),
        "paris-lyon": (2, D("110.00"), 2, D("110.00")),
        "": (2, D("77.90"), 2, D("77.90")),  # W1 and M3: online, no store
    }
    assert [line.code for line in board.sales.by_store] == ["paris", "paris-lyon", ""]
    total = board.sales.total
    assert (total.today_orders, total.today_gross, total.month_orders, total.month_gross) == (
        9,
        D("258.10"),
        10,
        D("308.00"),
    )
    # Net: 28.51 (P1-P3) + 8.33 + 83.33 (Lyon) + 49.91 (W1) + 3 x 17.06; + 41.58 (P5).
    assert (total.today_net, total.month_net) == (D("221.26"), D("262.84"))

    w = board.waiting
    assert (
        w.awaiting_payment,
        w.to_allocate,
        w.to_ship,
        w.pickup_to_prepare,
        w.ready_for_pickup,
        w.on_hold,
    ) == (1, 0, 1, 1, 1, 0)

    # Paris mugs: 20 - 4 sold = 16 (point 25); Lyon mugs: 10 - 11 = -1 (point 3);
    # Paris candles 19 on hand - 3 held = 16, above 2.
    assert board.stock_alerts.count == 2
    assert [
        (a.sku, a.location_code, a.available, a.reorder_point) for a in board.stock_alerts.alerts
    ] == [("MUG-GR", "st-paris", 16, 25), ("MUG-GR-lyon", "st-paris-lyon", -1, 3)]

    assert board.review.count == 1
    [flagged] = board.review.sales
    assert flagged.order_id == busy.orders["L2"].pk
    assert flagged.total_gross == D("100.00")
    assert any("stock below zero" in f for f in flagged.flags)

    assert [(d.store, d.float_amount) for d in board.drawers.open] == [
        ("Paris Marais", D("100.00"))
    ]
    assert [(d.store, d.over_short) for d in board.drawers.closed_today] == [
        ("Paris Marais-lyon", D("-5.00"))
    ]
    assert board.drawers.over_short_today == D("-5.00")

    assert [(p.sku, p.units, p.revenue_gross) for p in board.top_products] == [
        ("MUG-GR-lyon", 11, D("110.00")),
        ("LS-M", 2, D("99.80")),
        ("CAN-FIG", 3, D("54.00")),
        ("MUG-GR", 5, D("44.20")),
    ]
    # 10.00 a unit: Paris 16 mugs + 19 candles + 9 shirts; Lyon below zero counts 0;
    # the warehouse 10 mugs + 10 shirts.
    assert [(v.code, v.value) for v in board.stock_value] == [
        ("st-paris", D("440.00")),
        ("st-paris-lyon", D("0.00")),
        ("wh-main", D("200.00")),
    ]


def test_a_store_manager_sees_their_store_only(busy: Day):
    manager = user("mona", role="store_manager", store=busy.paris.store)
    board = dashboard(actor=actor_for_user(manager), today=TODAY)
    assert not board.all_stores
    assert _sales(board.sales.by_channel) == {
        "market": (2, D("36.00"), 2, D("36.00")),
        "pos-paris": (3, D("34.20"), 4, D("84.10")),
    }
    assert _sales(board.sales.by_store) == {"paris": (5, D("70.20"), 6, D("120.10"))}
    w = board.waiting
    assert (w.awaiting_payment, w.to_ship, w.pickup_to_prepare, w.ready_for_pickup) == (
        0,
        0,
        1,
        1,
    )
    assert [a.sku for a in board.stock_alerts.alerts] == ["MUG-GR"]
    assert board.review.count == 0
    assert [d.store for d in board.drawers.open] == ["Paris Marais"]
    assert board.drawers.closed_today == ()
    assert board.drawers.over_short_today == D("0.00")
    assert [(p.sku, p.units, p.revenue_gross) for p in board.top_products] == [
        ("LS-M", 1, D("49.90")),
        ("CAN-FIG", 2, D("36.00")),
        ("MUG-GR", 4, D("34.20")),
    ]
    assert [(v.code, v.value) for v in board.stock_value] == [("st-paris", D("440.00"))]


def test_booked_this_month_reads_the_journal(day: Day):
    """Till sales are booked at once (receipt); the marketplace pick-up is not
    booked before the goods leave, so the journal shows the tills only."""
    board = dashboard(actor=SYSTEM)
    # Paris till net: 16.67 + 4.17 + 7.67 + 15.36 + 41.58; Lyon 8.33.
    assert {c.channel_code: c.total.net_sales for c in board.booked.channels} == {
        "pos-paris": D("85.45"),
        "pos-paris-lyon": D("8.33"),
    }
    assert board.booked.total.net_sales == D("93.78")
    assert board.booked.total.cogs == D("70.00")


def test_the_page_for_a_store_manager(client, busy: Day):
    client.force_login(user("mona", role="store_manager", store=busy.paris.store))
    r = client.get(PAGE)
    assert r.status_code == 200
    board: Dashboard = r.context["board"]
    assert board.today == timezone.localdate()
    html = r.content.decode()
    assert 'id="tile-sales"' in html
    assert 'id="tile-drawers"' in html
    assert "your stores only" in html
    assert 'data-store="paris-lyon"' not in html


def test_the_page_needs_a_reports_role(client, day: Day):
    assert client.get(PAGE).status_code == 302
    client.force_login(user("carl", role="cashier", store=day.paris.store))
    assert client.get(PAGE).status_code == 403


def test_the_query_count_does_not_grow_with_the_orders(client, day: Day):
    client.force_login(user("root", superuser=True))

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(PAGE).status_code == 200
        return len(ctx.captured_queries)

    before = queries()
    for _ in range(5):
        pos_sell(day.paris, [SaleLine(1, sku="MUG-GR"), SaleLine(1, sku="CAN-FIG")], "30.00")
        pos_sell(day.lyon, [SaleLine(1, sku="MUG-GR-lyon")], "10.00")
    _market(day, "M9", pickup=True)
    after = queries()
    assert after == before
    assert before <= 20
