"""Idempotency keys: the key is claimed in the transaction of the effect, a
retry replays the first response, a reused key with another body is refused."""

from __future__ import annotations

import uuid

import pytest
from django.db import IntegrityError

from omniretail.core.errors import Conflict, ValidationFailed
from omniretail.core.idempotency import (
    StoredResponse,
    idempotent_call,
    request_fingerprint,
)
from omniretail.core.models import AuditLog, IdempotencyKey
from omniretail.orders.models import Order
from tests.conftest import build_shop, stock_up

pytestmark = pytest.mark.django_db

FP = request_fingerprint("POST", "/api/v1/things", {"name": "mug", "qty": 2})
OTHER_FP = request_fingerprint("POST", "/api/v1/things", {"name": "mug", "qty": 3})


class Effect:
    """A counted effect that writes a row, as a service would."""

    def __init__(self, status: int = 201) -> None:
        self.status = status
        self.runs = 0

    def __call__(self) -> tuple[int, dict]:
        self.runs += 1
        row = AuditLog.objects.create(
            actor_label="test", action="thing.create", object_type="thing", object_id="1"
        )
        return self.status, {"id": row.pk, "run": self.runs}


def call(effect, key="key-1", fingerprint=FP, scope="key:abc123") -> StoredResponse:
    return idempotent_call(scope=scope, key=key, fingerprint=fingerprint, effect=effect)


def test_request_fingerprint_is_stable_and_covers_method_path_and_body():
    body = {"b": [1, 2], "a": "x"}
    assert request_fingerprint("POST", "/p", body) == request_fingerprint(
        "POST", "/p", {"a": "x", "b": [1, 2]}
    )
    assert request_fingerprint("POST", "/p", body) != request_fingerprint("PUT", "/p", body)
    assert request_fingerprint("POST", "/p", body) != request_fingerprint("POST", "/q", body)
    assert len(FP) == 64
    assert FP != OTHER_FP


def test_the_first_call_runs_the_effect_and_stores_the_response():
    effect = Effect()
    result = call(effect)
    assert effect.runs == 1
    assert result.status == 201
    assert result.replayed is False
    row = AuditLog.objects.get()
    assert result.body == {"id": row.pk, "run": 1}
    key = IdempotencyKey.objects.get()
    assert (key.scope, key.key, key.request_hash) == ("key:abc123", "key-1", FP)
    assert (key.response_status, key.response_body) == (201, {"id": row.pk, "run": 1})


def test_a_retry_replays_the_first_response_without_running_the_effect():
    effect = Effect()
    first = call(effect)
    second = call(effect)
    third = call(effect, key="  key-1  ")  # surrounding spaces are not part of the key
    assert effect.runs == 1
    assert AuditLog.objects.count() == 1
    assert second == StoredResponse(201, first.body, replayed=True)
    assert third == StoredResponse(201, first.body, replayed=True)
    assert IdempotencyKey.objects.count() == 1


def test_the_same_key_with_another_request_is_refused_with_422():
    effect = Effect()
    call(effect)
    with pytest.raises(ValidationFailed) as exc:
        call(effect, fingerprint=OTHER_FP)
    assert exc.value.code == "idempotency_key_reused"
    assert exc.value.http_status == 422
    assert exc.value.field == "Idempotency-Key"
    assert "Use a new key for a new request" in exc.value.message
    assert effect.runs == 1
    assert AuditLog.objects.count() == 1


def test_keys_are_scoped_to_their_sender():
    effect = Effect()
    a = call(effect, scope="key:aaa")
    b = call(effect, scope="key:bbb", fingerprint=OTHER_FP)
    assert (a.replayed, b.replayed) == (False, False)
    assert effect.runs == 2
    assert IdempotencyKey.objects.count() == 2


def test_a_domain_error_leaves_no_key_so_a_retry_runs_again():
    runs = []

    def refused() -> tuple[int, dict]:
        runs.append(1)
        AuditLog.objects.create(actor_label="t", action="a", object_type="o", object_id="1")
        raise Conflict("Not enough stock; receive stock first.", code="insufficient_stock")

    with pytest.raises(Conflict):
        call(refused)
    assert IdempotencyKey.objects.count() == 0
    assert AuditLog.objects.count() == 0  # the effect's writes rolled back with the claim

    with pytest.raises(Conflict):
        call(refused)
    assert len(runs) == 2

    effect = Effect()
    result = call(effect)  # once the problem is fixed, the same key works
    assert (result.status, result.replayed, effect.runs) == (201, False, 1)


def test_without_a_key_the_effect_runs_every_time():
    effect = Effect()
    results = [call(effect, key=None) for _ in range(3)]
    assert effect.runs == 3
    assert [r.body["run"] for r in results] == [1, 2, 3]
    assert {r.replayed for r in results} == {False}
    assert AuditLog.objects.count() == 3
    assert IdempotencyKey.objects.count() == 0


@pytest.mark.parametrize("key", ["", "   ", "k" * 256])
def test_an_empty_or_too_long_key_is_refused(key):
    effect = Effect()
    with pytest.raises(ValidationFailed) as exc:
        call(effect, key=key)
    assert exc.value.field == "Idempotency-Key"
    assert exc.value.message == "Idempotency-Key must be 1 to 255 characters; send a UUID."
    assert effect.runs == 0


def test_a_key_of_255_characters_is_accepted():
    effect = Effect()
    assert call(effect, key="k" * 255).replayed is False
    assert call(effect, key="k" * 255).replayed is True


def test_a_key_still_being_processed_gives_409():
    # What a second worker sees if it reads the claim before the first has answered.
    IdempotencyKey.objects.create(scope="key:abc123", key="key-1", request_hash=FP)
    effect = Effect()
    with pytest.raises(Conflict) as exc:
        call(effect)
    assert exc.value.code == "idempotency_in_progress"
    assert exc.value.http_status == 409
    assert effect.runs == 0


def test_an_integrity_error_of_the_effect_is_not_mistaken_for_a_key_conflict():
    runs = []

    def breaks_a_constraint() -> tuple[int, dict]:
        runs.append(1)
        IdempotencyKey.objects.create(scope="other", key="dup", request_hash="x")
        IdempotencyKey.objects.create(scope="other", key="dup", request_hash="x")
        return 201, {}

    with pytest.raises(IntegrityError):
        call(breaks_a_constraint)
    assert len(runs) == 1


# --- through the HTTP API ------------------------------------------------------------------


@pytest.fixture
def shop(db):
    shop = build_shop()
    stock_up(shop, {shop.mug: 10, shop.candle: 10})
    return shop


def post_sale(client, shop, body, key):
    headers = {"Authorization": f"Bearer {shop.terminal_token}"}
    if key is not None:
        headers["Idempotency-Key"] = key
    return client.post("/api/v1/pos/sales", body, content_type="application/json", headers=headers)


def sale_body(quantity=2):
    return {
        "client_uuid": str(uuid.uuid4()),
        "lines": [{"sku": "MUG-GR", "quantity": quantity}],
        "tenders": [{"type": "cash", "amount": "50.00"}],
    }


def test_a_sale_posted_twice_with_one_key_makes_one_order(client, shop):
    body, key = sale_body(), str(uuid.uuid4())

    first = post_sale(client, shop, body, key)
    second = post_sale(client, shop, body, key)

    assert first.status_code == 201, first.content
    assert second.status_code == 200, second.content
    assert Order.objects.count() == 1
    assert first.json()["replayed"] is False
    assert second.json()["replayed"] is True
    assert {**second.json(), "replayed": False} == first.json()
    assert first.json()["total_gross"] == "25.00"
    assert first.json()["change"] == "25.00"
    assert first.json()["receipt_number"] == "R-PT1-000001"
    stored = IdempotencyKey.objects.get()
    assert stored.key == key
    assert stored.scope.startswith("key:")
    assert stored.response_status == 201


def test_the_same_key_with_another_sale_is_refused(client, shop):
    key = str(uuid.uuid4())
    assert post_sale(client, shop, sale_body(quantity=2), key).status_code == 201

    refused = post_sale(client, shop, sale_body(quantity=3), key)

    assert refused.status_code == 422
    error = refused.json()["error"]
    assert error["code"] == "idempotency_key_reused"
    assert error["field"] == "Idempotency-Key"
    assert Order.objects.count() == 1


def test_a_refused_sale_does_not_burn_its_key(client, shop):
    key = str(uuid.uuid4())
    body = {**sale_body(), "tenders": [{"type": "cash", "amount": "5.00"}]}  # underpaid

    refused = post_sale(client, shop, body, key)
    assert refused.status_code == 422
    assert refused.json()["error"]["field"] == "tenders"
    assert IdempotencyKey.objects.count() == 0

    accepted = post_sale(client, shop, sale_body(), key)
    assert accepted.status_code == 201, accepted.content
    assert Order.objects.count() == 1
