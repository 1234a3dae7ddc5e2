from typing import Any

from django.db import models

from omniretail.core.models import Channel, NumberSeries, Store, Terminal
from omniretail.orders.models import Order


class Receipt(models.Model):
    """A posted till receipt: numbered on its terminal's gapless series and
    chained by hash. Never updated or deleted; corrections are new documents."""

    series = models.ForeignKey(NumberSeries, on_delete=models.PROTECT, related_name="receipts")
    number = models.PositiveBigIntegerField()
    full_number = models.CharField(max_length=64, unique=True)
    order = models.OneToOneField(Order, on_delete=models.PROTECT, related_name="receipt")
    terminal = models.ForeignKey(Terminal, on_delete=models.PROTECT, related_name="receipts")
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="receipts")
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="receipts")
    issued_at = models.DateTimeField(db_index=True)
    currency = models.CharField(max_length=3)
    total_net = models.DecimalField(max_digits=14, decimal_places=2)
    total_tax = models.DecimalField(max_digits=14, decimal_places=2)
    total_gross = models.DecimalField(max_digits=14, decimal_places=2)
    lines = models.JSONField()
    tax_summary = models.JSONField()
    payments = models.JSONField()
    previous_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["series", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["series", "number"], name="receipt_series_number_unique"
            )
        ]

    def __str__(self) -> str:
        return self.full_number

    def hash_fields(self) -> dict[str, Any]:
        """The canonical content the chain hash covers: every field but the hashes."""
        return {
            "series_id": self.series_id,
            "number": self.number,
            "full_number": self.full_number,
            "order_id": self.order_id,
            "terminal_id": self.terminal_id,
            "store_id": self.store_id,
            "channel_id": self.channel_id,
            "issued_at": self.issued_at,
            "currency": self.currency,
            "total_net": self.total_net,
            "total_tax": self.total_tax,
            "total_gross": self.total_gross,
            "lines": self.lines,
            "tax_summary": self.tax_summary,
            "payments": self.payments,
        }


class Account(models.Model):
    class Type(models.TextChoices):
        ASSET = "asset", "Asset"
        LIABILITY = "liability", "Liability"
        EQUITY = "equity", "Equity"
        REVENUE = "revenue", "Revenue"
        EXPENSE = "expense", "Expense"

    code = models.CharField(max_length=16, unique=True)
    name = models.CharField(max_length=200)
    type = models.CharField(max_length=16, choices=Type.choices)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class JournalEntry(models.Model):
    """A balanced double-entry record; append-only."""

    date = models.DateField(db_index=True)
    description = models.CharField(max_length=300)
    reference_type = models.CharField(max_length=32)
    reference_id = models.CharField(max_length=64)
    channel = models.ForeignKey(
        Channel, on_delete=models.PROTECT, null=True, blank=True, related_name="journal_entries"
    )
    store = models.ForeignKey(
        Store, on_delete=models.PROTECT, null=True, blank=True, related_name="journal_entries"
    )
    currency = models.CharField(max_length=3)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-date", "-id"]
        verbose_name_plural = "journal entries"
        indexes = [models.Index(fields=["reference_type", "reference_id"])]

    def __str__(self) -> str:
        return f"{self.date} {self.description}"


class JournalLine(models.Model):
    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="lines")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="lines")
    debit = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    credit = models.DecimalField(max_digits=14, decimal_places=2, default=0)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(debit__gte=0, credit__gte=0), name="journal_amounts_gte_0"
            ),
            models.CheckConstraint(
                condition=models.Q(debit=0) | models.Q(credit=0),
                name="journal_line_one_side",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account.code} Dr {self.debit} Cr {self.credit}"
