"""Pure rules of the web shop (no Django)."""

from __future__ import annotations

import datetime as dt

HOLD_MINUTES = 30
# A hold is renewed on activity once less than this much of it is left, so a
# busy cart does not rewrite its holds on every click.
HOLD_RENEW_BELOW_MINUTES = 20
MAX_LINE_QUANTITY = 99

# Sign-in rate limits: failures counted over a sliding window.
SIGN_IN_WINDOW_MINUTES = 15
SIGN_IN_MAX_PER_ACCOUNT = 5
SIGN_IN_MAX_PER_IP = 20


def hold_needs_renewal(expires_at: dt.datetime | None, now: dt.datetime) -> bool:
    return expires_at is None or expires_at - now < dt.timedelta(minutes=HOLD_RENEW_BELOW_MINUTES)


def hold_expiry(now: dt.datetime) -> dt.datetime:
    return now + dt.timedelta(minutes=HOLD_MINUTES)


def sign_in_blocked(*, account_failures: int, ip_failures: int) -> bool:
    return account_failures >= SIGN_IN_MAX_PER_ACCOUNT or ip_failures >= SIGN_IN_MAX_PER_IP


def cart_demand_id(cart_id: int, sku_id: int) -> str:
    return f"{cart_id}:{sku_id}"


CART_DEMAND = "cart"
