"""The demo's shop setup is idempotent; a shop customer resets a forgotten
password by e-mail (staff logins cannot reset through the shop)."""

from __future__ import annotations

import re
from decimal import Decimal

from django.contrib.auth.models import User

from omniretail.channels.shop.models import ShippingMethod
from omniretail.channels.shop.services import account_sign_up
from omniretail.core.services import channel_create
from omniretail.demo_shop import shop_setup
from omniretail.pricing.models import Coupon
from tests.conftest import build_shop


def test_shop_setup_adds_shipping_methods_and_the_welcome_coupon_once(db):
    shop = build_shop()
    channel_create(company=shop.company, code="web", name="Web shop", kind="web")
    assert shop_setup() == [
        "web shop: /shop/ on channel web selling from 0 location(s); 2 shipping method(s) "
        "created, 0 already there",
        "web shop: coupon WELCOME10 (10 % off, once per customer) created",
    ]
    assert shop_setup()[1].endswith("already there")
    assert list(ShippingMethod.objects.values_list("code", "price")) == [
        ("standard", Decimal("4.90")),
        ("express", Decimal("9.90")),
    ]
    assert Coupon.objects.get(code="WELCOME10").per_customer_limit == 1


def test_a_customer_resets_a_forgotten_password(client, web_shop, mailoutbox):
    account_sign_up(email="kim@example.com", password="first-password", first_name="Kim")
    User.objects.create_user("boss", email="boss@example.com", password="staff-password")
    client.post("/shop/account/password/reset/", {"email": "boss@example.com"})
    assert mailoutbox == []  # staff reset in the back office
    response = client.post("/shop/account/password/reset/", {"email": "kim@example.com"})
    assert response.status_code == 302
    (mail,) = mailoutbox
    link = re.search(r"http://testserver(/shop/account/password/reset/\S+/)", mail.body).group(1)
    form_url = client.get(link).url  # Django swaps the token for a session key
    response = client.post(
        form_url, {"new_password1": "second-password", "new_password2": "second-password"}
    )
    assert response.url == "/shop/account/password/reset/done/"
    response = client.post(
        "/shop/account/signin/", {"email": "kim@example.com", "password": "second-password"}
    )
    assert response.status_code == 302
