"""The organisation: the company, its stores, its sales channels and tills.

They live in core because every layer scopes by store and tags by channel.
"""

from django.db import models


class Company(models.Model):
    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=200)
    currency = models.CharField(max_length=3, default="EUR")
    country = models.CharField(max_length=2, default="FR")
    tax_id = models.CharField(max_length=32, blank=True)
    prices_include_tax = models.BooleanField(
        default=True, help_text="EU retail shows tax-inclusive prices; US shows net prices."
    )
    cash_rounding_step = models.DecimalField(
        max_digits=6,
        decimal_places=2,
        default=0,
        help_text="Smallest coin in use for cash totals (0 = no cash rounding, 0.05 in CH).",
    )

    class Meta:
        verbose_name_plural = "companies"

    def __str__(self) -> str:
        return self.name


class Store(models.Model):
    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="stores")
    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=200)
    address = models.TextField(blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Channel(models.Model):
    class Kind(models.TextChoices):
        POS = "pos", "Store POS"
        WEB = "web", "Web shop"
        MARKETPLACE = "marketplace", "Marketplace"
        PHONE = "phone", "Phone / call centre"

    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="channels")
    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    store = models.ForeignKey(
        Store,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="channels",
        help_text="The store a POS channel belongs to; empty for online channels.",
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(kind="pos") | models.Q(store__isnull=False),
                name="channel_pos_has_store",
                violation_error_message="A POS channel must belong to a store.",
            )
        ]

    def __str__(self) -> str:
        return self.name


class Terminal(models.Model):
    """A till. It sells on its store's POS channel and numbers receipts on its own series."""

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="terminals")
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="terminals")
    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=200)
    receipt_series = models.OneToOneField(
        "core.NumberSeries", on_delete=models.PROTECT, related_name="terminal"
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.store.code})"
