"""A person asks to be forgotten. Their name, e-mail, phone and card become
placeholders, on the customer, on the duplicates merged into it and on their
orders' addresses; the receipts of their till sales stay exactly as posted
and `omni verify` still finds every hash chain intact."""

from __future__ import annotations

from decimal import Decimal

import pytest

from omniretail.accounting.models import Receipt
from omniretail.cli import main as omni
from omniretail.core.errors import Conflict, PermissionDenied, ValidationFailed
from omniretail.core.models import AuditLog
from omniretail.customers.models import ConsentEvent, Customer
from omniretail.customers.selectors import customer_search
from omniretail.customers.services import (
    customer_erase,
    customer_match_or_create,
    customer_merge,
)
from omniretail.loyalty.domain import Reference
from omniretail.loyalty.models import LoyaltyAccount
from omniretail.loyalty.services import points_earn
from omniretail.orders.models import Order
from omniretail.orders.services import order_cancel
from tests.customers.conftest import (
    ADMIN_ACTOR,
    CASHIER_ACTOR,
    MANAGER_ACTOR,
    channel_order,
    pos_sale,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def lea(client, world):
    """Léa: two till sales (receipts), a web order since cancelled, a
    duplicate record from the phone line merged into her, and 50 points."""
    lea = customer_match_or_create(
        email="lea@example.com",
        phone="06 12 34 56 78",
        loyalty_card="CARD-7",
        first_name="Léa",
        last_name="Martin",
        consents={"marketing_email": True, "profiling": True},
        source="web sign-up",
        actor=CASHIER_ACTOR,
    ).customer
    sales = [
        pos_sale(client, world.shop, lea, [{"sku": "MUG-GR", "quantity": 1}], "20.00"),
        pos_sale(client, world.shop, lea, [{"sku": "CAN-FIG", "quantity": 1}], "20.00"),
    ]
    web = channel_order(world.web, "W-9", "lea@example.com")
    order_cancel(order=web, actor=ADMIN_ACTOR, reason="customer changed her mind")
    phone_dup = customer_match_or_create(
        email="lea.martin@work.example", first_name="Lea", last_name="M.", actor=CASHIER_ACTOR
    ).customer
    customer_merge(keep=lea, duplicate=phone_dup, actor=MANAGER_ACTOR, reason="same person")
    points_earn(
        customer=lea,
        net_amount=Decimal("50.00"),
        currency="EUR",
        reference=Reference("campaign", "welcome"),
    )
    return lea, phone_dup, sales, web


def _receipts() -> list[tuple]:
    return list(
        Receipt.objects.order_by("pk").values_list("number", "total_gross", "hash", "previous_hash")
    )


def test_an_erasure_anonymises_the_person_and_omni_verify_stays_clean(lea, capsys):
    person, tombstone, _sales, web = lea
    receipts_before = _receipts()
    points_before = LoyaltyAccount.objects.get(customer=person).balance

    customer_erase(customer=person, actor=MANAGER_ACTOR, reason="GDPR request by e-mail #1234")

    person.refresh_from_db()
    tombstone.refresh_from_db()
    assert (
        person.first_name,
        person.last_name,
        person.email,
        person.phone,
        person.phone_e164,
        person.loyalty_card,
        person.search_key,
    ) == ("Erased", f"customer #{person.pk}", None, "", "", None, "")
    assert person.erased_at is not None
    assert (tombstone.first_name, tombstone.email) == ("Erased", None)
    assert (person.consent_marketing_email, person.consent_profiling) == (False, False)
    withdrawn = ConsentEvent.objects.filter(customer=person, source="erasure")
    assert sorted(withdrawn.values_list("purpose", "granted")) == [
        ("marketing_email", False),
        ("profiling", False),
    ]
    web.refresh_from_db()
    assert web.shipping_address == {
        "name": "erased",
        "line1": "erased",
        "postcode": "erased",
        "city": "erased",
        "country": "FR",
    }
    assert web.email == ""
    # History, points and the fiscal documents stay.
    assert Order.objects.filter(customer=person).count() == 3
    assert LoyaltyAccount.objects.get(customer=person).balance == points_before
    assert _receipts() == receipts_before
    assert len(receipts_before) == 2
    assert customer_search(query="Martin", actor=CASHIER_ACTOR) == []
    assert customer_search(query="06 12 34 56 78", actor=CASHIER_ACTOR) == []
    audit = AuditLog.objects.get(action="customer.erase")
    assert (audit.reason, audit.data) == (
        "GDPR request by e-mail #1234",
        {"customer_ids": [person.pk, tombstone.pk]},
    )
    assert "lea" not in str(audit.data).lower()

    assert omni(["verify"]) == 0
    out = capsys.readouterr().out
    assert "FAIL" not in out
    assert out.splitlines()[-1] == "omni verify: all promises hold"


def test_an_open_order_refuses_the_erasure_and_nothing_changes(lea, world):
    person, _tombstone, _, _ = lea
    open_order = channel_order(world.web, "W-10", "lea@example.com")
    assert open_order.status == "allocated"
    with pytest.raises(Conflict) as refused:
        customer_erase(customer=person, actor=MANAGER_ACTOR, reason="GDPR request")
    assert refused.value.message == (
        f"The customer has open orders (#{open_order.pk}); complete or cancel them before "
        "erasing the customer."
    )
    assert refused.value.field == "customer"
    person.refresh_from_db()
    open_order.refresh_from_db()
    assert (person.first_name, person.email, person.erased_at) == ("Léa", "lea@example.com", None)
    assert open_order.shipping_address["name"] == "Léa Martin"
    assert not AuditLog.objects.filter(action="customer.erase").exists()


def test_a_cashier_cannot_erase(lea):
    person, _, _, _ = lea
    with pytest.raises(PermissionDenied):
        customer_erase(customer=person, actor=CASHIER_ACTOR, reason="asked at the till")
    person.refresh_from_db()
    assert person.erased_at is None


def test_erasure_needs_a_reason_the_kept_customer_and_happens_once(lea):
    person, tombstone, _, _ = lea
    with pytest.raises(ValidationFailed) as no_reason:
        customer_erase(customer=person, actor=MANAGER_ACTOR, reason="")
    assert no_reason.value.field == "reason"
    with pytest.raises(Conflict) as duplicate:
        customer_erase(customer=tombstone, actor=MANAGER_ACTOR, reason="GDPR")
    assert duplicate.value.message == (
        f"Customer #{tombstone.pk} was merged into customer #{person.pk}; erase that customer "
        "(its duplicates are erased with it)."
    )
    customer_erase(customer=person, actor=MANAGER_ACTOR, reason="GDPR")
    with pytest.raises(Conflict) as twice:
        customer_erase(customer=person, actor=MANAGER_ACTOR, reason="GDPR")
    assert "already erased" in twice.value.message
    assert Customer.objects.filter(erased_at__isnull=False).count() == 2
