"""Shop accounts find the one customer by e-mail; sign-in is rate limited in
the database; return requests are checked and accepted through orders."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from django.contrib.auth.models import User

from omniretail.channels.pos.services import SaleLine, Tender, pos_sale_record
from omniretail.channels.shop.models import ReturnRequest, SignInFailure
from omniretail.channels.shop.selectors import customer_orders
from omniretail.channels.shop.services import (
    account_sign_up,
    return_request_accept,
    return_request_create,
    sign_in,
)
from omniretail.core.access import SYSTEM
from omniretail.core.errors import Conflict, ValidationFailed
from omniretail.customers.models import Customer
from omniretail.orders.models import Return
from tests.conftest import stock_up


def test_an_in_store_customer_signs_up_and_finds_their_store_purchase(web_shop):
    shop = web_shop.shop
    lea = Customer.objects.create(first_name="Léa", last_name="Martin", email="Lea@Example.com")
    stock_up(shop, {shop.mug: 4})
    sale = pos_sale_record(
        terminal=shop.terminal, client_uuid=uuid.uuid4(), lines=[SaleLine(1, sku="MUG-GR")],
        tenders=[Tender("cash", Decimal("12.50"))], actor=SYSTEM, customer_id=lea.pk,
    )  # fmt: skip
    account = account_sign_up(email="lea@example.com", password="linen-and-figs", first_name="Léa")
    assert account.customer == lea
    assert account.user.username == "lea@example.com"
    assert [o.pk for o in customer_orders(customer_id=lea.pk)] == [sale.order.pk]
    with pytest.raises(Conflict) as twice:
        account_sign_up(email="LEA@example.com", password="another-one-9", first_name="L")
    assert twice.value.field == "email"
    assert User.objects.filter(username="lea@example.com").count() == 1


def test_sign_in_stops_checking_after_five_failures_for_the_account(web_shop):
    account_sign_up(email="sam@example.com", password="right-password", first_name="Sam")
    for _ in range(5):
        with pytest.raises(ValidationFailed):
            sign_in(email="sam@example.com", password="wrong", ip="10.0.0.1")
    with pytest.raises(Conflict) as limited:
        sign_in(email="Sam@example.com", password="right-password", ip="10.0.0.2")
    assert limited.value.code == "rate_limited"
    assert SignInFailure.objects.filter(key="account:sam@example.com").count() == 5
    assert SignInFailure.objects.filter(key="ip:10.0.0.1").count() == 5
    SignInFailure.objects.all().delete()
    assert sign_in(email="sam@example.com", password="right-password", ip="10.0.0.2").pk


def test_a_staff_login_is_not_a_shop_login(web_shop):
    User.objects.create_user("boss@example.com", password="staff-password")
    with pytest.raises(ValidationFailed):
        sign_in(email="boss@example.com", password="staff-password", ip="10.0.0.3")


def test_a_return_request_is_checked_then_accepted_at_a_store(web_shop):
    shop = web_shop.shop
    lea = Customer.objects.create(first_name="Léa", email="lea@example.com")
    stock_up(shop, {shop.mug: 4})
    order = pos_sale_record(
        terminal=shop.terminal, client_uuid=uuid.uuid4(), lines=[SaleLine(2, sku="MUG-GR")],
        tenders=[Tender("cash", Decimal("25.00"))], actor=SYSTEM, customer_id=lea.pk,
    ).order  # fmt: skip
    line = order.lines.get()
    with pytest.raises(ValidationFailed) as too_many:
        return_request_create(customer_id=lea.pk, order=order, quantities={line.pk: 3}, reason="x")
    assert (
        too_many.value.message == f"lines[{line.pk}]: {line.description}: you can return up to 2."
    )
    other = Customer.objects.create(first_name="Sam", email="sam@example.com")
    with pytest.raises(ValidationFailed):
        return_request_create(
            customer_id=other.pk, order=order, quantities={line.pk: 1}, reason="x"
        )
    request = return_request_create(
        customer_id=lea.pk, order=order, quantities={line.pk: 1}, reason="chipped"
    )
    with pytest.raises(ValidationFailed):  # the pending request counts
        return_request_create(customer_id=lea.pk, order=order, quantities={line.pk: 2}, reason="x")
    accepted = return_request_accept(
        request=request, location=shop.floor, channel=shop.pos_channel, actor=SYSTEM
    )
    assert accepted.status == ReturnRequest.Status.ACCEPTED
    ret = Return.objects.get(order=order)
    assert accepted.return_number == ret.number
    line.refresh_from_db()
    assert line.quantity_returned == 1
