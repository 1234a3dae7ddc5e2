"""A campaign link brings a shopper to the shop (…/shop/?source=news-nov):
the order placed in that visit counts for the campaign, in the campaign
report as in the order itself."""

from __future__ import annotations

from decimal import Decimal

import pytest

from omniretail.channels.shop.services import (
    CheckoutData,
    cart_create,
    cart_line_set,
    checkout_place,
)
from omniretail.pricing.models import Campaign, SourceCode

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _gateway(settings):
    settings.OMNI_GATEWAY = "test"


def test_the_source_of_a_visit_is_kept_for_its_checkout(client, web_shop):
    response = client.get("/shop/?source=news-nov")
    assert response.status_code == 200
    assert client.session["shop_source"] == "NEWS-NOV"
    client.get("/shop/?source=<script>")  # not a code: ignored
    assert client.session["shop_source"] == "NEWS-NOV"


def test_an_order_from_a_campaign_link_counts_for_the_campaign(web_shop):
    campaign = Campaign.objects.create(code="black-friday", name="Black Friday")
    SourceCode.objects.create(code="NEWS-NOV", campaign=campaign)
    cart = cart_create(channel=web_shop.web)
    cart_line_set(cart=cart, sku_id=web_shop.shop.mug.pk, quantity=1)
    order = checkout_place(
        cart=cart,
        data=CheckoutData(
            email="zoe@example.com",
            first_name="Zoé",
            last_name="",
            fulfilment="ship",
            card_token="tok_visa",
            address={
                "name": "Zoé",
                "line1": "3 quai Voltaire",
                "postcode": "75007",
                "city": "Paris",
                "country": "FR",
            },
            shipping_method="standard",
            source_code="NEWS-NOV",
        ),
    )
    assert (order.campaign_code, order.source_code, order.attribution_via) == (
        "black-friday",
        "NEWS-NOV",
        "source_code",
    )
    assert order.total_gross == Decimal("17.40")
