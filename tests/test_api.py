"""The JSON API around the first flow: catalog look-up, locations, stock
levels and receiving — errors that name the field, idempotent writes, scopes."""

from __future__ import annotations

import pytest

from omniretail.core.apikeys import api_key_issue
from omniretail.core.services import channel_create
from omniretail.inventory.models import ChannelLocation, StockLevel, StockMove

pytestmark = pytest.mark.django_db


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _receive(client, token, body, key=None):
    headers = _auth(token)
    if key:
        headers["Idempotency-Key"] = key
    return client.post(
        "/api/v1/inventory/deliveries", body, content_type="application/json", headers=headers
    )


@pytest.fixture
def stock_key(shop) -> str:
    return api_key_issue(
        name="warehouse scanner", channel=shop.pos_channel, scopes=["stock:write", "stock:read"]
    ).token


def test_openapi_lists_the_first_flow(client):
    spec = client.get("/api/v1/openapi.json").json()
    assert {"/api/v1/pos/sales", "/api/v1/inventory/deliveries", "/api/v1/catalog/variants"} <= set(
        spec["paths"]
    )
    assert client.get("/api/docs").status_code == 302


def test_scanner_lookup_by_barcode_and_unknown_code(client, shop):
    r = client.get(
        f"/api/v1/catalog/variants/{shop.mug.barcode}", headers=_auth(shop.terminal_token)
    )
    assert r.status_code == 200
    assert (r.json()["sku"], r.json()["price"], r.json()["tax_rate"]) == (
        "MUG-GR",
        "12.50",
        "0.2000",
    )
    r = client.get("/api/v1/catalog/variants/0000000000000", headers=_auth(shop.terminal_token))
    assert r.status_code == 404
    assert r.json()["error"]["field"] == "code"


def test_no_key_is_401_and_a_wrong_key_too(client, shop):
    assert client.get("/api/v1/catalog/variants").status_code == 401
    r = client.get("/api/v1/catalog/variants", headers=_auth("omni_abc_def"))
    assert r.status_code == 401
    assert "Bearer" in r.json()["error"]["message"]


def test_receive_is_idempotent_with_a_key(client, shop, stock_key):
    body = {
        "location": "st-paris",
        "reference": "DN-1",
        "lines": [{"sku": "MUG-GR", "quantity": 6}],
    }
    first = _receive(client, stock_key, body, key="rcv-1")
    again = _receive(client, stock_key, body, key="rcv-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["units"] == again.json()["units"] == 6
    assert again.json()["replayed"] is True
    assert StockLevel.objects.get(sku=shop.mug, location=shop.floor).on_hand == 6
    other = dict(body, reference="DN-2")
    r = _receive(client, stock_key, other, key="rcv-1")
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "idempotency_key_reused"


def test_receive_with_a_bad_row_changes_nothing(client, shop, stock_key):
    body = {
        "location": "st-paris",
        "lines": [{"sku": "MUG-GR", "quantity": 6}, {"sku": "NOPE", "quantity": 1}],
    }
    r = _receive(client, stock_key, body)
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "lines[1].sku"
    r = _receive(
        client, stock_key, {"location": "st-paris", "lines": [{"sku": "MUG-GR", "quantity": 0}]}
    )
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "lines[0].quantity"
    assert StockMove.objects.count() == 0


def test_a_till_key_may_not_receive_stock(client, shop):
    body = {"location": "st-paris", "lines": [{"sku": "MUG-GR", "quantity": 1}]}
    r = _receive(client, shop.terminal_token, body)
    assert r.status_code == 403
    assert "stock.receive" in r.json()["error"]["message"]
    assert StockMove.objects.count() == 0


def test_levels_of_a_location(client, shop, stock_key):
    _receive(client, stock_key, {"location": "st-paris", "lines": [{"sku": "LS-M", "quantity": 3}]})
    r = client.get("/api/v1/inventory/levels?location=st-paris", headers=_auth(stock_key))
    assert r.status_code == 200
    assert r.json() == [
        {"sku": "LS-M", "location": "st-paris", "on_hand": 3, "reserved": 0, "available": 3}
    ]
    r = client.get("/api/v1/inventory/levels?location=nowhere", headers=_auth(stock_key))
    assert (r.status_code, r.json()["error"]["field"]) == (404, "location")


def test_reserve_over_http_and_see_availability(client, shop, stock_key):
    web = channel_create(company=shop.company, code="web", name="Web", kind="web")
    ChannelLocation.objects.create(channel=web, location=shop.floor, priority=1, safety_buffer=1)
    _receive(
        client, stock_key, {"location": "st-paris", "lines": [{"sku": "MUG-GR", "quantity": 4}]}
    )
    key = api_key_issue(name="web shop", channel=web, scopes=["stock:reserve", "stock:read"]).token
    r = client.get(
        "/api/v1/inventory/availability?channel=web&sku=MUG-GR&sku=LS-M", headers=_auth(key)
    )
    assert r.json() == [
        {"sku": "MUG-GR", "channel": "web", "available": 3},
        {"sku": "LS-M", "channel": "web", "available": 0},
    ]
    body = {
        "demand_type": "cart",
        "demand_id": "cart-77",
        "channel": "web",
        "expires_in_minutes": 30,
        "lines": [{"sku": "MUG-GR", "quantity": 2}],
    }
    r = client.post(
        "/api/v1/inventory/reservations",
        body,
        content_type="application/json",
        headers={**_auth(key), "Idempotency-Key": "cart-77-1"},
    )
    assert r.status_code == 201, r.content
    [hold] = r.json()
    assert (hold["sku"], hold["location"], hold["quantity"], hold["status"]) == (
        "MUG-GR",
        "st-paris",
        2,
        "active",
    )
    again = client.post(
        "/api/v1/inventory/reservations",
        body,
        content_type="application/json",
        headers={**_auth(key), "Idempotency-Key": "cart-77-1"},
    )
    assert again.status_code == 200
    assert StockLevel.objects.get(sku=shop.mug, location=shop.floor).reserved == 2
    r = client.post(
        "/api/v1/inventory/reservations",
        dict(body, demand_id="cart-78"),
        content_type="application/json",
        headers=_auth(key),
    )
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "insufficient_stock"
    assert r.json()["error"]["short"] == [{"sku": "MUG-GR", "requested": 2, "available": 1}]
    r = client.get(
        "/api/v1/inventory/availability/MUG-GR/locations?channel=web", headers=_auth(key)
    )
    assert r.json()[0]["available"] == 1
