"""Intake from any channel finds the one customer: the same e-mail in
another case, the same phone typed another way, the same loyalty card."""

from __future__ import annotations

import pytest

from omniretail.core.access import SYSTEM, Actor
from omniretail.core.errors import PermissionDenied, ValidationFailed
from omniretail.customers.domain import phone_e164, search_key, text_fold
from omniretail.customers.models import ConsentEvent, Customer
from omniretail.customers.services import customer_find_or_create, customer_match_or_create
from tests.customers.conftest import CASHIER_ACTOR

pytestmark = pytest.mark.django_db


def test_phone_numbers_are_normalised_to_e164():
    assert phone_e164("06 12 34 56 78", "FR") == "+33612345678"
    assert phone_e164("+33 6 12 34 56 78", None) == "+33612345678"
    assert phone_e164("0033612345678", "DE") == "+33612345678"
    assert phone_e164("(415) 555-2671", "US") == "+14155552671"


def test_names_fold_to_lower_case_without_accents():
    assert text_fold("Léa  MÜLLER-Ørsted, Straße") == "lea muller-orsted strasse"
    assert search_key("Zoë", "Dupré", "Zoe@Example.com") == " zoe dupre zoe@example.com "


def test_the_same_email_in_another_case_is_the_same_customer(company):
    first = customer_match_or_create(
        email="Lea.Martin@Example.com", first_name="Léa", last_name="Martin", actor=CASHIER_ACTOR
    )
    again = customer_match_or_create(email="lea.martin@example.COM", actor=SYSTEM)
    assert first.created is True
    assert (again.created, again.matched_by) == (False, "email")
    assert again.customer.pk == first.customer.pk
    assert Customer.objects.count() == 1


def test_a_phone_typed_two_ways_is_the_same_customer(company):
    at_till = customer_match_or_create(
        phone="06 12 34 56 78", first_name="Léa", last_name="Martin", actor=CASHIER_ACTOR
    )
    on_phone = customer_match_or_create(phone="+33612345678", actor=CASHIER_ACTOR)
    assert at_till.customer.phone_e164 == "+33612345678"
    assert at_till.customer.phone == "06 12 34 56 78"
    assert (on_phone.created, on_phone.matched_by) == (False, "phone")
    assert on_phone.customer.pk == at_till.customer.pk
    assert Customer.objects.count() == 1


def test_an_online_sign_up_finds_the_in_store_customer_by_phone_and_adds_the_email(company):
    in_store = customer_match_or_create(
        phone="06 12 34 56 78", first_name="Léa", last_name="Martin", actor=CASHIER_ACTOR
    ).customer
    online = customer_find_or_create(
        email="lea@example.com", first_name="Lea", last_name="Martin", phone="+33 6 12 34 56 78"
    )
    assert online.pk == in_store.pk
    online.refresh_from_db()
    assert online.email == "lea@example.com"
    assert online.first_name == "Léa"  # never overwritten
    assert online.search_key == " lea martin lea@example.com "


def test_a_phone_never_joins_two_people_with_different_emails(company):
    # A household shares a landline: Paul is not Léa.
    lea = customer_match_or_create(
        email="lea@example.com", phone="01 42 00 00 01", first_name="Léa", actor=SYSTEM
    )
    paul = customer_match_or_create(
        email="paul@example.com", phone="+33 1 42 00 00 01", first_name="Paul", actor=SYSTEM
    )
    assert paul.created is True
    assert paul.customer.pk != lea.customer.pk
    # With only the phone there are now two candidates: nobody is guessed.
    third = customer_match_or_create(phone="0142000001", first_name="?", actor=SYSTEM)
    assert third.created is True


def test_a_loyalty_card_matches_before_the_phone(company):
    card = customer_match_or_create(
        loyalty_card="CARD-0001", first_name="Léa", phone="0612345678", actor=SYSTEM
    ).customer
    other = Customer.objects.create(first_name="Other", phone_e164="+33699999999")
    found = customer_match_or_create(loyalty_card="CARD-0001", phone="0699999999", actor=SYSTEM)
    assert (found.customer.pk, found.matched_by) == (card.pk, "loyalty_card")
    assert found.customer.pk != other.pk


def test_intake_keeps_working_with_a_phone_that_cannot_be_dialled(company):
    customer = customer_find_or_create(email="x@example.com", phone="call reception")
    assert (customer.phone, customer.phone_e164) == ("call reception", "")
    assert customer.first_name == "x"


def test_consents_are_recorded_with_time_and_source(company):
    made = customer_match_or_create(
        email="lea@example.com",
        consents={"marketing_email": True, "profiling": False},
        source="web sign-up",
        actor=SYSTEM,
    ).customer
    assert (made.consent_marketing_email, made.consent_profiling) == (True, False)
    events = list(
        ConsentEvent.objects.filter(customer=made).values_list("purpose", "granted", "source")
    )
    # Refusing what was never given changes nothing: no event.
    assert events == [("marketing_email", True, "web sign-up")]
    again = customer_match_or_create(
        email="lea@example.com", consents={"marketing_email": True}, actor=SYSTEM
    )
    assert ConsentEvent.objects.filter(customer=again.customer).count() == 1


def test_bad_details_are_refused_naming_the_field(company):
    with pytest.raises(ValidationFailed) as bad_phone:
        customer_match_or_create(phone="12", actor=SYSTEM)
    assert bad_phone.value.field == "phone"
    assert "country code" in bad_phone.value.message
    with pytest.raises(ValidationFailed) as bad_email:
        customer_match_or_create(email="not-an-email", actor=SYSTEM)
    assert bad_email.value.field == "email"
    with pytest.raises(ValidationFailed) as nothing:
        customer_match_or_create(first_name="Léa", actor=SYSTEM)
    assert nothing.value.field == "email"
    with pytest.raises(ValidationFailed) as consent:
        customer_match_or_create(email="a@example.com", consents={"fax": True}, actor=SYSTEM)
    assert consent.value.field == "consents.fax"
    assert Customer.objects.count() == 0


def test_someone_without_a_till_role_cannot_record_customers(company):
    with pytest.raises(PermissionDenied):
        customer_match_or_create(email="a@example.com", actor=Actor(label="user:nobody"))
    assert Customer.objects.count() == 0


def test_the_default_region_comes_from_settings_before_the_company(company, settings):
    settings.OMNI_DEFAULT_PHONE_REGION = "BE"
    found = customer_match_or_create(phone="0470 12 34 56", actor=SYSTEM)
    assert found.customer.phone_e164 == "+32470123456"
