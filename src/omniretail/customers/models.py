from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

from omniretail.core.models import Channel


class CustomerGroup(models.Model):
    """A tier or segment (retail, VIP, staff, trade): price lists, promotions
    and loyalty earning rates can target a group."""

    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Customer(models.Model):
    """One customer across every channel.

    Found by e-mail (unique, case-insensitive), loyalty card (unique), phone
    (`phone_e164`, normalised) or name (`search_key`: folded, no accents).
    A merged duplicate stays as a tombstone pointing at the customer kept
    (`merged_into`); an erased person keeps only placeholders (`erased_at`).
    """

    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100, blank=True)
    email = models.EmailField(null=True, blank=True)
    phone = models.CharField(max_length=32, blank=True, help_text="As typed")
    phone_e164 = models.CharField(
        max_length=16, blank=True, db_index=True, help_text="Normalised (+33612345678)"
    )
    loyalty_card = models.CharField(max_length=32, unique=True, null=True, blank=True)
    group = models.ForeignKey(
        CustomerGroup, on_delete=models.PROTECT, null=True, blank=True, related_name="customers"
    )
    search_key = models.CharField(
        max_length=500, blank=True, editable=False, help_text="Name and e-mail, folded"
    )
    consent_marketing_email = models.BooleanField(default=False)
    consent_marketing_sms = models.BooleanField(default=False)
    consent_profiling = models.BooleanField(default=False)
    merged_into = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="merged_from",
        help_text="This record is a duplicate of that customer (a tombstone)",
    )
    merged_at = models.DateTimeField(null=True, blank=True)
    erased_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["last_name", "first_name"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="customer_email_unique_ci"),
            models.CheckConstraint(
                condition=Q(merged_into__isnull=True) | ~Q(merged_into=models.F("pk")),
                name="customer_not_merged_into_itself",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class ConsentEvent(models.Model):
    """One consent given or withdrawn: what for, when, through which channel,
    recorded by whom. Append-only; the customer's flags hold the latest."""

    class Purpose(models.TextChoices):
        MARKETING_EMAIL = "marketing_email", "Marketing e-mails"
        MARKETING_SMS = "marketing_sms", "Marketing SMS"
        PROFILING = "profiling", "Profiling (personalised offers)"

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="consents")
    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    granted = models.BooleanField()
    channel = models.ForeignKey(
        Channel, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    source = models.CharField(max_length=64, help_text="Where it was given: web sign-up, till…")
    actor_label = models.CharField(max_length=100, blank=True)
    at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.purpose} {'granted' if self.granted else 'withdrawn'} ({self.source})"
