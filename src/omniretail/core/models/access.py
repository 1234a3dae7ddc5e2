from django.conf import settings
from django.db import models

from omniretail.core.models.org import Channel, Store, Terminal


class StaffMembership(models.Model):
    """A staff user's role, in one store or (store empty) in every store."""

    class Role(models.TextChoices):
        CASHIER = "cashier", "Cashier"
        STORE_MANAGER = "store_manager", "Store manager"
        WAREHOUSE = "warehouse", "Warehouse"
        ACCOUNTANT = "accountant", "Accountant"
        ADMIN = "admin", "Administrator"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices)
    store = models.ForeignKey(
        Store,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="memberships",
        help_text="Empty = every store.",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "role", "store"], name="membership_unique_per_store"
            ),
            models.UniqueConstraint(
                fields=["user", "role"],
                condition=models.Q(store__isnull=True),
                name="membership_unique_all_stores",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} @ {self.store or 'all stores'}"


class ApiKey(models.Model):
    """A key for a channel integration or a POS terminal.

    Only a SHA-256 digest of the secret is stored; the full key is shown once.
    """

    class Kind(models.TextChoices):
        CHANNEL = "channel", "Channel"
        TERMINAL = "terminal", "POS terminal"

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    prefix = models.CharField(max_length=16, unique=True)
    digest = models.CharField(max_length=64)
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="api_keys")
    terminal = models.ForeignKey(
        Terminal, on_delete=models.CASCADE, null=True, blank=True, related_name="api_keys"
    )
    scopes = models.JSONField(default=list, help_text='e.g. ["sales:write", "catalog:read"]')
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(kind="terminal") | models.Q(terminal__isnull=False),
                name="apikey_terminal_has_terminal",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
