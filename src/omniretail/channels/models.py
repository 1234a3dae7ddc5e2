"""Tables of the till (channels/pos): cashier PINs and sessions, per-role
discount limits and per-terminal offline allowances."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models


class CashierPin(models.Model):
    """A staff user's till PIN, hashed with Django's password hashers."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="till_pin"
    )
    pin_hash = models.CharField(max_length=255)
    failed_attempts = models.PositiveSmallIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"PIN of {self.user}"


class CashierSession(models.Model):
    """A cashier signed in at one terminal: a short-lived token (only its
    SHA-256 is stored) that the till sends as `X-Cashier-Token`."""

    token_digest = models.CharField(max_length=64, unique=True)
    terminal = models.ForeignKey(
        "core.Terminal", on_delete=models.CASCADE, related_name="cashier_sessions"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="till_sessions"
    )
    started_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["terminal", "ended_at"])]

    def __str__(self) -> str:
        return f"{self.user} @ {self.terminal.code}"


class DiscountLimit(models.Model):
    """The largest manual discount (percent of a line or the order) a role may
    give without a manager's override."""

    role = models.CharField(max_length=16, unique=True)
    max_percent = models.DecimalField(max_digits=5, decimal_places=2)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(max_percent__gte=0) & models.Q(max_percent__lte=100),
                name="discount_limit_0_100",
            )
        ]

    def __str__(self) -> str:
        return f"{self.role}: {self.max_percent} %"


class TerminalAllowance(models.Model):
    """What a till may take without the server (offline): gift card money and
    loyalty points per offline period, checked on the device."""

    terminal = models.OneToOneField(
        "core.Terminal", on_delete=models.CASCADE, related_name="offline_allowance"
    )
    gift_card_amount = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("100"))
    points = models.PositiveIntegerField(default=5000)

    def __str__(self) -> str:
        return f"offline allowance of {self.terminal.code}"
