"""The back office in a real browser: an admin follows a till sale into the
orders and the receipt, a store manager sees only their store, and the API
docs render from local assets."""

from __future__ import annotations

import re
import uuid

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from omniretail.core.services import membership_grant
from tests.conftest import Shop, build_shop, stock_up

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "counter-top-42"


def ring_up(page: Page, shop: Shop, lines: list[dict], cash: str) -> dict:
    """A sale from the shop's till, over HTTP, exactly as the POS sends it."""
    response = page.request.post(
        "/api/v1/pos/sales",
        data={
            "client_uuid": str(uuid.uuid4()),
            "lines": lines,
            "tenders": [{"type": "cash", "amount": cash}],
        },
        headers={"Authorization": f"Bearer {shop.terminal_token}"},
    )
    assert response.status == 201, response.text()
    return response.json()


def sign_in(page: Page, username: str) -> None:
    page.goto("/admin/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#user-tools")).to_contain_text(username)


def column(page: Page, field: str) -> list[str]:
    """The cells of one changelist column, top to bottom (the first is a <th>)."""
    cells = page.locator(f"#result_list tbody .field-{field}")
    return [text.strip() for text in cells.all_inner_texts()]


def test_admin_follows_a_till_sale_to_its_receipt(page: Page, offsite_requests: list[str]):
    shop = build_shop()
    stock_up(shop, {shop.shirt_m: 5, shop.mug: 10})
    User.objects.create_superuser("boss", "boss@acme.test", PASSWORD)
    sale = ring_up(
        page,
        shop,
        [{"barcode": shop.shirt_m.barcode, "quantity": 1}, {"sku": "MUG-GR", "quantity": 2}],
        "80.00",
    )
    assert sale["receipt_number"] == "R-PT1-000001"

    sign_in(page, "boss")
    page.locator("tr.model-order th a").click()
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    assert column(page, "channel") == ["POS Paris"]
    assert column(page, "store") == ["Paris Marais"]
    assert column(page, "total_gross") == ["74.90"]

    # The order shows its lines and its cash payment, read-only.
    page.get_by_role("link", name=f"Order #{sale['order_id']} (pos-paris)").click()
    expect(page.locator("h1")).to_have_text("View order")
    expect(page.locator("#lines-group")).to_contain_text("Stoneware Mug Grey")
    expect(page.locator("#payments-group")).to_contain_text("Cash")
    expect(page.locator("input[name='_save']")).to_have_count(0)

    page.goto("/admin/accounting/receipt/")
    page.get_by_role("link", name="R-PT1-000001").click()
    expect(page.locator("h1")).to_have_text("View receipt")
    expect(page.locator(".field-full_number")).to_contain_text("R-PT1-000001")
    expect(page.locator(".field-total_gross")).to_contain_text("74.90")
    # A posted fiscal document cannot be changed or deleted, not even by a superuser.
    expect(page.get_by_role("link", name="Delete")).to_have_count(0)
    expect(page.get_by_role("button", name=re.compile("Save"))).to_have_count(0)
    expect(page.locator("input[type='submit']")).to_have_count(0)
    assert offsite_requests == []


def test_store_manager_sees_only_their_store(page: Page, offsite_requests: list[str]):
    paris, lyon = build_shop(), build_shop("b")
    stock_up(paris, {paris.shirt_m: 5, paris.mug: 3})
    stock_up(paris, {paris.candle: 20}, location=paris.warehouse)
    stock_up(lyon, {lyon.shirt_m: 4})
    ring_up(page, paris, [{"sku": "MUG-GR", "quantity": 1}], "20")
    lyon_sale = ring_up(page, lyon, [{"sku": "LS-Mb", "quantity": 1}], "50")

    manager = User.objects.create_user("anna", password=PASSWORD)
    membership_grant(user=manager, role="store_manager", store=paris.store)
    sign_in(page, "anna")

    page.goto("/admin/orders/order/")
    assert column(page, "store") == ["Paris Marais"]
    assert column(page, "channel") == ["POS Paris"]

    page.goto("/admin/inventory/stocklevel/")
    assert set(column(page, "location")) == {"Paris floor"}
    skus = [cell.split(" ")[0] for cell in column(page, "sku")]
    assert sorted(skus) == ["LS-M", "MUG-GR"]

    # Another store's order is not there, even by its address.
    page.goto(f"/admin/orders/order/{lyon_sale['order_id']}/change/")
    expect(page.locator(".messagelist")).to_contain_text("doesn’t exist")
    assert offsite_requests == []


def test_api_docs_render_from_local_assets(page: Page, offsite_requests: list[str]):
    # Ninja serves its bundled Swagger UI only with "ninja" in INSTALLED_APPS;
    # without it the page pulls the UI from a CDN, which the guard refuses.
    page.goto("/api/docs")
    expect(page).to_have_url(re.compile(r"/api/v1/docs$"))
    assert offsite_requests == []
    expect(
        page.locator(".opblock-summary-path", has_text="/api/v1/pos/sales").first
    ).to_be_visible()
