"""The back-office customer pages through Django's test client: search,
one customer with purchases from every channel, loyalty and consents, and
the staff verbs (merge, export, erase) with their refusals."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model

from omniretail.core.services import membership_grant
from omniretail.customers.models import Customer
from omniretail.customers.services import customer_match_or_create
from omniretail.orders.models import Order
from tests.customers.conftest import CASHIER_ACTOR, channel_order, pos_sale

pytestmark = pytest.mark.django_db

LIST = "/backoffice/customers/"


def login(client, username: str, role: str, store=None):
    user = get_user_model().objects.create_user(username, password="pw-12345")
    membership_grant(user=user, role=role, store=store)
    client.force_login(user)
    return user


@pytest.fixture
def lea(client, world):
    lea = customer_match_or_create(
        email="lea@example.com",
        phone="06 12 34 56 78",
        loyalty_card="CARD-0042",
        first_name="Léa",
        last_name="Martin",
        actor=CASHIER_ACTOR,
    ).customer
    sale = pos_sale(client, world.shop, lea, [{"sku": "MUG-GR", "quantity": 2}], "30.00")
    web = channel_order(world.web, "W-1", "lea@example.com")
    return lea, sale, web


def test_a_manager_finds_lea_by_phone_and_sees_every_channel(client, lea):
    person, sale, web = lea
    login(client, "anna", "store_manager")
    page = client.get(LIST, {"q": "06 12 34 56 78"})
    assert page.status_code == 200
    html = page.content.decode()
    assert f'href="/backoffice/customers/{person.pk}/"' in html
    assert "+33 6 12 34 56 78" in html
    assert client.get(LIST, {"q": "lea martin"}).content.decode().count("customer-name") == 1
    assert "No customer matches" in client.get(LIST, {"q": "zzz"}).content.decode()

    detail = client.get(f"{LIST}{person.pk}/")
    assert detail.status_code == 200
    html = detail.content.decode()
    assert html.count('class="history-number"') == 2
    assert f'href="/backoffice/orders/{web.pk}/"' in html
    assert f'href="/backoffice/orders/{sale["order_id"]}/"' in html
    assert "Web" in html
    assert "POS Paris" in html
    assert "17.40 EUR" in html
    assert "25.00 EUR" in html
    assert 'id="merge-form"' in html
    assert 'id="erase-form"' in html
    assert 'id="export-link"' in html


def test_a_cashier_sees_the_page_without_staff_verbs_and_cannot_merge(client, lea, world):
    person, _sale, _ = lea
    other = Customer.objects.create(first_name="Other", email="o@example.com")
    login(client, "carl", "cashier", world.shop.store)
    html = client.get(f"{LIST}{person.pk}/").content.decode()
    # Online orders belong to no store: a store's cashier sees the till sale only.
    assert html.count('class="history-number"') == 1
    assert 'id="merge-form"' not in html
    assert 'id="erase-form"' not in html
    r = client.post(
        f"{LIST}{person.pk}/merge/", {"duplicate": str(other.pk), "reason": "same"}, follow=True
    )
    # (the admin's message list capitalises the first letter)
    assert "User:carl may not merge customers: only store managers" in r.content.decode()
    other.refresh_from_db()
    assert other.merged_into_id is None
    r = client.post(f"{LIST}{person.pk}/erase/", {"reason": "asked", "confirm": "yes"}, follow=True)
    assert "User:carl may not erase customers: only store managers" in r.content.decode()
    person.refresh_from_db()
    assert person.erased_at is None
    assert client.get(f"{LIST}{person.pk}/export/").status_code == 403


def test_someone_without_orders_read_cannot_open_customers(client, lea, world):
    login(client, "wendy", "warehouse")
    assert client.get(LIST, {"q": "lea"}).status_code == 403


def test_a_manager_merges_a_duplicate_from_the_page(client, lea, world):
    person, _sale, _ = lea
    dup = customer_match_or_create(
        email="lea.martin@work.example", first_name="Lea", actor=CASHIER_ACTOR
    ).customer
    channel_order(world.marketplace, "M-1", "lea.martin@work.example", sku="CAN-FIG")
    login(client, "anna", "store_manager")
    r = client.post(
        f"{LIST}{person.pk}/merge/", {"duplicate": f"#{dup.pk}", "reason": ""}, follow=True
    )
    assert "Say why you merge these customers" in r.content.decode()
    r = client.post(
        f"{LIST}{person.pk}/merge/",
        {"duplicate": f"#{dup.pk}", "reason": "same person"},
        follow=True,
    )
    html = r.content.decode()
    assert f"Customer #{dup.pk} was merged into this customer" in html
    assert html.count('class="history-number"') == 3
    assert Order.objects.filter(customer=person).count() == 3
    # The duplicate's page leads to Léa's.
    r = client.get(f"{LIST}{dup.pk}/", follow=True)
    assert r.redirect_chain == [(f"{LIST}{person.pk}/", 302)]
    assert f"Customer #{dup.pk} was merged into customer #{person.pk}" in r.content.decode()


def test_export_download_and_erasure_from_the_page(client, lea):
    person, _, web = lea
    login(client, "anna", "store_manager")
    r = client.get(f"{LIST}{person.pk}/export/")
    assert r.status_code == 200
    assert r["Content-Disposition"] == f'attachment; filename="customer-{person.pk}.json"'
    data = json.loads(r.content)
    assert [o["channel"] for o in data["orders"]] == ["pos-paris", "web"]

    r = client.post(f"{LIST}{person.pk}/erase/", {"reason": "GDPR"}, follow=True)
    assert "Tick the box to confirm" in r.content.decode()
    r = client.post(f"{LIST}{person.pk}/erase/", {"reason": "GDPR", "confirm": "yes"}, follow=True)
    assert f"The customer has open orders (#{web.pk})" in r.content.decode()
    person.refresh_from_db()
    assert person.erased_at is None


def test_consents_recorded_from_the_page(client, lea):
    person, _, _ = lea
    login(client, "anna", "store_manager")
    r = client.post(
        f"{LIST}{person.pk}/consents/",
        {"marketing_email": "on", "source": "phone call"},
        follow=True,
    )
    assert "Consents recorded." in r.content.decode()
    person.refresh_from_db()
    assert (person.consent_marketing_email, person.consent_marketing_sms) == (True, False)
    assert list(person.consents.values_list("purpose", "source", "actor_label")) == [
        ("marketing_email", "phone call", "user:anna")
    ]
