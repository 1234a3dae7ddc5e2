"""Roles and store scoping, API keys, and who may ring up a sale where."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser

from omniretail.core.access import (
    ACCOUNTANT,
    ADMIN,
    CASHIER,
    STORE_MANAGER,
    SYSTEM,
    TERMINAL_DEFAULT_SCOPES,
    WAREHOUSE,
    Actor,
    actor_for_user,
    require,
)
from omniretail.core.apikeys import api_key_authenticate, api_key_issue
from omniretail.core.errors import PermissionDenied
from omniretail.core.models import ApiKey, AuditLog, StaffMembership
from omniretail.core.services import terminal_create
from omniretail.orders.models import Order
from tests.conftest import build_shop, stock_up

A, B = 101, 202  # store ids for the pure Actor tests


# --- Actor.can and require (no database) -------------------------------------------------


def test_a_cashier_sells_in_their_store_only():
    cashier = Actor(label="user:alice", user_id=1, roles={CASHIER: frozenset({A})})
    assert cashier.can("sale.create", store_id=A)
    assert not cashier.can("sale.create", store_id=B)
    assert cashier.can("stock.read", store_id=A)
    assert not cashier.can("stock.receive", store_id=A)
    assert not cashier.can("catalog.write")
    assert not cashier.can("books.read", store_id=A)
    assert not cashier.can("no.such.permission", store_id=A)
    assert cashier.store_ids("sale.create") == frozenset({A})
    assert cashier.store_ids("stock.receive") == frozenset()


def test_roles_in_several_stores_and_in_all_stores():
    actor = Actor(
        label="user:bob",
        user_id=2,
        roles={CASHIER: frozenset({A, B}), WAREHOUSE: None, ACCOUNTANT: frozenset({B})},
    )
    assert actor.can("sale.create", store_id=A)
    assert actor.can("sale.create", store_id=B)
    assert not actor.can("sale.create", store_id=303)
    assert actor.can("stock.receive", store_id=303)  # warehouse in every store
    assert actor.can("books.read", store_id=B)
    assert not actor.can("books.read", store_id=A)
    assert actor.store_ids("sale.create") == frozenset({A, B})
    assert actor.store_ids("stock.move") is None


def test_an_accountant_reads_but_does_not_sell():
    accountant = Actor(label="user:carol", user_id=3, roles={ACCOUNTANT: None})
    assert accountant.can("books.read", store_id=A)
    assert accountant.can("orders.read", store_id=B)
    assert not accountant.can("sale.create", store_id=A)
    assert not accountant.can("stock.move", store_id=A)


def test_admins_and_the_system_may_do_everything():
    admin = Actor(label="user:root", user_id=4, roles={ADMIN: None})
    for permission in ("sale.create", "catalog.write", "org.write", "books.read"):
        assert admin.can(permission, store_id=A)
        assert SYSTEM.can(permission, store_id=B)
    assert admin.store_ids("sale.create") is None
    assert SYSTEM.store_ids("org.write") is None


def test_nobody_may_do_nothing():
    nobody = Actor(label="anonymous")
    assert not nobody.can("sale.create")
    assert not nobody.can("catalog.read", store_id=A)
    assert nobody.store_ids("catalog.read") == frozenset()


def test_require_raises_a_403_that_says_what_to_do():
    cashier = Actor(label="user:alice", user_id=1, roles={CASHIER: frozenset({A})})
    require(cashier, "sale.create", store_id=A)  # allowed: no error
    with pytest.raises(PermissionDenied) as exc:
        require(cashier, "sale.create", store_id=B)
    assert exc.value.http_status == 403
    assert exc.value.code == "forbidden"
    assert exc.value.message == (
        "user:alice may not sale.create in store #202. Ask a store manager or an "
        "administrator to grant the role for this store."
    )
    with pytest.raises(PermissionDenied) as exc:
        require(cashier, "catalog.write")
    assert exc.value.message.startswith("user:alice may not catalog.write. Ask ")


def test_a_key_actor_is_limited_to_its_scopes_and_its_store():
    till = Actor(
        label="key:till 1",
        scopes=frozenset({"sales:write", "catalog:read"}),
        api_key_prefix="abc123",
        channel_id=1,
        terminal_id=1,
        store_id=A,
    )
    assert till.can("sale.create", store_id=A)
    assert till.can("sale.create")
    assert not till.can("sale.create", store_id=B)
    assert till.can("catalog.read")
    assert not till.can("stock.read", store_id=A)  # no stock:read scope
    assert not till.can("catalog.write")  # no scope grants it
    assert not till.can("org.write")
    assert till.store_ids("sale.create") == frozenset({A})
    assert till.store_ids("stock.read") == frozenset()
    assert till.idempotency_scope == "key:abc123"
    # A key with roles still only has its scopes.
    assert not Actor(label="k", api_key_prefix="x", roles={ADMIN: None}).can("catalog.write")


def test_idempotency_scopes():
    assert Actor(label="user:alice", user_id=9).idempotency_scope == "user:9"
    assert SYSTEM.idempotency_scope == "system"


# --- staff memberships ---------------------------------------------------------------------


@pytest.fixture
def shop(db):
    return build_shop()


@pytest.fixture
def other_shop(shop):
    return build_shop("b")


def make_user(username, **extra):
    return get_user_model().objects.create_user(username=username, password="pw", **extra)


@pytest.mark.django_db
def test_a_store_scoped_admin_acts_in_that_store_only(shop, other_shop):
    dave = make_user("dave", is_staff=True)
    StaffMembership.objects.create(user=dave, role=ADMIN, store=shop.store)  # the model allows it
    admin_of_a = actor_for_user(dave)
    assert admin_of_a.roles == {ADMIN: frozenset({shop.store.pk})}
    assert admin_of_a.store_ids("sale.create") == frozenset({shop.store.pk})
    assert admin_of_a.can("sale.create", store_id=shop.store.pk)
    assert not admin_of_a.can("sale.create", store_id=other_shop.store.pk)


@pytest.mark.django_db
def test_actor_for_user_reads_memberships(shop, other_shop):
    alice = make_user("alice", is_staff=True)
    StaffMembership.objects.create(user=alice, role=CASHIER, store=shop.store)
    StaffMembership.objects.create(user=alice, role=CASHIER, store=other_shop.store)
    StaffMembership.objects.create(user=alice, role=STORE_MANAGER, store=shop.store)
    StaffMembership.objects.create(user=alice, role=ACCOUNTANT, store=None)

    actor = actor_for_user(alice)

    assert actor.label == "user:alice"
    assert actor.user_id == alice.pk
    assert actor.roles == {
        CASHIER: frozenset({shop.store.pk, other_shop.store.pk}),
        STORE_MANAGER: frozenset({shop.store.pk}),
        ACCOUNTANT: None,
    }
    assert actor.can("stock.receive", store_id=shop.store.pk)
    assert not actor.can("stock.receive", store_id=other_shop.store.pk)
    assert actor.can("books.read", store_id=other_shop.store.pk)
    assert actor.idempotency_scope == f"user:{alice.pk}"


@pytest.mark.django_db
def test_an_all_stores_membership_wins_over_store_memberships(shop, other_shop):
    bob = make_user("bob", is_staff=True)
    StaffMembership.objects.create(user=bob, role=CASHIER, store=shop.store)
    StaffMembership.objects.create(user=bob, role=CASHIER, store=None)
    StaffMembership.objects.create(user=bob, role=WAREHOUSE, store=None)
    StaffMembership.objects.create(user=bob, role=WAREHOUSE, store=other_shop.store)

    actor = actor_for_user(bob)

    assert actor.roles == {CASHIER: None, WAREHOUSE: None}
    assert actor.can("sale.create", store_id=other_shop.store.pk)


@pytest.mark.django_db
def test_superusers_are_admins_and_inactive_or_anonymous_users_are_nobody(shop):
    root = make_user("root", is_staff=True, is_superuser=True)
    assert actor_for_user(root).roles == {ADMIN: None}
    gone = make_user("gone", is_staff=True, is_active=False)
    StaffMembership.objects.create(user=gone, role=STORE_MANAGER, store=None)
    assert actor_for_user(gone) == Actor(label="anonymous")
    assert actor_for_user(AnonymousUser()) == Actor(label="anonymous")
    nobody = make_user("nobody", is_staff=True)
    assert not actor_for_user(nobody).can("catalog.read", store_id=shop.store.pk)


# --- API keys ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_key_is_shown_once_and_only_its_digest_is_stored(shop):
    issued = api_key_issue(name="web shop", channel=shop.pos_channel, scopes=["catalog:read"])

    kw, prefix, secret = issued.token.split("_", 2)
    assert kw == "omni"
    assert prefix == issued.api_key.prefix
    assert len(prefix) == 12
    key = ApiKey.objects.get(pk=issued.api_key.pk)
    assert key.digest == hashlib.sha256(secret.encode()).hexdigest()
    assert key.digest != issued.token
    assert secret not in key.digest
    assert (key.kind, key.scopes, key.active) == (ApiKey.Kind.CHANNEL, ["catalog:read"], True)
    assert AuditLog.objects.filter(action="api_key.issue", object_id=str(key.pk)).count() == 1


@pytest.mark.django_db
def test_a_terminal_key_authenticates_as_its_terminal(shop):
    actor = api_key_authenticate(shop.terminal_token)
    key = ApiKey.objects.get(terminal=shop.terminal)

    assert actor == Actor(
        label=f"key:till {shop.terminal.code}",
        scopes=frozenset(TERMINAL_DEFAULT_SCOPES),
        api_key_prefix=key.prefix,
        channel_id=shop.pos_channel.pk,
        terminal_id=shop.terminal.pk,
        store_id=shop.store.pk,
    )
    assert key.kind == ApiKey.Kind.TERMINAL
    key.refresh_from_db()
    assert key.last_used_at is not None
    assert api_key_authenticate(f"  {shop.terminal_token}  ") == actor


@pytest.mark.django_db
def test_wrong_unknown_malformed_and_revoked_keys_authenticate_as_nobody(shop):
    _, prefix, secret = shop.terminal_token.split("_", 2)
    wrong = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    assert api_key_authenticate(f"omni_{prefix}_{wrong}") is None  # wrong secret
    assert api_key_authenticate(f"omni_{prefix}_") is None
    assert api_key_authenticate(f"omni_ffffffffffff_{secret}") is None  # unknown prefix
    assert api_key_authenticate(f"omnx_{prefix}_{secret}") is None
    assert api_key_authenticate(f"omni_{prefix}") is None
    assert api_key_authenticate("") is None
    assert api_key_authenticate(secret) is None

    ApiKey.objects.filter(prefix=prefix).update(active=False)
    assert api_key_authenticate(shop.terminal_token) is None  # revoked


@pytest.mark.django_db
def test_only_an_admin_issues_keys(shop):
    manager = Actor(
        label="user:erin", user_id=None, roles={STORE_MANAGER: frozenset({shop.store.pk})}
    )
    before = ApiKey.objects.count()
    with pytest.raises(PermissionDenied, match=r"user:erin may not org\.write"):
        api_key_issue(name="sneaky", channel=shop.pos_channel, actor=manager)
    assert ApiKey.objects.count() == before


# --- through HTTP ----------------------------------------------------------------------------


def sale(terminal_code=None, sku="MUG-GR"):
    body = {
        "client_uuid": str(uuid.uuid4()),
        "lines": [{"sku": sku, "quantity": 1}],
        "tenders": [{"type": "cash", "amount": "20.00"}],
    }
    if terminal_code:
        body["terminal"] = terminal_code
    return body


def post(client, body, token=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.post("/api/v1/pos/sales", body, content_type="application/json", headers=headers)


@pytest.mark.django_db
def test_a_terminal_key_cannot_sell_on_another_stores_terminal(client, shop, other_shop):
    stock_up(other_shop, {other_shop.mug: 5})

    r = post(client, sale(other_shop.terminal.code, sku="MUG-GRb"), token=shop.terminal_token)

    # Refused either by store scoping (403) or as another terminal's key (409).
    assert r.status_code in (403, 409), r.content
    error = r.json()["error"]
    assert error["code"] == "forbidden"
    assert error["message"] in (
        f"key:till {shop.terminal.code} may not sale.create in store #{other_shop.store.pk}. "
        "Ask a store manager or an administrator to grant the role for this store.",
        "This key belongs to another terminal; sell from the terminal the key was issued for.",
    )
    assert Order.objects.count() == 0


@pytest.mark.django_db
def test_a_terminal_key_cannot_sell_on_another_terminal_of_its_store(client, shop):
    stock_up(shop, {shop.mug: 5})
    till2 = terminal_create(store=shop.store, channel=shop.pos_channel, code="pt2", name="Till 2")

    r = post(client, sale(till2.code), token=shop.terminal_token)

    assert r.status_code in (403, 409), r.content
    error = r.json()["error"]
    assert error["code"] == "forbidden"
    assert error["field"] == "terminal"
    assert error["message"] == (
        "This key belongs to another terminal; sell from the terminal the key was issued for."
    )
    assert Order.objects.count() == 0
    assert post(client, sale(), token=shop.terminal_token).status_code == 201  # its own till


@pytest.mark.django_db
def test_a_key_without_the_sales_scope_cannot_sell(client, shop):
    stock_up(shop, {shop.mug: 5})
    read_only = api_key_issue(
        name="price checker",
        channel=shop.pos_channel,
        terminal=shop.terminal,
        scopes=["catalog:read"],
    )

    r = post(client, sale(shop.terminal.code), token=read_only.token)

    assert r.status_code == 403, r.content
    assert r.json()["error"]["message"].startswith(
        f"key:price checker may not sale.create in store #{shop.store.pk}."
    )
    assert Order.objects.count() == 0


@pytest.mark.django_db
def test_no_credentials_or_a_bad_key_is_401(client, shop):
    for token in (None, "omni_nope_nope", shop.terminal_token + "x"):
        r = post(client, sale(shop.terminal.code), token=token)
        assert r.status_code == 401, r.content
        assert r.json()["error"]["code"] == "unauthenticated"
    assert Order.objects.count() == 0


@pytest.mark.django_db
def test_a_cashier_session_sells_only_in_their_store(client, shop, other_shop):
    stock_up(shop, {shop.mug: 5})
    stock_up(other_shop, {other_shop.mug: 5})
    alice = make_user("alice", is_staff=True)
    StaffMembership.objects.create(user=alice, role=CASHIER, store=shop.store)
    client.force_login(alice)

    refused = post(client, sale(other_shop.terminal.code, sku="MUG-GRb"))
    assert refused.status_code == 403, refused.content
    assert refused.json()["error"]["message"].startswith(
        f"user:alice may not sale.create in store #{other_shop.store.pk}."
    )
    assert Order.objects.count() == 0

    accepted = post(client, sale(shop.terminal.code))
    assert accepted.status_code == 201, accepted.content
    assert accepted.json()["store"] == shop.store.code
    assert Order.objects.get().created_by == "user:alice"


@pytest.mark.django_db
def test_a_signed_in_user_who_is_not_staff_is_401(client, shop):
    mallory = make_user("mallory")  # not staff
    StaffMembership.objects.create(user=mallory, role=CASHIER, store=shop.store)
    client.force_login(mallory)
    assert post(client, sale(shop.terminal.code)).status_code == 401


# --- production settings ------------------------------------------------------------------------


def import_settings(tmp_path, **env):
    clean = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "ALLOWED_HOSTS")}
    clean.update(OMNI_HOME=str(tmp_path), **env)
    return subprocess.run(
        [sys.executable, "-c", "import omniretail.settings"],
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    done = import_settings(tmp_path, OMNI_ENV="production")
    assert done.returncode != 0
    last_line = done.stderr.strip().splitlines()[-1]
    assert last_line.startswith(
        "django.core.exceptions.ImproperlyConfigured: SECRET_KEY is not set"
    )
    assert "export SECRET_KEY=" in last_line
    assert not (tmp_path / "var").exists()  # refused before touching anything


def test_production_refuses_to_start_without_allowed_hosts(tmp_path):
    done = import_settings(tmp_path, OMNI_ENV="production", SECRET_KEY="s" * 50)
    assert done.returncode != 0
    assert "ImproperlyConfigured: ALLOWED_HOSTS is not set" in done.stderr


def test_production_starts_with_its_secrets_set(tmp_path):
    done = import_settings(
        tmp_path, OMNI_ENV="production", SECRET_KEY="s" * 50, ALLOWED_HOSTS="shop.example.com"
    )
    assert done.returncode == 0, done.stderr
