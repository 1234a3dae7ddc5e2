"""Which gateway adapter serves a name (settings.OMNI_GATEWAY picks the default).

Adapters are named by dotted path, as Django names its backends, so that an
adapter may itself use the webhook receiver (the test gateway delivers its
events to it) without an import cycle, and the stripe library is loaded only
where Stripe is used.
"""

from __future__ import annotations

from django.conf import settings
from django.utils.module_loading import import_string

from omniretail.core.errors import NotFound
from omniretail.payments.gateways.base import PaymentGateway

GATEWAYS: dict[str, str] = {
    "test": "omniretail.payments.gateways.test.TestGateway",
    "stripe": "omniretail.payments.gateways.stripe.StripeGateway",
}


def gateway_names() -> list[str]:
    return sorted(GATEWAYS)


def gateway_get(name: str | None = None) -> PaymentGateway:
    """The adapter for `name`, or the configured default (OMNI_GATEWAY)."""
    name = name or settings.OMNI_GATEWAY
    path = GATEWAYS.get(name)
    if path is None:
        raise NotFound(
            f"unknown payment gateway {name!r}; use one of {', '.join(gateway_names())}.",
            field="gateway",
        )
    adapter: PaymentGateway = import_string(path).from_settings()
    return adapter
