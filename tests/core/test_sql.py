"""The plain inserts of core.sql: keys set, values stored as the ORM would."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from omniretail.core.sql import row_insert_unless_taken, rows_insert
from omniretail.customers.models import Customer
from omniretail.orders.models import Order

pytestmark = pytest.mark.django_db


def _order(shop, external_id: str, total: str = "12.50") -> Order:
    return Order(
        channel=shop.pos_channel,
        external_id=external_id,
        status="confirmed",
        fulfilment_method="ship",
        shipping_address={"city": "Paris"},
        payment_status="paid",
        currency="EUR",
        total_net=Decimal(total),
        total_tax=Decimal("0"),
        total_gross=Decimal(total),
        shipping_gross=Decimal("0"),
        placed_at=timezone.now(),
    )


def test_rows_insert_sets_keys_and_stores_what_the_orm_reads_back(shop):
    orders = [_order(shop, "A-1"), _order(shop, "A-2", "3.10")]
    rows_insert(orders)
    assert all(o.pk for o in orders)
    assert not orders[0]._state.adding
    back = Order.objects.get(pk=orders[1].pk)
    assert (back.external_id, back.total_gross, back.shipping_address) == (
        "A-2",
        Decimal("3.10"),
        {"city": "Paris"},
    )


def test_an_insert_unless_taken_writes_nothing_when_the_unique_values_are_taken(shop):
    first = _order(shop, "B-1")
    assert row_insert_unless_taken(first, ("channel", "external_id"))
    assert first.pk is not None
    again = _order(shop, "B-1", "99.00")
    with transaction.atomic():  # no IntegrityError: the transaction goes on
        assert not row_insert_unless_taken(again, ("channel", "external_id"))
        assert again.pk is None
        assert again._state.adding
        assert not connection.needs_rollback
        assert Order.objects.filter(external_id="B-1").count() == 1
    assert Order.objects.get(external_id="B-1").total_gross == Decimal("12.50")


def test_an_insert_unless_taken_names_an_expression_of_a_unique_index(db):
    # Customers are unique by LOWER(email): the conflict target is that expression.
    first = Customer(first_name="Léa", email="Lea@Example.com", search_key="lea")
    assert row_insert_unless_taken(first, (Lower("email"),))
    again = Customer(first_name="Other", email="lea@example.COM", search_key="other")
    with transaction.atomic():
        assert not row_insert_unless_taken(again, (Lower("email"),))
        assert not connection.needs_rollback
    assert list(Customer.objects.values_list("first_name", flat=True)) == ["Léa"]
