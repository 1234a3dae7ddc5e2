"""`omni demo`: the Maison Lumière demo retailer, loaded through the real
services, complete and consistent, and unchanged by a second run."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.contrib.auth.models import User

from omniretail.accounting.models import JournalEntry, Receipt
from omniretail.catalog.domain import barcode_normalise
from omniretail.catalog.models import Category, Product, Variant
from omniretail.core.models import (
    ApiKey,
    AuditLog,
    Channel,
    Company,
    NumberSeries,
    OutboxEvent,
    StaffMembership,
    Store,
    Terminal,
)
from omniretail.customers.models import Customer
from omniretail.demo import catalog_candidates, catalog_plan, demo_load
from omniretail.inventory.models import (
    ChannelLocation,
    Location,
    ReorderRule,
    StockLevel,
    StockMove,
)
from omniretail.orders.models import Order
from omniretail.verify import verify_all

SMALL = 12
TOKEN = re.compile(r"omni_[0-9a-f]{12}_\S+")


def _counts() -> dict[str, int]:
    return {
        "companies": Company.objects.count(),
        "stores": Store.objects.count(),
        "channels": Channel.objects.count(),
        "terminals": Terminal.objects.count(),
        "api keys": ApiKey.objects.count(),
        "series": NumberSeries.objects.count(),
        "locations": Location.objects.count(),
        "categories": Category.objects.count(),
        "products": Product.objects.count(),
        "variants": Variant.objects.count(),
        "stock moves": StockMove.objects.count(),
        "stock levels": StockLevel.objects.count(),
        "orders": Order.objects.count(),
        "receipts": Receipt.objects.count(),
        "journal entries": JournalEntry.objects.count(),
        "customers": Customer.objects.count(),
        "users": User.objects.count(),
        "memberships": StaffMembership.objects.count(),
        "audit records": AuditLog.objects.count(),
        "outbox events": OutboxEvent.objects.count(),
    }


def _on_hand(location_code: str) -> tuple[int, int]:
    """(SKUs with stock, units) at a location."""
    levels = StockLevel.objects.filter(location__code=location_code, on_hand__gt=0)
    return levels.count(), sum(levels.values_list("on_hand", flat=True))


# --- The plan (pure) --------------------------------------------------------------


def test_the_full_catalog_has_unique_codes_and_valid_in_store_barcodes():
    plan = catalog_plan(products=len(catalog_candidates()), seed=7)
    skus = [s.spec for p in plan for s in p.skus]
    assert len(plan) == len(catalog_candidates()) >= 200
    assert len({p.code for p in plan}) == len(plan)
    assert len({s.sku for s in skus}) == len(skus)
    assert len({s.barcode for s in skus}) == len(skus)
    for spec in skus:
        assert re.fullmatch(r"[A-Z0-9]+(-[A-Z0-9]+)+", spec.sku), spec.sku
        assert spec.barcode is not None
        assert len(spec.barcode) == 13
        assert spec.barcode[:2] in {f"2{d}" for d in range(10)}
        assert barcode_normalise(spec.barcode) == spec.barcode
        assert spec.price > 0
        assert spec.price % 1 == Decimal("0.90")


def test_the_plan_is_deterministic_and_its_head_does_not_depend_on_its_size():
    assert catalog_plan(products=30, seed=7) == catalog_plan(products=30, seed=7)
    assert catalog_plan(products=SMALL, seed=7) == catalog_plan(products=200, seed=7)[:SMALL]
    assert catalog_plan(products=30, seed=7) != catalog_plan(products=30, seed=8)


def test_two_hundred_products_make_six_hundred_to_twelve_hundred_skus():
    plan = catalog_plan(products=200, seed=7)
    assert len(plan) == 200
    assert 600 <= sum(len(p.skus) for p in plan) <= 1200
    sizes = {s.spec.attributes.get("size") for p in plan for s in p.skus}
    assert {"XS", "S", "M", "L", "XL"} <= sizes


# --- Loading ------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_demo_builds_the_organisation():
    report = demo_load(products=SMALL)

    company = Company.objects.get()
    assert (company.code, company.name, company.currency) == (
        "maison-lumiere",
        "Maison Lumière",
        "EUR",
    )
    assert company.prices_include_tax
    stores = {s.code: s for s in Store.objects.all()}
    assert set(stores) == {"paris", "lyon"}
    channels = {c.code: (c.kind, c.store_id) for c in Channel.objects.all()}
    assert channels == {
        "pos-paris": ("pos", stores["paris"].pk),
        "pos-lyon": ("pos", stores["lyon"].pk),
        "web": ("web", None),
        "phone": ("phone", None),
    }
    terminals = {t.code: t for t in Terminal.objects.select_related("receipt_series", "channel")}
    assert set(terminals) == {"paris-1", "lyon-1"}
    for code, terminal in terminals.items():
        store = code.split("-")[0]
        assert terminal.store == stores[store]
        assert terminal.channel.code == f"pos-{store}"
        assert terminal.receipt_series.code == f"receipt-{code}"
        assert terminal.receipt_series.prefix == f"R-{code.upper()}-"
        keys = ApiKey.objects.filter(terminal=terminal, active=True)
        assert [k.kind for k in keys] == ["terminal"]
    locations = {loc.code: (loc.kind, loc.store_id) for loc in Location.objects.all()}
    assert locations["wh-main"] == ("warehouse", None)
    assert locations["st-paris"] == ("store", stores["paris"].pk)
    assert locations["st-lyon"] == ("store", stores["lyon"].pk)
    assert AuditLog.objects.filter(action="store.create").count() == 2
    assert AuditLog.objects.filter(action="terminal.create").count() == 2

    # The report shows each new till key once, the URLs and the logins.
    text = "\n".join(report)
    assert len(TOKEN.findall(text)) == 2
    assert "http://127.0.0.1:8000/admin/" in text
    assert "http://127.0.0.1:8000/api/docs" in text
    assert re.search(r"cashier\.lyon\s+demo\s+cashier\s+lyon", text)


@pytest.mark.django_db
def test_the_report_uses_the_port_from_the_environment(monkeypatch):
    monkeypatch.setenv("PORT", "8123")
    text = "\n".join(demo_load(products=2))
    assert "http://127.0.0.1:8123/admin/" in text


@pytest.mark.django_db
def test_every_role_has_a_login_with_its_membership_and_group():
    demo_load(products=SMALL)
    paris, lyon = Store.objects.get(code="paris"), Store.objects.get(code="lyon")
    expected = {
        "admin": ("admin", None),
        "manager.paris": ("store_manager", paris),
        "cashier.paris": ("cashier", paris),
        "cashier.lyon": ("cashier", lyon),
        "warehouse": ("warehouse", None),
        "accountant": ("accountant", None),
    }
    for username, (role, store) in expected.items():
        user = User.objects.get(username=username)
        assert user.is_staff
        assert user.is_active
        assert user.check_password("demo")
        assert user.is_superuser == (role == "admin")
        memberships = [(m.role, m.store) for m in user.memberships.all()]
        assert memberships == [(role, store)]
        # Back-office permissions follow the role (RolePermissionBackend).
        if role == "store_manager":
            assert user.has_perm("orders.view_order")
            assert not user.has_perm("orders.change_order")
        if role == "cashier":
            assert user.has_perm("orders.view_orderline")
            assert not user.has_perm("accounting.view_journalentry")


@pytest.mark.django_db
def test_an_existing_user_keeps_their_password():
    User.objects.create_user(username="cashier.lyon", password="not-demo")
    demo_load(products=2)
    user = User.objects.get(username="cashier.lyon")
    assert user.check_password("not-demo")
    assert user.memberships.get().role == "cashier"


@pytest.mark.django_db
def test_the_catalog_has_variants_with_valid_unique_barcodes():
    demo_load(products=SMALL)
    assert Product.objects.count() == SMALL
    variants = list(Variant.objects.select_related("product__tax_class", "product__category"))
    assert SMALL < len(variants) <= SMALL * 15
    barcodes = [v.barcode for v in variants]
    assert None not in barcodes
    assert len(set(barcodes)) == len(barcodes)
    for v in variants:
        assert barcode_normalise(v.barcode) == v.barcode
        assert v.barcode.startswith("2")
        assert len(v.barcode) == 13
        assert v.product.category is not None
        assert v.product.tax_class.code in {"standard", "reduced"}
    assert AuditLog.objects.filter(action="product.create").count() == SMALL


@pytest.mark.django_db
def test_stock_is_spread_over_the_warehouse_and_both_stores():
    demo_load(products=SMALL)
    variants = Variant.objects.count()
    for code in ("wh-main", "st-paris", "st-lyon"):
        skus, units = _on_hand(code)
        assert skus > 0, code
        assert units >= skus, code
    # Paris, the flagship, carries every SKU; every SKU came in through the warehouse.
    assert _on_hand("st-paris")[0] == variants
    received = StockMove.objects.filter(
        reference_type="delivery", to_location__code="wh-main"
    ).values_list("sku_id", flat=True)
    assert len(set(received)) == variants
    assert not StockLevel.objects.filter(location__kind__in=["warehouse", "store"], on_hand__lt=0)


@pytest.mark.django_db
def test_the_demo_sales_are_numbered_and_booked_and_every_promise_holds():
    demo_load(products=SMALL)
    orders = Order.objects.select_related("terminal", "customer")
    assert orders.count() == 4
    assert {o.terminal.code for o in orders} == {"paris-1", "lyon-1"}
    assert sum(o.customer is not None for o in orders) == 2
    numbers = sorted(r.full_number for r in Receipt.objects.all())
    assert numbers == [
        "R-LYON-1-000001",
        "R-LYON-1-000002",
        "R-PARIS-1-000001",
        "R-PARIS-1-000002",
    ]
    sales = JournalEntry.objects.filter(reference_type="order", description__startswith="Sale")
    assert sales.count() == 4
    # The two sales to club members earned points, booked as a liability.
    earned = JournalEntry.objects.filter(description__startswith="Loyalty points earned")
    assert earned.count() == 2
    assert Customer.objects.count() == 8
    assert Customer.objects.exclude(loyalty_card=None).count() == 8
    problems, _ = verify_all()
    assert problems == []


@pytest.mark.django_db
def test_a_second_run_changes_nothing():
    demo_load(products=SMALL)
    before = _counts()
    series = dict(NumberSeries.objects.values_list("code", "next_number"))
    levels = dict(StockLevel.objects.values_list("pk", "on_hand"))

    report = demo_load(products=SMALL)

    assert _counts() == before
    assert dict(NumberSeries.objects.values_list("code", "next_number")) == series
    assert dict(StockLevel.objects.values_list("pk", "on_hand")) == levels
    text = "\n".join(report)
    assert TOKEN.search(text) is None  # keys are shown once, when issued
    assert "(replayed)" in text
    assert verify_all()[0] == []


@pytest.mark.django_db
def test_a_bigger_second_run_adds_only_the_new_products_and_their_stock():
    demo_load(products=SMALL)
    last_move = StockMove.objects.order_by("-pk").values_list("pk", flat=True).first()
    first_skus = set(Variant.objects.values_list("pk", flat=True))

    demo_load(products=SMALL + 8)

    assert Product.objects.count() == SMALL + 8
    new_skus = set(Variant.objects.values_list("pk", flat=True)) - first_skus
    assert new_skus
    # The first SKUs were not stocked again; the new ones were.
    later = StockMove.objects.filter(pk__gt=last_move)
    assert set(later.values_list("sku_id", flat=True)) == new_skus
    assert set(
        StockMove.objects.filter(reference_type="delivery").values_list("sku_id", flat=True)
    ) == (first_skus | new_skus)
    assert Order.objects.count() == 4
    assert verify_all()[0] == []


@pytest.mark.django_db
def test_a_negative_product_count_is_refused():
    with pytest.raises(ValueError, match="products must be 0 or more"):
        demo_load(products=-1)
    assert Company.objects.count() == 0


@pytest.mark.django_db
def test_the_full_demo_loads_two_hundred_products():
    # The default `omni demo`; about 2 s on SQLite (not a timed test: see bench/).
    demo_load()

    assert Product.objects.count() == 200 + 1  # and the gift-set kit
    assert 600 <= Variant.objects.count() <= 1200
    kit = Variant.objects.get(sku="GIFT-COSY")
    assert sorted(kit.components.values_list("quantity", flat=True)) == [1, 2]
    assert ReorderRule.objects.filter(location__code="wh-main").count() == 72
    assert Product.objects.filter(stock_policy="preorder", expected_date__isnull=False).count() == 2
    assert Product.objects.filter(stock_policy="backorder").count() == 3
    assert ChannelLocation.objects.filter(channel__code="web").count() == 3
    assert _on_hand("st-lyon")[0] > 0
    assert Order.objects.count() == 4
    assert verify_all()[0] == []
