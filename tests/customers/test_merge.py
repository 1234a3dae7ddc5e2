"""Staff merge two records of one person: Léa shopped online (e-mail) and at
the Paris till (phone, loyalty card). Her orders, points and store credit
follow the customer kept; the duplicate stays as a tombstone that leads to
her."""

from __future__ import annotations

from decimal import Decimal

import pytest

from omniretail.core.errors import Conflict, PermissionDenied, ValidationFailed
from omniretail.core.models import AuditLog, OutboxEvent
from omniretail.customers.models import ConsentEvent, Customer
from omniretail.customers.selectors import customer_get, customer_search
from omniretail.customers.services import (
    customer_consent_record,
    customer_match_or_create,
    customer_merge,
)
from omniretail.loyalty.domain import Reference
from omniretail.loyalty.models import LoyaltyAccount, LoyaltyEntry, StoreCreditAccount
from omniretail.loyalty.services import points_earn, points_redeem, store_credit_issue
from omniretail.loyalty.verify import loyalty_verify
from omniretail.orders.models import Order
from omniretail.verify import verify_all
from tests.customers.conftest import CASHIER_ACTOR, MANAGER_ACTOR, channel_order, pos_sale

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_leas(client, world):
    """Online Léa: a web order, 100 points, 5.00 EUR store credit.
    Till Léa: two POS sales (and whatever points the till gives for them), 40
    welcome points and 10 spent, 15.00 EUR goodwill."""
    online = customer_match_or_create(
        email="lea@example.com",
        first_name="Léa",
        last_name="Martin",
        consents={"marketing_email": True},
        source="web sign-up",
        actor=CASHIER_ACTOR,
    ).customer
    at_till = customer_match_or_create(
        phone="06 12 34 56 78",
        loyalty_card="CARD-0042",
        first_name="Lea",
        last_name="Martin",
        actor=CASHIER_ACTOR,
    ).customer
    web_order = channel_order(world.web, "W-1", "lea@example.com")
    sales = [
        pos_sale(client, world.shop, at_till, [{"sku": "MUG-GR", "quantity": 2}], "25.00"),
        pos_sale(client, world.shop, at_till, [{"sku": "CAN-FIG", "quantity": 1}], "20.00"),
    ]
    points_earn(
        customer=online,
        net_amount=Decimal("100.00"),
        currency="EUR",
        reference=Reference("order", str(web_order.pk)),
    )
    points_earn(
        customer=at_till,
        net_amount=Decimal("40.00"),
        currency="EUR",
        reference=Reference("campaign", "welcome"),
    )
    points_redeem(
        customer=at_till,
        currency="EUR",
        points=10,
        reference=Reference("sale", "till-redeem"),
        actor=CASHIER_ACTOR,
    )
    store_credit_issue(
        customer=online,
        amount=Decimal("5.00"),
        currency="EUR",
        source="goodwill",
        reference=Reference("goodwill", "g1"),
        actor=MANAGER_ACTOR,
        reason="late parcel",
    )
    store_credit_issue(
        customer=at_till,
        amount=Decimal("15.00"),
        currency="EUR",
        source="goodwill",
        reference=Reference("goodwill", "g2"),
        actor=MANAGER_ACTOR,
        reason="broken mug",
    )
    customer_consent_record(
        customer=at_till, consents={"marketing_sms": True}, source="till", actor=CASHIER_ACTOR
    )
    return online, at_till, web_order, sales


def test_a_merge_moves_orders_points_and_store_credit_to_the_customer_kept(two_leas):
    online, at_till, web_order, sales = two_leas
    # Points the till gave for the two sales, if any, move too.
    till_points = LoyaltyEntry.objects.filter(
        account__customer=at_till, reference_type="order"
    ).values_list("points", flat=True)
    till_balance = LoyaltyAccount.objects.get(customer=at_till).balance
    assert till_balance == 40 - 10 + sum(till_points)

    kept = customer_merge(
        keep=online, duplicate=at_till, actor=MANAGER_ACTOR, reason="same person, card + web"
    )

    assert kept.pk == online.pk
    assert sorted(Order.objects.filter(customer=online).values_list("pk", flat=True)) == sorted(
        [web_order.pk, sales[0]["order_id"], sales[1]["order_id"]]
    )
    assert Order.objects.filter(customer=at_till).count() == 0
    # Points: the entries moved onto Léa's account, the balance added up.
    account = LoyaltyAccount.objects.get(customer=online)
    assert account.balance == 100 + till_balance
    assert sorted(account.entries.values_list("kind", "points")) == sorted(
        [("earn", 100), ("earn", 40), ("redeem", -10), *(("earn", p) for p in till_points)]
    )
    assert LoyaltyAccount.objects.get(customer=at_till).balance == 0
    assert LoyaltyEntry.objects.filter(account__customer=at_till).count() == 0
    # Store credit: 5.00 + 15.00, with both entries.
    credit = StoreCreditAccount.objects.get(customer=online, currency="EUR")
    assert credit.balance == Decimal("20.00")
    assert sorted(credit.entries.values_list("amount", flat=True)) == [
        Decimal("5.00"),
        Decimal("15.00"),
    ]
    assert StoreCreditAccount.objects.get(customer=at_till).balance == Decimal("0.00")
    # The tombstone and what moved over: card and phone (Léa had none), consents.
    at_till.refresh_from_db()
    kept.refresh_from_db()
    assert (at_till.merged_into_id, at_till.loyalty_card) == (online.pk, None)
    assert (kept.loyalty_card, kept.phone_e164, kept.email) == (
        "CARD-0042",
        "+33612345678",
        "lea@example.com",
    )
    assert (kept.consent_marketing_email, kept.consent_marketing_sms) == (True, True)
    assert ConsentEvent.objects.filter(customer=online).count() == 2
    # Books and ledgers still hold.
    assert loyalty_verify()[0] == []
    assert verify_all()[0] == []
    audit = AuditLog.objects.get(action="customer.merge")
    assert (audit.actor_label, audit.reason, audit.object_id) == (
        "user:manager",
        "same person, card + web",
        str(online.pk),
    )
    assert audit.data["duplicate_id"] == at_till.pk
    assert audit.data["fields_moved"] == ["loyalty_card", "phone"]
    moved = AuditLog.objects.get(action="loyalty.customer_merged").data
    assert moved["points"] == [
        {
            "program": "club",
            "points": till_balance,
            "entries": 2 + len(till_points),
            "into_account": account.pk,
        }
    ]
    assert moved["store_credit"][0]["amount"] == "15.00"
    assert OutboxEvent.objects.filter(name="customer.merged").count() == 1


def test_look_ups_of_the_duplicate_lead_to_the_customer_kept(two_leas):
    online, at_till, _, _ = two_leas
    customer_merge(keep=online, duplicate=at_till, actor=MANAGER_ACTOR, reason="same person")
    assert customer_get(customer_id=at_till.pk, actor=CASHIER_ACTOR).pk == online.pk
    assert [c.pk for c in customer_search(query="06 12 34 56 78", actor=CASHIER_ACTOR)] == [
        online.pk
    ]
    again = customer_match_or_create(phone="+33612345678", actor=CASHIER_ACTOR)
    assert (again.customer.pk, again.created) == (online.pk, False)
    by_card = customer_match_or_create(loyalty_card="CARD-0042", actor=CASHIER_ACTOR)
    assert by_card.customer.pk == online.pk
    assert Customer.objects.filter(merged_into__isnull=True).count() == 1


def test_a_cashier_cannot_merge_and_nothing_moves(two_leas):
    online, at_till, _, _ = two_leas
    with pytest.raises(PermissionDenied):
        customer_merge(keep=online, duplicate=at_till, actor=CASHIER_ACTOR, reason="same")
    at_till.refresh_from_db()
    assert at_till.merged_into_id is None
    assert Order.objects.filter(customer=at_till).count() == 2
    assert LoyaltyEntry.objects.filter(account__customer=at_till).exists()
    assert not AuditLog.objects.filter(action="customer.merge").exists()


def test_refused_merges_say_why_and_change_nothing(two_leas):
    online, at_till, _, _ = two_leas
    with pytest.raises(ValidationFailed) as no_reason:
        customer_merge(keep=online, duplicate=at_till, actor=MANAGER_ACTOR, reason="  ")
    assert no_reason.value.field == "reason"
    with pytest.raises(ValidationFailed) as itself:
        customer_merge(keep=online, duplicate=online, actor=MANAGER_ACTOR, reason="oops")
    assert itself.value.field == "duplicate"
    customer_merge(keep=online, duplicate=at_till, actor=MANAGER_ACTOR, reason="same person")
    with pytest.raises(Conflict) as twice:
        customer_merge(keep=online, duplicate=at_till, actor=MANAGER_ACTOR, reason="again")
    assert twice.value.message == (
        f"Customer #{at_till.pk} was already merged into customer #{online.pk}."
    )
    with pytest.raises(Conflict) as into_tombstone:
        customer_merge(keep=at_till, duplicate=online, actor=MANAGER_ACTOR, reason="backwards")
    assert into_tombstone.value.field == "keep"
    assert AuditLog.objects.filter(action="customer.merge").count() == 1


def test_a_duplicate_with_no_loyalty_account_of_its_own_kind_hands_it_over(world):
    keep = Customer.objects.create(first_name="Kept", email="kept@example.com")
    dup = Customer.objects.create(first_name="Dup", email="dup@example.com")
    points_earn(
        customer=dup,
        net_amount=Decimal("12.00"),
        currency="EUR",
        reference=Reference("order", "x1"),
    )
    customer_merge(keep=keep, duplicate=dup, actor=MANAGER_ACTOR, reason="same person")
    assert list(LoyaltyAccount.objects.values_list("customer_id", "balance")) == [(keep.pk, 12)]
    dup.refresh_from_db()
    # The kept customer had an e-mail: the duplicate's stays on the tombstone
    # and still leads to the kept customer.
    assert dup.email == "dup@example.com"
    found = customer_match_or_create(email="DUP@example.com", actor=CASHIER_ACTOR)
    assert (found.customer.pk, found.matched_by) == (keep.pk, "email")
    assert loyalty_verify()[0] == []
