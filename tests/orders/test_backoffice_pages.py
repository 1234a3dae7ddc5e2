"""The back-office order pages: the list (filters, counts, store scoping, a
constant number of queries), one order with its timeline and the staff verbs,
and the phone-order form with its customer look-up.

The pages are reached through tests/orders/urls_for_tests.py, which mounts
them at their final path (/backoffice/orders/) until omniretail/urls.py does."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from omniretail.channels.intake import IntakeCustomer, IntakeLine, IntakeOrder, order_intake
from omniretail.core.access import SYSTEM
from omniretail.core.models import Channel
from omniretail.core.services import channel_create, membership_grant
from omniretail.customers.models import Customer
from omniretail.fulfilment.models import Shipment
from omniretail.inventory.models import ChannelLocation, Reservation, StockLevel
from omniretail.orders import models as orders_models
from omniretail.orders.models import Order, OrderActivity
from tests.conftest import build_shop, stock_up

pytestmark = pytest.mark.django_db

LIST = "/backoffice/orders/"
NEW = "/backoffice/orders/new/"
SEARCH = "/backoffice/orders/customers/"
ADDRESS = {
    "name": "Léa Martin",
    "line1": "5 rue de la Paix",
    "postcode": "75002",
    "city": "Paris",
    "country": "FR",
}


@pytest.fixture(autouse=True)
def page_urls(settings):
    settings.ROOT_URLCONF = "tests.orders.urls_for_tests"


@pytest.fixture
def lyon(shop):
    return build_shop("-lyon")


@pytest.fixture
def stocked(shop, lyon):
    stock_up(shop, {shop.mug: 20, shop.candle: 20, shop.shirt_m: 5}, location=shop.warehouse)
    stock_up(shop, {shop.mug: 10, shop.candle: 10})
    stock_up(lyon, {lyon.mug: 10})
    return shop


def _user(username, *, role=None, store=None, superuser=False):
    model = get_user_model()
    if superuser:
        return model.objects.create_superuser(username=username, password="pw")
    user = model.objects.create_user(username=username, password="pw")
    membership_grant(user=user, role=role, store=store)
    return user


def _book(channel, external_id, lines, *, pickup=None, paid=True, email="lea@example.com"):
    return order_intake(
        channel=channel,
        data=IntakeOrder(
            external_id=external_id,
            lines=[IntakeLine(qty, sku=sku) for sku, qty in lines],
            customer=IntakeCustomer(email=email, first_name="Léa", last_name="Martin"),
            fulfilment="pickup" if pickup else "ship",
            pickup_store=pickup.code if pickup else None,
            shipping_address={} if pickup else ADDRESS,
            shipping_price=Decimal(0) if pickup else Decimal("4.90"),
            payment_status="paid" if paid else "unpaid",
        ),
        actor=SYSTEM,
    ).order


@pytest.fixture
def orders(stocked, lyon, web):
    """A paid pick-up in Paris, an unpaid pick-up in Lyon and a paid web order
    shipped from the warehouse (an online order: no store)."""
    return {
        "paris": _book(web, "W-PARIS", [("MUG-GR", 2)], pickup=stocked.store),
        "lyon": _book(web, "W-LYON", [("MUG-GR-lyon", 1)], pickup=lyon.store, paid=False),
        "online": _book(web, "W-ONLINE", [("CAN-FIG", 1), ("MUG-GR", 1)], email="bob@example.com"),
    }


def _numbers(response) -> list[int]:
    return [order.pk for order in response.context["page_obj"]]


def _text(response) -> str:
    return response.content.decode()


# --- who may look ----------------------------------------------------------------


def test_the_pages_are_for_staff_with_an_orders_role(client, shop):
    r = client.get(LIST)
    assert r.status_code == 302
    assert r["Location"].startswith("/admin/login/")
    client.force_login(_user("wendy", role="warehouse", store=shop.store))
    assert client.get(LIST).status_code == 403
    assert client.get(NEW).status_code == 403
    assert client.get(SEARCH, {"q": "lea"}).status_code == 403


def test_a_paris_manager_sees_only_paris_orders(client, orders, shop):
    client.force_login(_user("anna", role="store_manager", store=shop.store))
    r = client.get(LIST)
    assert r.status_code == 200
    assert _numbers(r) == [orders["paris"].pk]
    assert "W-LYON" not in _text(r)
    assert "W-ONLINE" not in _text(r)
    # The store filter offers only her store.
    assert [s.code for s in r.context["form"].fields["store"].queryset] == ["paris"]
    # Another store's order, or an online one, is not there even by its address.
    assert client.get(f"{LIST}{orders['lyon'].pk}/").status_code == 404
    assert client.get(f"{LIST}{orders['online'].pk}/").status_code == 404
    assert client.post(f"{LIST}{orders['lyon'].pk}/hold/", {"reason": "x"}).status_code == 404
    assert Order.objects.get(pk=orders["lyon"].pk).status == "pending_payment"
    assert client.get(f"{LIST}{orders['paris'].pk}/").status_code == 200


def test_an_administrator_sees_every_order_newest_first(client, orders):
    client.force_login(_user("root", superuser=True))
    r = client.get(LIST)
    assert _numbers(r) == [orders["online"].pk, orders["lyon"].pk, orders["paris"].pk]
    html = _text(r)
    assert "OmniRetail back office" in html  # the admin's look
    assert "All (3)" in html
    assert "Allocated (2)" in html
    assert "Pending payment (1)" in html
    assert "online" in html  # the online order's store column


# --- the list's filters ------------------------------------------------------------


def test_the_list_filters_by_status_channel_store_fulfilment_and_dates(client, orders, lyon):
    client.force_login(_user("root", superuser=True))
    paris, lyon_order, online = orders["paris"], orders["lyon"], orders["online"]
    assert _numbers(client.get(LIST, {"status": "allocated"})) == [online.pk, paris.pk]
    assert _numbers(client.get(LIST, {"status": "pending_payment"})) == [lyon_order.pk]
    assert _numbers(client.get(LIST, {"store": lyon.store.pk})) == [lyon_order.pk]
    assert _numbers(client.get(LIST, {"fulfilment": "ship"})) == [online.pk]
    assert _numbers(client.get(LIST, {"fulfilment": "pickup", "status": "allocated"})) == [paris.pk]
    assert _numbers(client.get(LIST, {"channel": paris.channel_id})) == [
        online.pk,
        lyon_order.pk,
        paris.pk,
    ]
    pos = Channel.objects.get(code="pos-paris")
    assert _numbers(client.get(LIST, {"channel": pos.pk})) == []

    # Dates are the local day the order was placed.
    today = timezone.localdate()
    last_week = timezone.make_aware(
        dt.datetime.combine(today - dt.timedelta(days=7), dt.time(23, 30))
    )
    Order.objects.filter(pk=paris.pk).update(placed_at=last_week)
    week_ago = (today - dt.timedelta(days=7)).isoformat()
    assert _numbers(client.get(LIST, {"placed_from": today.isoformat()})) == [
        online.pk,
        lyon_order.pk,
    ]
    assert _numbers(client.get(LIST, {"placed_to": week_ago})) == [paris.pk]
    assert _numbers(client.get(LIST, {"placed_from": week_ago, "placed_to": week_ago})) == [
        paris.pk
    ]

    # Counts per status follow the other filters.
    r = client.get(LIST, {"fulfilment": "pickup"})
    assert r.context["status_counts"] == [
        ("pending_payment", "Pending payment", 1),
        ("allocated", "Allocated", 1),
    ]
    # A reversed range is named and left out; the valid filters still apply.
    r = client.get(LIST, {"placed_from": today.isoformat(), "placed_to": week_ago, "store": ""})
    assert "The end date is before the start date; swap them." in _text(r)
    assert _numbers(r) == [online.pk, lyon_order.pk]


def test_the_list_pages_by_fifty_in_a_constant_number_of_queries(client, shop, web):
    client.force_login(_user("root", superuser=True))
    now = timezone.now()

    def add(start: int, count: int) -> None:
        customers = Customer.objects.bulk_create(
            [Customer(first_name=f"C{i}", email=f"c{i}@example.com") for i in range(start, count)]
        )
        Order.objects.bulk_create(
            [
                Order(
                    channel=web if i % 2 else shop.pos_channel,
                    external_id=f"B-{i}",
                    store=None if i % 2 else shop.store,
                    customer=customer,
                    status="confirmed",
                    currency="EUR",
                    total_net=Decimal("10.00"),
                    total_tax=Decimal("2.00"),
                    total_gross=Decimal("12.00"),
                    placed_at=now - dt.timedelta(minutes=i),
                    created_by="test",
                )
                for i, customer in zip(range(start, count), customers, strict=True)
            ]
        )

    add(0, 3)
    client.get(LIST)  # warm the session and content types
    with CaptureQueriesContext(connection) as few:
        r = client.get(LIST)
    assert len(_numbers(r)) == 3
    add(3, 60)
    with CaptureQueriesContext(connection) as many:
        r = client.get(LIST)
    assert len(few) == len(many)
    page_one = _numbers(r)
    assert len(page_one) == 50
    assert "60 orders" in _text(r)
    assert "page 1 of 2" in _text(r)
    r = client.get(LIST, {"page": 2, "status": "confirmed"})
    assert len(_numbers(r)) == 10
    assert set(_numbers(r)).isdisjoint(page_one)
    assert "status=confirmed" in _text(r)  # the pages keep the filters


# --- one order -----------------------------------------------------------------------


def test_the_order_page_shows_lines_totals_customer_and_a_timeline(client, orders, shop):
    order = orders["online"]
    Shipment.objects.create(
        number="SH-000042",
        order=order,
        location=shop.warehouse,
        kind="ship",
        status="shipped",
        carrier="Colissimo",
        tracking_number="6A123456789",
    )
    client.force_login(_user("root", superuser=True))
    r = client.get(f"{LIST}{order.pk}/")
    assert r.status_code == 200
    rows = [
        (ln.sku, ln.ordered, ln.held, ln.backordered, ln.fulfilled, ln.returned)
        for ln in r.context["lines"]
    ]
    assert rows == [("CAN-FIG", 1, 1, 0, 0, 0), ("MUG-GR", 1, 1, 0, 0, 0)]
    html = _text(r)
    assert "35.40 EUR" in html  # 18.00 + 12.50 + 4.90 shipping
    assert "bob@example.com" in html
    assert "5 rue de la Paix" in html
    assert "Colissimo" in html
    assert "6A123456789" in html
    timeline = [(e.kind, e.text) for e in r.context["timeline"]]
    assert [kind for kind, _ in timeline] == ["status", "routing", "status", "shipment"]
    assert timeline[0][1] == "placed on Web shop as confirmed"
    assert timeline[2][1] == "confirmed → allocated: stock held (single_location)"
    assert timeline[3][1] == "shipment SH-000042 from wh-main: shipped — Colissimo 6A123456789"
    routing = r.context["timeline"][1]
    assert routing.rule == "single_location"
    assert [(p["location"], p["sku"], p["quantity"]) for p in routing.plan] == [
        ("wh-main", "MUG-GR", 1),
        ("wh-main", "CAN-FIG", 1),
    ]
    assert "1 × CAN-FIG from wh-main" in html
    assert "order.placed" not in html

    # The outbox events of the order, on request.
    r = client.get(f"{LIST}{order.pk}/", {"events": "1"})
    events = [e.text for e in r.context["timeline"] if e.kind == "event"]
    # (delivery runs after commit, which the test's transaction never reaches)
    assert events == [
        "order.placed — pending (0 attempts)",
        "order.status_changed — pending (0 attempts)",
    ]


def test_a_return_shows_on_the_timeline_once_returns_exist(client, orders, shop):
    returns = getattr(orders_models, "Return", None)
    if returns is None:
        pytest.skip("orders.Return is not there yet")
    order = orders["paris"]
    returns.objects.create(
        number="RET-000007",
        order=order,
        channel=shop.pos_channel,
        store=shop.store,
        location=shop.floor,
        refund_method="store_credit",
        currency="EUR",
        refund_amount=Decimal("12.50"),
        reason="chipped",
        created_by="user:carl",
    )
    client.force_login(_user("root", superuser=True))
    r = client.get(f"{LIST}{order.pk}/")
    entry = r.context["timeline"][-1]
    assert (entry.kind, entry.actor) == ("return", "user:carl")
    assert entry.text == (
        "return RET-000007: accepted (refund requested) — 12.50 EUR, store credit (chipped)"
    )


def test_hold_release_and_cancel_change_the_order_and_show_refusals(client, orders, shop):
    order = orders["paris"]
    page = f"{LIST}{order.pk}/"
    client.force_login(_user("anna", role="store_manager", store=shop.store))
    html = _text(client.get(page))
    assert 'value="Put on hold"' in html
    assert 'value="Cancel order"' in html
    assert "Release hold" not in html

    r = client.post(f"{page}hold/", {"reason": "  "}, follow=True)
    assert "Say why the order is put on hold." in _text(r)
    assert Order.objects.get(pk=order.pk).status == "allocated"

    r = client.post(f"{page}hold/", {"reason": "address to check"}, follow=True)
    assert r.redirect_chain == [(page, 302)]
    assert f"Order #{order.pk} is on hold." in _text(r)
    held = Order.objects.get(pk=order.pk)
    assert (held.status, held.hold_reason, held.held_from) == (
        "on_hold",
        "address to check",
        "allocated",
    )
    last = OrderActivity.objects.filter(order=order).last()
    assert (last.message, last.actor_label) == (
        "allocated → on hold: address to check",
        "user:anna",
    )
    assert "allocated → on hold: address to check" in _text(r)
    assert 'value="Release hold"' in _text(r)

    r = client.post(f"{page}release/", {"reason": ""}, follow=True)
    assert Order.objects.get(pk=order.pk).status == "allocated"
    assert "on hold → allocated: hold released" in _text(r)

    r = client.post(f"{page}cancel/", {"reason": "customer changed their mind"}, follow=True)
    assert f"Order #{order.pk} is cancelled." in _text(r)
    assert Order.objects.get(pk=order.pk).status == "cancelled"
    assert not Reservation.objects.filter(status="active").filter(
        demand_id__in=[str(pk) for pk in order.lines.values_list("pk", flat=True)]
    )
    assert StockLevel.objects.get(sku=shop.mug, location=shop.floor).reserved == 0

    # A refused verb says why and changes nothing.
    before = OrderActivity.objects.filter(order=order).count()
    r = client.post(f"{page}hold/", {"reason": "too late"}, follow=True)
    assert f"Order #{order.pk} is cancelled; it cannot become on hold." in _text(r)
    assert Order.objects.get(pk=order.pk).status == "cancelled"
    assert OrderActivity.objects.filter(order=order).count() == before
    assert client.get(f"{page}hold/").status_code == 405


def test_an_accountant_reads_orders_but_cannot_act_on_them(client, orders):
    order = orders["online"]
    client.force_login(_user("alice", role="accountant", store=None))
    r = client.get(f"{LIST}{order.pk}/")
    assert r.status_code == 200
    assert "Put on hold" not in _text(r)
    r = client.post(f"{LIST}{order.pk}/cancel/", {"reason": "no"}, follow=True)
    assert "may not orders.write" in _text(r)
    assert Order.objects.get(pk=order.pk).status == "allocated"


def test_the_forms_carry_a_csrf_token(orders, shop):
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(_user("anna", role="store_manager", store=shop.store))
    page = f"{LIST}{orders['paris'].pk}/"
    html = _text(csrf_client.get(page))
    for form in ("hold-form", "cancel-form"):
        assert re.search(f'id="{form}">\\s*<input type="hidden" name="csrfmiddlewaretoken"', html)
    assert csrf_client.post(f"{page}hold/", {"reason": "x"}).status_code == 403
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    r = csrf_client.post(f"{page}hold/", {"reason": "x", "csrfmiddlewaretoken": token})
    assert r.status_code == 302
    assert Order.objects.get(pk=orders["paris"].pk).status == "on_hold"


# --- phone orders ------------------------------------------------------------------------


@pytest.fixture
def phone(shop):
    channel = channel_create(company=shop.company, code="phone", name="Phone", kind="phone")
    ChannelLocation.objects.create(channel=channel, location=shop.warehouse, priority=1)
    return channel


def _phone_form(client, **fields):
    html = _text(client.get(NEW))
    external_id = re.search(r'name="external_id" value="(PHONE-[0-9a-f]{10})"', html).group(1)
    body = {
        "external_id": external_id,
        "email": "lea.martin@example.com",
        "first_name": "Léa",
        "last_name": "Martin",
        "phone": "+33 6 12 34 56 78",
        "line_code": ["MUG-GR", "", ""],
        "line_quantity": ["2", "", ""],
        "fulfilment": "ship",
        **ADDRESS,
        "line2": "",
        "shipping_price": "4.90",
        "pickup_store": "",
    }
    body.update(fields)
    return body


def test_without_a_phone_channel_the_page_says_how_to_add_one(client, shop):
    client.force_login(_user("root", superuser=True))
    r = client.get(NEW)
    assert r.status_code == 200
    html = _text(r)
    assert "There is no channel with the code “phone” yet" in html
    assert 'href="/admin/core/channel/add/"' in html
    assert '<form method="post" class="phone-order' not in html


def test_the_customer_look_up_finds_by_email_name_or_phone(client, shop):
    Customer.objects.create(
        first_name="Léa", last_name="Martin", email="lea.martin@example.com", phone="0612345678"
    )
    Customer.objects.create(first_name="Bob", last_name="Marley", email="bob@example.com")
    client.force_login(_user("anna", role="store_manager", store=shop.store))
    for query in ("lea.martin@", "martin", "léa mart", "061234"):
        html = _text(client.get(SEARCH, {"q": query}))
        assert 'data-email="lea.martin@example.com"' in html, query
        assert "bob@example.com" not in html, query
    html = _text(client.get(SEARCH, {"q": "mar"}))
    assert html.count("data-email=") == 2
    assert "No customer matches “zzz”" in _text(client.get(SEARCH, {"q": "zzz"}))
    assert "at least 2 characters" in _text(client.get(SEARCH, {"q": "m"}))


def test_a_phone_order_is_booked_once_for_a_known_customer(client, stocked, phone):
    lea = Customer.objects.create(
        first_name="Léa", last_name="Martin", email="lea.martin@example.com", phone="0612345678"
    )
    client.force_login(_user("root", superuser=True))
    html = _text(client.get(NEW))
    assert 'data-url="/backoffice/orders/customers/"' in html
    assert not re.search(r'(src|href)="(https?:)?//', html)  # no off-site assets
    body = _phone_form(
        client,
        email="LEA.MARTIN@example.com",
        line_code=["MUG-GR", stocked.candle.barcode, ""],
        line_quantity=["2", "", ""],
    )
    r = client.post(NEW, body)
    order = Order.objects.get(channel=phone)
    assert r.status_code == 302
    assert r["Location"] == f"{LIST}{order.pk}/"
    assert re.fullmatch(r"PHONE-[0-9a-f]{10}", order.external_id)
    assert order.external_id == body["external_id"]
    assert (order.status, order.payment_status, order.fulfilment_method) == (
        "pending_payment",
        "unpaid",
        "ship",
    )
    assert order.customer_id == lea.pk
    assert order.created_by == "user:root"
    assert [(ln.sku.sku, ln.quantity) for ln in order.lines.order_by("line_no")] == [
        ("MUG-GR", 2),
        ("CAN-FIG", 1),  # by barcode, quantity 1 by default
    ]
    assert order.total_gross == Decimal("47.90")  # 2 x 12.50 + 18.00 + 4.90
    assert order.shipping_address["city"] == "Paris"
    assert "Phone order #" in _text(client.get(r["Location"]))

    # The same form sent again (a double click) is the same order.
    r = client.post(NEW, body, follow=True)
    assert Order.objects.filter(channel=phone).count() == 1
    assert f"This form was already booked as order #{order.pk}." in _text(r)


def test_a_phone_pick_up_by_a_store_manager_opens_the_order(client, stocked, phone):
    client.force_login(_user("anna", role="store_manager", store=stocked.store))
    body = _phone_form(client, fulfilment="pickup", pickup_store="paris")
    r = client.post(NEW, body)
    order = Order.objects.get(channel=phone)
    assert (order.store_id, order.pickup_store_id) == (stocked.store.pk, stocked.store.pk)
    assert r["Location"] == f"{LIST}{order.pk}/"
    assert order.shipping_gross == 0
    # A shipped order belongs to no store: she books it but only head office sees it.
    r = client.post(NEW, _phone_form(client), follow=True)
    shipped = Order.objects.filter(channel=phone).exclude(pk=order.pk).get()
    assert r.redirect_chain == [(LIST, 302)]
    assert f"Phone order #{shipped.pk} booked, unpaid." in _text(r)


def test_phone_order_errors_are_shown_next_to_their_fields(client, stocked, phone):
    client.force_login(_user("root", superuser=True))
    body = _phone_form(
        client,
        email="not-an-email",
        city="",
        country="France",
        line_code=["NOPE", "MUG-GR", "CAN-FIG"],
        line_quantity=["1", "two", "0"],
    )
    r = client.post(NEW, body)
    assert r.status_code == 422
    # The quantity that does not parse is caught before intake is asked.
    rows = r.context["form"].rows
    assert rows[1].errors == ["Enter the quantity as a whole number."]
    assert Order.objects.count() == 0  # nothing booked

    body["line_quantity"] = ["1", "2", "0"]
    r = client.post(NEW, body)
    assert r.status_code == 422
    form = r.context["form"]
    assert [row.errors for row in form.rows] == [
        ["unknown sku 'NOPE'; check the code"],
        None,
        ["must be a whole number above 0 (got 0)"],
    ]
    assert form.errors["email"] == ["'not-an-email' is not an e-mail address"]
    assert form.errors["city"] == ["required to ship the order"]
    assert form.errors["country"] == ["use the two-letter ISO code, e.g. FR"]
    html = _text(r)
    assert "unknown sku &#x27;NOPE&#x27;; check the code" in html
    assert 'value="France"' in html  # what was typed is kept
    assert f'value="{body["external_id"]}"' in html
    assert Order.objects.count() == 0

    # More than the channel can give: the row of that SKU says so.
    body.update(
        email="lea@example.com",
        city="Paris",
        country="FR",
        line_code=["MUG-GR", "CAN-FIG", ""],
        line_quantity=["1", "50", ""],
    )
    r = client.post(NEW, body)
    assert r.status_code == 422
    form = r.context["form"]
    assert form.rows[0].errors is None
    assert form.rows[1].errors == [
        "30 unit(s) more than this channel can supply right now; lower the quantity or "
        "remove the line."
    ]
    assert form.errors["general"][0].startswith("CAN-FIG: 30 unit(s) more")
    assert Order.objects.count() == 0
    assert StockLevel.objects.get(sku=stocked.candle, location=stocked.warehouse).reserved == 0


def test_a_phone_order_needs_an_email_and_a_line(client, stocked, phone):
    client.force_login(_user("root", superuser=True))
    body = _phone_form(client, email="", line_code=["", "", ""], line_quantity=["", "", ""])
    r = client.post(NEW, body)
    assert r.status_code == 422
    assert r.context["form"].errors == {
        "email": ["Ask for an e-mail address: the order confirmation goes there."],
        "lines": ["Add at least one line: a SKU or barcode and a quantity."],
    }
    assert Order.objects.count() == 0
