"""Channels signing the same new person up at the same instant on
PostgreSQL: the unique index on lower(email) decides, and everyone gets the
one customer (no duplicate, no error)."""

from __future__ import annotations

import pytest

from omniretail.core.access import SYSTEM
from omniretail.core.models import Company
from omniretail.customers.models import Customer
from omniretail.customers.services import customer_find_or_create, customer_match_or_create
from tests.concurrency.test_pg_concurrency import in_threads

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

CHANNELS = 8


def test_eight_channels_creating_one_email_at_once_make_one_customer():
    Company.objects.create(code="acme", name="Acme", country="FR")

    def sign_up(i: int) -> tuple[int, bool]:
        match = customer_match_or_create(
            email="Lea@Example.com" if i % 2 else "lea@example.com",
            first_name="Léa",
            phone="06 12 34 56 78",
            actor=SYSTEM,
        )
        return match.customer.pk, match.created

    results = in_threads(CHANNELS, sign_up)
    assert len({pk for pk, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    assert Customer.objects.count() == 1


def test_intake_and_a_till_racing_on_one_loyalty_card_make_one_customer():
    Company.objects.create(code="acme", name="Acme", country="FR")

    def till(i: int) -> int:
        if i % 2:
            return customer_find_or_create(email="lea@example.com").pk
        return customer_match_or_create(
            loyalty_card="CARD-42", email="lea@example.com", actor=SYSTEM
        ).customer.pk

    results = in_threads(CHANNELS, till)
    assert len(set(results)) == 1
    assert list(Customer.objects.values_list("email", "loyalty_card")) == [
        ("lea@example.com", "CARD-42")
    ]
