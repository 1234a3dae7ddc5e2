"""The campaign report: per campaign and channel, exact figures from a day
built through the real services (see conftest.py for the arithmetic), store
scoping, the page with its date form and CSV download, and the API."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from omniretail.channels.pos.services import SaleLine
from omniretail.core.access import SYSTEM, Actor, actor_for_user
from omniretail.core.errors import PermissionDenied, ValidationFailed
from omniretail.orders.models import Order
from omniretail.reporting.selectors import CampaignReport, campaign_report
from tests.reporting.conftest import pos_sell, user

pytestmark = pytest.mark.django_db

PAGE = "/backoffice/reports/campaigns/"
CSV = "/backoffice/reports/campaigns.csv"
API = "/api/v1/reports/campaigns"
D = Decimal


def _today() -> dt.date:
    return timezone.localdate()


def _report(actor: Actor, **kw) -> CampaignReport:
    today = _today()
    return campaign_report(
        actor=actor, date_from=kw.pop("date_from", today), date_to=kw.pop("date_to", today), **kw
    )


def _figures(f) -> tuple:
    return (
        f.orders,
        f.revenue_net,
        f.revenue_gross,
        f.discount,
        f.promotion_discount,
        f.other_discount,
        f.average_order_gross,
        f.average_order_net,
        f.coupon_redemptions,
        f.via_source_code,
        f.via_promotion,
    )


def _table(report: CampaignReport) -> dict[tuple[str, str], tuple]:
    return {
        (c.code, row.channel_code): _figures(row.figures)
        for c in report.campaigns
        for row in c.channels
    }


def test_every_campaign_and_channel_with_exact_figures(day):
    report = _report(SYSTEM)
    assert [c.code for c in report.campaigns] == ["autumn", "summer", ""]
    assert [c.name for c in report.campaigns] == ["Autumn candles", "Summer sale", "No campaign"]
    # orders, net, gross, discount, of which promotions, staff, AOV gross, AOV net,
    # coupons, via source code, via promotion
    assert _table(report) == {
        ("autumn", "pos-paris"): (
            1,
            D("15.36"),
            D("16.20"),
            D("1.80"),
            D("1.80"),
            D("0.00"),
            D("16.20"),
            D("15.36"),
            0,
            0,
            1,
        ),
        ("summer", "pos-paris"): (
            3,
            D("28.51"),
            D("34.20"),
            D("15.80"),
            D("14.80"),
            D("1.00"),
            D("11.40"),
            D("9.50"),
            1,
            0,
            3,
        ),
        ("summer", "pos-paris-lyon"): (
            1,
            D("8.33"),
            D("10.00"),
            D("2.50"),
            D("2.50"),
            D("0.00"),
            D("10.00"),
            D("8.33"),
            0,
            0,
            1,
        ),
        ("summer", "web"): (
            1,
            D("49.91"),
            D("59.90"),
            D("2.50"),
            D("2.50"),
            D("0.00"),
            D("59.90"),
            D("49.91"),
            0,
            1,
            0,
        ),
        ("", "market"): (
            1,
            D("17.06"),
            D("18.00"),
            D("0.00"),
            D("0.00"),
            D("0.00"),
            D("18.00"),
            D("17.06"),
            0,
            0,
            0,
        ),
        ("", "pos-paris"): (
            1,
            D("41.58"),
            D("49.90"),
            D("0.00"),
            D("0.00"),
            D("0.00"),
            D("49.90"),
            D("41.58"),
            0,
            0,
            0,
        ),
    }
    summer = report.campaigns[1]
    # 104.10 / 5 = 20.82; the cancelled W2 counts nowhere.
    assert _figures(summer.total) == (
        5,
        D("86.75"),
        D("104.10"),
        D("20.80"),
        D("19.80"),
        D("1.00"),
        D("20.82"),
        D("17.35"),
        1,
        1,
        4,
    )
    assert [(p.code, p.name, p.orders, p.amount) for p in summer.promotions] == [
        ("mugs-20", "Mugs 20% off", 5, D("14.80")),
        ("welcome-5", "Welcome 5 off", 1, D("5.00")),
    ]
    paris_summer = summer.channels[0]
    assert [(p.code, p.orders, p.amount) for p in paris_summer.promotions] == [
        ("mugs-20", 3, D("9.80")),
        ("welcome-5", 1, D("5.00")),
    ]
    assert report.cancelled_orders == 1


def test_the_date_range_is_local_days_both_included(day):
    earlier = pos_sell(day.paris, [SaleLine(1, sku="MUG-GR")], "10.00")
    three_days_ago = timezone.make_aware(
        dt.datetime.combine(_today() - dt.timedelta(days=3), dt.time(23, 59))
    )
    Order.objects.filter(pk=earlier.pk).update(placed_at=three_days_ago)
    today_only = _table(_report(SYSTEM))
    assert today_only[("summer", "pos-paris")][:3] == (3, D("28.51"), D("34.20"))
    wider = _table(_report(SYSTEM, date_from=_today() - dt.timedelta(days=3)))
    assert wider[("summer", "pos-paris")][:4] == (4, D("36.84"), D("44.20"), D("18.30"))
    only_then = _report(
        SYSTEM,
        date_from=_today() - dt.timedelta(days=3),
        date_to=_today() - dt.timedelta(days=3),
    )
    assert _table(only_then) == {
        ("summer", "pos-paris"): (
            1,
            D("8.33"),
            D("10.00"),
            D("2.50"),
            D("2.50"),
            D("0.00"),
            D("10.00"),
            D("8.33"),
            0,
            0,
            1,
        )
    }
    assert only_then.cancelled_orders == 0


def test_one_campaign_only(day):
    report = _report(SYSTEM, campaign_code="autumn")
    assert [c.code for c in report.campaigns] == ["autumn"]
    assert report.cancelled_orders == 0


def test_a_store_manager_sees_only_the_orders_of_their_stores(day):
    manager = user("mona", role="store_manager", store=day.paris.store)
    report = _report(actor_for_user(manager))
    # Paris: its till and the marketplace order picked up there; not Lyon, not the web.
    assert _table(report) == {
        ("autumn", "pos-paris"): (
            1,
            D("15.36"),
            D("16.20"),
            D("1.80"),
            D("1.80"),
            D("0.00"),
            D("16.20"),
            D("15.36"),
            0,
            0,
            1,
        ),
        ("summer", "pos-paris"): (
            3,
            D("28.51"),
            D("34.20"),
            D("15.80"),
            D("14.80"),
            D("1.00"),
            D("11.40"),
            D("9.50"),
            1,
            0,
            3,
        ),
        ("", "market"): (
            1,
            D("17.06"),
            D("18.00"),
            D("0.00"),
            D("0.00"),
            D("0.00"),
            D("18.00"),
            D("17.06"),
            0,
            0,
            0,
        ),
        ("", "pos-paris"): (
            1,
            D("41.58"),
            D("49.90"),
            D("0.00"),
            D("0.00"),
            D("0.00"),
            D("49.90"),
            D("41.58"),
            0,
            0,
            0,
        ),
    }
    assert report.cancelled_orders == 0  # the cancelled web order belongs to no store


def test_accountants_see_every_store_and_cashiers_nothing(day):
    accountant = user("claire", role="accountant")
    assert _table(_report(actor_for_user(accountant))) == _table(_report(SYSTEM))
    cashier = user("carl", role="cashier", store=day.paris.store)
    with pytest.raises(PermissionDenied) as refused:
        _report(actor_for_user(cashier))
    assert "store manager" in refused.value.message


def test_a_reversed_range_names_the_to_field(day):
    with pytest.raises(ValidationFailed) as bad:
        _report(SYSTEM, date_from=_today(), date_to=_today() - dt.timedelta(days=1))
    assert bad.value.field == "to"
    assert "swap them" in bad.value.message


def test_the_query_count_does_not_grow_with_the_orders(day):
    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            _report(SYSTEM)
        return len(ctx.captured_queries)

    before = count()
    for _ in range(4):
        pos_sell(day.paris, [SaleLine(1, sku="MUG-GR")], "10.00", coupon_codes=["WELCOME5"])
    assert count() == before
    assert _table(_report(SYSTEM))[("summer", "pos-paris")][:3] == (7, D("45.19"), D("54.20"))


# --- the page, the CSV and the API ---------------------------------------------------


def test_the_page_shows_the_report_for_a_store_manager(client, day):
    client.force_login(user("mona", role="store_manager", store=day.paris.store))
    today = _today().isoformat()
    r = client.get(PAGE, {"from": today, "to": today})
    assert r.status_code == 200
    html = r.content.decode()
    assert "Summer sale" in html
    assert "Autumn candles" in html
    assert 'data-channel="pos-paris-lyon"' not in html
    assert 'data-channel="web"' not in html
    assert f'href="{CSV}?from={today}&amp;to={today}"' in html


def test_the_page_defaults_to_this_month(client, day):
    client.force_login(user("root", superuser=True))
    r = client.get(PAGE)
    assert r.status_code == 200
    report = r.context["report"]
    assert (report.date_from, report.date_to) == (_today().replace(day=1), _today())


def test_a_bad_date_is_refused_with_a_message_naming_the_field(client, day):
    client.force_login(user("root", superuser=True))
    r = client.get(PAGE, {"from": "2025-13-01", "to": "2025-01-31"})
    assert r.status_code == 422
    assert r.context["report"] is None
    assert r.context["errors"] == [
        "From: '2025-13-01' is not a date; enter it as YYYY-MM-DD (for example 2025-03-31)."
    ]
    r = client.get(PAGE, {"from": "2025-02-01", "to": "2025-01-31"})
    assert r.status_code == 422
    assert r.context["errors"] == ["To: the end date is before the start date; swap them."]
    r = client.get(PAGE, {"from": "2025-01-01", "to": "2025-01-31", "campaign": "nope"})
    assert r.status_code == 422
    assert r.context["errors"] == ["Campaign: not a known campaign code; pick one from the list."]
    r = client.get(CSV, {"from": "yesterday", "to": "2025-01-31"})
    assert r.status_code == 422
    assert r.content.decode().startswith("From: 'yesterday' is not a date")


def test_the_csv_download(client, day):
    client.force_login(user("claire", role="accountant"))
    today = _today().isoformat()
    r = client.get(CSV, {"from": today, "to": today, "campaign": "summer"})
    assert r.status_code == 200
    assert r["Content-Disposition"] == (
        f'attachment; filename="campaigns_{today}_{today}_summer.csv"'
    )
    text = b"".join(r.streaming_content).decode()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:6] == [
        "campaign_code",
        "campaign_name",
        "channel_code",
        "channel_name",
        "currency",
        "orders",
    ]
    body = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    assert [
        (
            b["channel_code"],
            b["orders"],
            b["revenue_gross"],
            b["discount_total"],
            b["coupon_redemptions"],
            b["via_source_code"],
            b["promotions"],
        )
        for b in body
    ] == [
        ("pos-paris", "3", "34.20", "15.80", "1", "0", "mugs-20=9.80 (3); welcome-5=5.00 (1)"),
        ("pos-paris-lyon", "1", "10.00", "2.50", "0", "0", "mugs-20=2.50 (1)"),
        ("web", "1", "59.90", "2.50", "0", "1", "mugs-20=2.50 (1)"),
    ]
    assert {b["other_discount"] for b in body} == {"1.00", "0.00"}


def test_pages_need_a_reports_role(client, day):
    assert client.get(PAGE).status_code == 302  # to the login page
    client.force_login(user("carl", role="cashier", store=day.paris.store))
    assert client.get(PAGE).status_code == 403
    assert client.get(CSV).status_code == 403
    client.force_login(user("wendy", role="warehouse", store=None))
    assert client.get(PAGE).status_code == 403


def test_the_api_gives_the_same_figures(client, day):
    today = _today().isoformat()
    client.force_login(user("mona", role="store_manager", store=day.paris.store))
    r = client.get(API, {"from": today, "to": today})
    assert r.status_code == 200, r.content
    body = r.json()
    assert (body["from"], body["to"], body["cancelled_orders"]) == (today, today, 0)
    assert [c["code"] for c in body["campaigns"]] == ["autumn", "summer", ""]
    summer = body["campaigns"][1]
    assert summer["total"] == {
        "orders": 3,
        "revenue_net": "28.51",
        "revenue_gross": "34.20",
        "discount_total": "15.80",
        "promotion_discount": "14.80",
        "other_discount": "1.00",
        "average_order_gross": "11.40",
        "average_order_net": "9.50",
        "coupon_redemptions": 1,
        "via_source_code": 0,
        "via_promotion": 3,
    }
    assert summer["promotions"] == [
        {"code": "mugs-20", "name": "Mugs 20% off", "orders": 3, "amount": "9.80"},
        {"code": "welcome-5", "name": "Welcome 5 off", "orders": 1, "amount": "5.00"},
    ]
    assert [row["channel"] for row in summer["channels"]] == ["pos-paris"]


def test_the_api_refuses_bad_input_and_other_roles(client, day):
    assert client.get(API, {"from": "2025-01-01", "to": "2025-01-31"}).status_code == 401
    client.force_login(user("root", superuser=True))
    r = client.get(API, {"from": "2025-02-30", "to": "2025-03-01"})
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "from"
    r = client.get(API, {"from": "2025-03-02", "to": "2025-03-01"})
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "to"
    client.force_login(user("carl", role="cashier", store=day.paris.store))
    r = client.get(API, {"from": "2025-01-01", "to": "2025-01-31"})
    assert r.status_code == 403
