"""Points, gift cards and store credit: ledgers beside cached balances.

Every balance changes only through a conditional UPDATE in the same
transaction as the ledger row that explains it (services/), so a balance
always equals the sum of its entries (`loyalty_verify`).
"""

from django.db import models
from django.db.models import Q

from omniretail.core.models import Store
from omniretail.customers.models import Customer, CustomerGroup


class LoyaltyProgram(models.Model):
    """Points earned and spent in one currency. A point is worth
    `point_value` (0.01 = 100 points pay 1.00); earned points expire after
    `expiry_days` unless spent (blank: never)."""

    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=100)
    currency = models.CharField(max_length=3, unique=True)
    point_value = models.DecimalField(max_digits=12, decimal_places=6)
    expiry_days = models.PositiveIntegerField(null=True, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(point_value__gt=0), name="loyalty_program_point_value_gt_0"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.currency})"


class EarningRule(models.Model):
    """Points per unit of currency of the net amount paid, for one customer
    group (or, without a group, for everyone else)."""

    program = models.ForeignKey(LoyaltyProgram, on_delete=models.CASCADE, related_name="rules")
    group = models.ForeignKey(
        CustomerGroup, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    points_per_unit = models.DecimalField(max_digits=10, decimal_places=4)

    class Meta:
        ordering = ["program", "group"]
        constraints = [
            models.UniqueConstraint(fields=["program", "group"], name="earning_rule_one_per_group"),
            models.UniqueConstraint(
                fields=["program"],
                condition=Q(group__isnull=True),
                name="earning_rule_one_default",
            ),
            models.CheckConstraint(
                condition=Q(points_per_unit__gte=0), name="earning_rule_points_gte_0"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.points_per_unit} pts per {self.program.currency} ({self.group or 'all'})"


class LoyaltyAccount(models.Model):
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="loyalty_accounts"
    )
    program = models.ForeignKey(LoyaltyProgram, on_delete=models.PROTECT, related_name="+")
    balance = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "program"], name="loyalty_account_one_per_program"
            ),
            models.CheckConstraint(condition=Q(balance__gte=0), name="loyalty_balance_gte_0"),
        ]

    def __str__(self) -> str:
        return f"{self.customer} {self.balance} pts"


class LoyaltyEntry(models.Model):
    """One change of a points balance. A positive entry is a lot: `remaining`
    of its points are unspent, and expire at `expires_at`. Debits use up lots
    oldest-expiring first."""

    class Kind(models.TextChoices):
        EARN = "earn", "Earned on a sale"
        REDEEM = "redeem", "Spent as a tender"
        REVERSE = "reverse", "Reversed on a refund"
        EXPIRE = "expire", "Expired"
        ADJUST = "adjust", "Adjusted by staff"

    account = models.ForeignKey(LoyaltyAccount, on_delete=models.PROTECT, related_name="entries")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    points = models.BigIntegerField(help_text="Signed: + credits, - debits")
    amount = models.DecimalField(
        max_digits=14, decimal_places=2, help_text="Signed money value of the points"
    )
    reference_type = models.CharField(max_length=32)
    reference_id = models.CharField(max_length=64)
    reverses = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="reversals"
    )
    basis = models.DecimalField(
        max_digits=14, decimal_places=2, null=True, blank=True, help_text="Net amount earned on"
    )
    remaining = models.BigIntegerField(default=0, help_text="Unspent points of this lot")
    expires_at = models.DateTimeField(null=True, blank=True)
    reversed_fraction = models.DecimalField(max_digits=14, decimal_places=12, default=0)
    reversed_points = models.BigIntegerField(default=0)
    shortfall = models.BigIntegerField(
        default=0, help_text="Of a reversal: earned points not taken back (already spent)"
    )
    reason = models.CharField(max_length=200, blank=True)
    actor_label = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "loyalty entries"
        indexes = [
            models.Index(fields=["reference_type", "reference_id"]),
            models.Index(
                fields=["expires_at"],
                condition=Q(remaining__gt=0),
                name="loyalty_lot_expiring",
            ),
        ]
        constraints = [
            # Earning or spending on one sale happens once, whoever retries.
            models.UniqueConstraint(
                fields=["kind", "reference_type", "reference_id"],
                condition=Q(kind__in=["earn", "redeem"]),
                name="loyalty_entry_once_per_reference",
            ),
            # One reversal per refund of each earn/redeem entry; one expiry per lot.
            models.UniqueConstraint(
                fields=["reverses", "kind", "reference_type", "reference_id"],
                condition=Q(kind__in=["reverse", "expire"]),
                name="loyalty_reversal_once_per_reference",
            ),
            models.CheckConstraint(condition=Q(remaining__gte=0), name="loyalty_lot_gte_0"),
            models.CheckConstraint(
                condition=Q(reversed_fraction__gte=0, reversed_fraction__lte=1),
                name="loyalty_reversed_fraction_0_1",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.points:+d} pts ({self.reference_type} {self.reference_id})"


class GiftCard(models.Model):
    """A bearer card: the code is the secret, so only its SHA-256 and its
    last four characters are kept."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        VOID = "void", "Void"
        EXPIRED = "expired", "Expired"

    code_hash = models.CharField(max_length=64, unique=True)
    last4 = models.CharField(max_length=4)
    currency = models.CharField(max_length=3)
    initial_value = models.DecimalField(max_digits=14, decimal_places=2)
    balance = models.DecimalField(max_digits=14, decimal_places=2)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.ACTIVE)
    sold = models.BooleanField(help_text="Paid for by a customer (else promotional)")
    expires_at = models.DateTimeField(null=True, blank=True)
    store = models.ForeignKey(
        Store, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    issued_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-issued_at", "-id"]
        indexes = [
            models.Index(
                fields=["expires_at"], condition=Q(status="active"), name="giftcard_expiring"
            )
        ]
        constraints = [
            models.CheckConstraint(condition=Q(balance__gte=0), name="giftcard_balance_gte_0"),
            models.CheckConstraint(
                condition=Q(initial_value__gt=0), name="giftcard_initial_value_gt_0"
            ),
        ]

    def __str__(self) -> str:
        return f"Gift card …{self.last4} ({self.currency})"


class GiftCardEntry(models.Model):
    class Kind(models.TextChoices):
        ISSUE = "issue", "Issued"
        REDEEM = "redeem", "Redeemed"
        REFUND = "refund", "Refunded onto the card"
        VOID = "void", "Voided"
        EXPIRE = "expire", "Expired"

    card = models.ForeignKey(GiftCard, on_delete=models.PROTECT, related_name="entries")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    amount = models.DecimalField(max_digits=14, decimal_places=2, help_text="Signed")
    reference_type = models.CharField(max_length=32)
    reference_id = models.CharField(max_length=64)
    reverses = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="refunds"
    )
    refunded = models.DecimalField(
        max_digits=14, decimal_places=2, default=0, help_text="Of a redemption, put back since"
    )
    reason = models.CharField(max_length=200, blank=True)
    actor_label = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "gift card entries"
        indexes = [models.Index(fields=["reference_type", "reference_id"])]
        constraints = [
            # A sale line issues one card: a retried issue cannot make a second.
            models.UniqueConstraint(
                fields=["kind", "reference_type", "reference_id"],
                condition=Q(kind="issue"),
                name="giftcard_issue_once_per_reference",
            ),
            models.UniqueConstraint(
                fields=["card", "kind", "reference_type", "reference_id"],
                condition=Q(kind__in=["redeem", "void", "expire"]),
                name="giftcard_entry_once_per_reference",
            ),
            models.UniqueConstraint(
                fields=["reverses", "reference_type", "reference_id"],
                condition=Q(kind="refund"),
                name="giftcard_refund_once_per_reference",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} ({self.reference_type} {self.reference_id})"


class StoreCreditAccount(models.Model):
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="store_credit_accounts"
    )
    currency = models.CharField(max_length=3)
    balance = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "currency"], name="store_credit_one_per_currency"
            ),
            models.CheckConstraint(condition=Q(balance__gte=0), name="store_credit_balance_gte_0"),
        ]

    def __str__(self) -> str:
        return f"{self.customer} {self.balance} {self.currency}"


class StoreCreditEntry(models.Model):
    class Kind(models.TextChoices):
        ISSUE = "issue", "Issued"
        REDEEM = "redeem", "Spent as a tender"
        REVERSE = "reverse", "Put back on a refund"

    class Source(models.TextChoices):
        REFUND = "refund", "Refund to store credit"
        GOODWILL = "goodwill", "Goodwill"

    account = models.ForeignKey(
        StoreCreditAccount, on_delete=models.PROTECT, related_name="entries"
    )
    kind = models.CharField(max_length=8, choices=Kind.choices)
    source = models.CharField(max_length=8, choices=Source.choices, blank=True)
    amount = models.DecimalField(max_digits=14, decimal_places=2, help_text="Signed")
    reference_type = models.CharField(max_length=32)
    reference_id = models.CharField(max_length=64)
    reverses = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="reversals"
    )
    refunded = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    reason = models.CharField(max_length=200, blank=True)
    actor_label = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "store credit entries"
        indexes = [models.Index(fields=["reference_type", "reference_id"])]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "kind", "reference_type", "reference_id"],
                condition=Q(kind__in=["issue", "redeem"]),
                name="store_credit_entry_once_per_reference",
            ),
            models.UniqueConstraint(
                fields=["reverses", "reference_type", "reference_id"],
                condition=Q(kind="reverse"),
                name="store_credit_reverse_once_per_reference",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} ({self.reference_type} {self.reference_id})"
