"""The back-office reorder page (staff only, store-scoped, CSRF-protected
button that creates the drafts) and `omni manage reorder_propose`.

The page is reached through tests/inventory/urls_for_tests.py, which adds it
at its final path (/backoffice/inventory/reorder/) until omniretail/urls.py
mounts it."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client

from omniretail.core.access import SYSTEM
from omniretail.core.services import membership_grant
from omniretail.inventory.models import PurchaseOrder, PurchaseOrderLine
from omniretail.inventory.services.purchasing import reorder_rule_set, supplier_create
from tests.conftest import build_shop, stock_up

pytestmark = pytest.mark.django_db

PAGE = "/backoffice/inventory/reorder/"


@pytest.fixture
def page_urls(settings):
    settings.ROOT_URLCONF = "tests.inventory.urls_for_tests"


@pytest.fixture
def lyon(shop):
    return build_shop("-lyon")


@pytest.fixture
def rules(shop, lyon):
    nordic = supplier_create(code="nordic", name="Nordic Home", actor=SYSTEM)
    potter = supplier_create(code="potter", name="Potter & Co", actor=SYSTEM)
    for sku, location, supplier, point, lot, cost in [
        (shop.mug, shop.floor, nordic, 5, 10, "3.10"),
        (shop.candle, shop.warehouse, potter, 1, 6, "7.25"),
        (lyon.mug, lyon.floor, nordic, 2, 4, "3.10"),
        (shop.shirt_m, shop.floor, nordic, 0, 5, "20.00"),  # stocked: not proposed
    ]:
        reorder_rule_set(
            sku=sku,
            location=location,
            supplier=supplier,
            reorder_point=point,
            reorder_quantity=lot,
            unit_cost=Decimal(cost),
            actor=SYSTEM,
        )
    stock_up(shop, {shop.mug: 2, shop.shirt_m: 3})
    return nordic, potter


def _user(username, *, role=None, store=None, superuser=False):
    model = get_user_model()
    if superuser:
        return model.objects.create_superuser(username=username, password="pw")
    user = model.objects.create_user(username=username, password="pw")
    membership_grant(user=user, role=role, store=store)
    return user


# --- the page --------------------------------------------------------------------


def test_the_page_is_for_staff_only(client, page_urls, shop):
    r = client.get(PAGE)
    assert r.status_code == 302
    assert r["Location"].startswith("/admin/login/")
    cashier = _user("carl", role="cashier", store=shop.store)
    client.force_login(cashier)
    assert client.get(PAGE).status_code == 403


def test_an_administrator_sees_every_proposal_and_creates_the_drafts(client, page_urls, rules):
    client.force_login(_user("root", superuser=True))
    r = client.get(PAGE)
    assert r.status_code == 200
    groups = [
        (p.supplier_code, p.location_code, [(ln.sku, ln.quantity) for ln in p.lines])
        for p in r.context["proposals"]
    ]
    assert groups == [
        ("nordic", "st-paris", [("MUG-GR", 10)]),
        ("nordic", "st-paris-lyon", [("MUG-GR-lyon", 4)]),
        ("potter", "wh-main", [("CAN-FIG", 6)]),
    ]
    html = r.content.decode()
    assert "Nordic Home → Paris floor (10 units)" in html
    assert "Potter &amp; Co → Main warehouse (6 units)" in html
    assert 'value="Create draft purchase orders"' in html
    assert "csrfmiddlewaretoken" in html
    assert "OmniRetail back office" in html  # the admin's look
    assert "LS-M" not in html

    r = client.post(PAGE)
    assert r.status_code == 302
    assert r["Location"] == "/admin/inventory/purchaseorder/?status__exact=draft"
    assert list(PurchaseOrder.objects.order_by("number").values_list("number", "status")) == [
        ("PO-000001", "draft"),
        ("PO-000002", "draft"),
        ("PO-000003", "draft"),
    ]
    changelist = client.get(r["Location"])
    assert changelist.status_code == 200
    text = changelist.content.decode()
    assert (
        "Created 3 draft purchase orders: PO-000001, PO-000002, PO-000003. Check them and "
        "send them to the suppliers."
    ) in text

    # Everything is on order now.
    again = client.get(PAGE)
    assert again.context["proposals"] == []
    assert "Nothing to order" in again.content.decode()
    r = client.post(PAGE, follow=True)
    assert [str(m) for m in r.context["messages"]] == [
        "Nothing to order: every SKU is above its reorder point."
    ]
    assert PurchaseOrder.objects.count() == 3


def test_a_store_manager_sees_and_orders_for_their_store_only(client, page_urls, lyon, rules):
    client.force_login(_user("lucie", role="store_manager", store=lyon.store))
    r = client.get(PAGE)
    assert [(p.location_code, p.lines[0].sku) for p in r.context["proposals"]] == [
        ("st-paris-lyon", "MUG-GR-lyon")
    ]
    assert "wh-main" not in r.content.decode()
    assert "Paris floor<" not in r.content.decode()

    r = client.post(PAGE)
    assert r.status_code == 302
    [order] = PurchaseOrder.objects.all()
    assert (order.number, order.location.code, order.created_by) == (
        "PO-000001",
        "st-paris-lyon",
        "user:lucie",
    )
    assert list(PurchaseOrderLine.objects.values_list("sku__sku", "quantity_ordered")) == [
        ("MUG-GR-lyon", 4)
    ]


def test_the_button_needs_the_csrf_token(page_urls, rules):
    client = Client(enforce_csrf_checks=True)
    client.force_login(_user("root", superuser=True))
    assert client.post(PAGE).status_code == 403
    assert PurchaseOrder.objects.count() == 0


# --- the command ------------------------------------------------------------------

TABLE = [
    "supplier  location       sku          on hand  reserved  backordered  on order"
    "  reorder point  proposed  unit cost",
    "nordic    st-paris       MUG-GR             2         0            0         0"
    "              5        10     3.1000",
    "nordic    st-paris-lyon  MUG-GR-lyon        0         0            0         0"
    "              2         4     3.1000",
    "potter    wh-main        CAN-FIG            0         0            0         0"
    "              1         6     7.2500",
]


def _run(*args):
    out = StringIO()
    call_command("reorder_propose", *args, stdout=out)
    return out.getvalue().splitlines()


def test_the_command_prints_the_proposals_on_a_dry_run(rules):
    assert _run("--dry-run") == [
        *TABLE,
        "3 purchase order(s) proposed: 3 line(s), 20 unit(s).",
        "Dry run: nothing created.",
    ]
    assert PurchaseOrder.objects.count() == 0


def test_the_command_creates_the_drafts_for_the_chosen_locations(rules):
    assert _run("--location", "st-paris", "--location", "wh-main") == [
        "supplier  location  sku      on hand  reserved  backordered  on order  reorder point"
        "  proposed  unit cost",
        "nordic    st-paris  MUG-GR         2         0            0         0              5"
        "        10     3.1000",
        "potter    wh-main   CAN-FIG        0         0            0         0              1"
        "         6     7.2500",
        "2 purchase order(s) proposed: 2 line(s), 16 unit(s).",
        "Created 2 draft purchase order(s): PO-000001, PO-000002",
    ]
    assert list(
        PurchaseOrder.objects.order_by("number").values_list("location__code", "status")
    ) == [
        ("st-paris", "draft"),
        ("wh-main", "draft"),
    ]
    assert _run("--location", "st-paris") == [
        "Nothing to order: every SKU is above its reorder point."
    ]
    with pytest.raises(CommandError, match="No location nowhere"):
        _run("--location", "nowhere")


# --- the admin ------------------------------------------------------------------


def test_purchase_orders_are_read_only_in_the_admin_and_sent_by_an_action(client, page_urls, rules):
    from omniretail.inventory.services.purchasing import purchase_orders_propose

    purchase_orders_propose(actor=SYSTEM)
    client.force_login(_user("root", superuser=True))
    order = PurchaseOrder.objects.get(number="PO-000001")
    page = client.get(f"/admin/inventory/purchaseorder/{order.pk}/change/")
    assert page.status_code == 200
    assert "MUG-GR" in page.content.decode()
    assert client.get("/admin/inventory/purchaseorder/add/").status_code == 403

    r = client.post(
        "/admin/inventory/purchaseorder/",
        {"action": "send_selected", "_selected_action": [order.pk]},
        follow=True,
    )
    assert [str(m) for m in r.context["messages"]] == ["Sent: PO-000001."]
    order.refresh_from_db()
    assert order.status == "sent"
    r = client.post(
        "/admin/inventory/purchaseorder/",
        {"action": "send_selected", "_selected_action": [order.pk]},
        follow=True,
    )
    assert [str(m) for m in r.context["messages"]] == [
        "PO-000001 cannot be sent: it is sent to supplier. Only a draft can be sent."
    ]


def test_reorder_rules_saved_in_the_admin_go_through_the_service(client, page_urls, shop, rules):
    from omniretail.core.models import AuditLog
    from omniretail.inventory.models import ReorderRule

    nordic, _ = rules
    client.force_login(_user("root", superuser=True))
    r = client.post(
        "/admin/inventory/reorderrule/add/",
        {
            "sku": shop.shirt_l.pk,
            "location": shop.floor.pk,
            "supplier": nordic.pk,
            "reorder_point": 3,
            "reorder_quantity": 6,
            "unit_cost": "19.50",
        },
    )
    assert r.status_code == 302
    rule = ReorderRule.objects.get(sku=shop.shirt_l)
    assert (rule.reorder_point, rule.reorder_quantity, rule.unit_cost) == (3, 6, Decimal("19.5"))
    audit = AuditLog.objects.filter(action="reorder_rule.set").latest("pk")
    assert (audit.actor_label, audit.data["sku"], audit.data["created"]) == (
        "user:root",
        "LS-L",
        True,
    )
    r = client.post(
        f"/admin/inventory/reorderrule/{rule.pk}/change/",
        {"supplier": nordic.pk, "reorder_point": 4, "reorder_quantity": 6, "unit_cost": ""},
    )
    assert r.status_code == 302
    rule.refresh_from_db()
    assert (rule.reorder_point, rule.unit_cost) == (4, None)
    assert ReorderRule.objects.filter(sku=shop.shirt_l).count() == 1


def test_the_admin_shows_a_store_manager_the_rules_of_their_stores(rf, shop, lyon, rules):
    from django.contrib import admin

    from omniretail.inventory.admin_purchasing import PurchaseOrderAdmin, ReorderRuleAdmin
    from omniretail.inventory.models import ReorderRule
    from omniretail.inventory.services.purchasing import purchase_orders_propose

    purchase_orders_propose(actor=SYSTEM)
    request = rf.get("/admin/inventory/reorderrule/")
    request.user = _user("lucie", role="store_manager", store=lyon.store)
    rule_admin = ReorderRuleAdmin(ReorderRule, admin.site)
    assert [r.sku.sku for r in rule_admin.get_queryset(request)] == ["MUG-GR-lyon"]
    order_admin = PurchaseOrderAdmin(PurchaseOrder, admin.site)
    assert [
        (o.location.code, order_admin.units_ordered(o)) for o in order_admin.get_queryset(request)
    ] == [("st-paris-lyon", 4)]
    request = rf.get("/admin/inventory/reorderrule/")
    request.user = _user("root", superuser=True)
    assert rule_admin.get_queryset(request).count() == 4
    assert order_admin.get_queryset(request).count() == 3
