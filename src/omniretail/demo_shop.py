"""The web shop's part of `omni demo`: shipping methods and the welcome
coupon on the demo's web channel (demo.py creates the channel "web" and the
locations it sells from: the warehouse first, then the stores keeping their
last 2 units for walk-in customers). Idempotent: a second run changes nothing.

Called from demo.py after the channels and locations exist:

    from omniretail.demo_shop import shop_setup
    notes += shop_setup()
"""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from omniretail.channels.shop.models import ShippingMethod
from omniretail.core.models import Channel
from omniretail.inventory.models import ChannelLocation
from omniretail.pricing.models import Coupon, Promotion

WEB_CODE = "web"
SHIPPING_METHODS = (  # code, name, description, price (tax included), position
    ("standard", "Standard delivery", "2 to 4 working days", Decimal("4.90"), 1),
    ("express", "Express delivery", "Next working day, ordered before 2 pm", Decimal("9.90"), 2),
)
WELCOME_PROMOTION = "web-welcome"
WELCOME_COUPON = "WELCOME10"


@transaction.atomic
def shop_setup(*, channel_code: str = WEB_CODE) -> list[str]:
    """Make the demo's web channel ready for the shop at /shop/; returns
    report lines."""
    channel = Channel.objects.filter(code=channel_code).first()
    if channel is None:
        raise ValueError(
            f"No channel {channel_code!r}: run the demo's channels first (demo.py makes 'web')."
        )
    sources = ChannelLocation.objects.filter(channel=channel).count()
    created = 0
    for code, name, description, price, position in SHIPPING_METHODS:
        _, new = ShippingMethod.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "description": description,
                "price": price,
                "position": position,
            },
        )
        created += int(new)
    promotion, new_promotion = Promotion.objects.get_or_create(
        code=WELCOME_PROMOTION,
        defaults={
            "name": "Welcome: 10 % off your first web order",
            "kind": "percent_off",
            "value": Decimal("10"),
            "target": "order",
            "coupon_required": True,
        },
    )
    if new_promotion:
        promotion.channels.add(channel)
    _, new_coupon = Coupon.objects.get_or_create(
        code=WELCOME_COUPON,
        defaults={"promotion": promotion, "per_customer_limit": 1},
    )
    return [
        f"web shop: /shop/ on channel {channel.code} selling from {sources} location(s); "
        f"{created} shipping method(s) created, {len(SHIPPING_METHODS) - created} already there",
        f"web shop: coupon {WELCOME_COUPON} (10 % off, once per customer)"
        + (" created" if new_coupon else " already there"),
    ]
