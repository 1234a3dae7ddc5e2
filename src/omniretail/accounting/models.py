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


# --- invoices, credit notes, closings (issue 5) ---------------------------------------------


class DocumentImmutable(Exception):
    """A posted fiscal document was about to be changed or deleted."""


class PostedDocument(models.Model):
    """A numbered, hash-chained fiscal document: written once, at posting.

    `save()` refuses to update a stored row and `delete()` refuses outright;
    corrections are new documents (credit notes). Raw SQL can still change a
    row, which is what `omni verify` recomputes the chains for."""

    series = models.ForeignKey(NumberSeries, on_delete=models.PROTECT, related_name="+")
    number = models.PositiveBigIntegerField()
    full_number = models.CharField(max_length=64, unique=True)
    issued_at = models.DateTimeField(db_index=True)
    previous_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.full_number

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise DocumentImmutable(
                f"{self.full_number} is posted and cannot be changed; issue a credit note instead."
            )
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise DocumentImmutable(
            f"{self.full_number} is posted and cannot be deleted; issue a credit note instead."
        )

    def hash_fields(self) -> dict[str, Any]:
        raise NotImplementedError


class Invoice(PostedDocument):
    """A full invoice: seller and buyer as they were at posting, the lines,
    the tax summary per rate and the totals. Amounts are positive."""

    class Source(models.TextChoices):
        FULFILMENT = "fulfilment", "Goods shipped or collected"
        RECEIPT = "receipt", "A till receipt turned into a full invoice"
        REPLACEMENT = "replacement", "Reissued with the buyer's details"

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="invoices")
    receipt = models.OneToOneField(
        Receipt,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="invoice",
        help_text="The receipt this invoice was made from (once per receipt)",
    )
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="invoices")
    store = models.ForeignKey(
        Store, on_delete=models.PROTECT, null=True, blank=True, related_name="invoices"
    )
    source = models.CharField(max_length=16, choices=Source.choices)
    books_revenue = models.BooleanField(
        help_text="False when the revenue is booked by another document (the receipt)"
    )
    currency = models.CharField(max_length=3)
    seller = models.JSONField()
    buyer = models.JSONField()
    lines = models.JSONField()
    tax_summary = models.JSONField()
    total_net = models.DecimalField(max_digits=14, decimal_places=2)
    total_tax = models.DecimalField(max_digits=14, decimal_places=2)
    total_gross = models.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        ordering = ["series", "number"]
        constraints = [
            models.UniqueConstraint(fields=["series", "number"], name="invoice_series_number")
        ]

    def hash_fields(self) -> dict[str, Any]:
        return {
            "type": "invoice",
            "series_id": self.series_id,
            "number": self.number,
            "full_number": self.full_number,
            "order_id": self.order_id,
            "receipt_id": self.receipt_id,
            "channel_id": self.channel_id,
            "store_id": self.store_id,
            "source": self.source,
            "books_revenue": self.books_revenue,
            "issued_at": self.issued_at,
            "currency": self.currency,
            "seller": self.seller,
            "buyer": self.buyer,
            "lines": self.lines,
            "tax_summary": self.tax_summary,
            "total_net": self.total_net,
            "total_tax": self.total_tax,
            "total_gross": self.total_gross,
        }


class CreditNote(PostedDocument):
    """A correction of an invoice or a receipt. Amounts are stored positive:
    the document type says they are credited (subtracted)."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="credit_notes")
    invoice = models.ForeignKey(
        Invoice, on_delete=models.PROTECT, null=True, blank=True, related_name="credit_notes"
    )
    receipt = models.ForeignKey(
        Receipt, on_delete=models.PROTECT, null=True, blank=True, related_name="credit_notes"
    )
    refund_id = models.PositiveBigIntegerField(
        null=True, blank=True, db_index=True, help_text="The payments refund it accompanies"
    )
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="credit_notes")
    store = models.ForeignKey(
        Store, on_delete=models.PROTECT, null=True, blank=True, related_name="credit_notes"
    )
    reason = models.CharField(max_length=300)
    books_revenue = models.BooleanField()
    currency = models.CharField(max_length=3)
    seller = models.JSONField()
    buyer = models.JSONField()
    lines = models.JSONField()
    tax_summary = models.JSONField()
    total_net = models.DecimalField(max_digits=14, decimal_places=2)
    total_tax = models.DecimalField(max_digits=14, decimal_places=2)
    total_gross = models.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        ordering = ["series", "number"]
        constraints = [
            models.UniqueConstraint(fields=["series", "number"], name="creditnote_series_number"),
            models.CheckConstraint(
                condition=models.Q(invoice__isnull=False) | models.Q(receipt__isnull=False),
                name="creditnote_references_a_document",
            ),
        ]

    def hash_fields(self) -> dict[str, Any]:
        return {
            "type": "credit_note",
            "series_id": self.series_id,
            "number": self.number,
            "full_number": self.full_number,
            "order_id": self.order_id,
            "invoice_id": self.invoice_id,
            "receipt_id": self.receipt_id,
            "refund_id": self.refund_id,
            "channel_id": self.channel_id,
            "store_id": self.store_id,
            "reason": self.reason,
            "books_revenue": self.books_revenue,
            "issued_at": self.issued_at,
            "currency": self.currency,
            "seller": self.seller,
            "buyer": self.buyer,
            "lines": self.lines,
            "tax_summary": self.tax_summary,
            "total_net": self.total_net,
            "total_tax": self.total_tax,
            "total_gross": self.total_gross,
        }


class Closing(PostedDocument):
    """A day, month or year closed: totals of its documents and the perpetual
    grand total of its scope (the company, or one store)."""

    class Period(models.TextChoices):
        DAY = "day", "Day"
        MONTH = "month", "Month"
        YEAR = "year", "Year"

    period = models.CharField(max_length=5, choices=Period.choices)
    period_start = models.DateField()
    period_end = models.DateField(help_text="Last day included")
    scope = models.CharField(max_length=40, help_text="'company' or 'store:<code>'")
    store = models.ForeignKey(
        Store, on_delete=models.PROTECT, null=True, blank=True, related_name="closings"
    )
    currency = models.CharField(max_length=3)
    documents = models.JSONField(help_text="counts of receipts, invoices and credit notes")
    by_tender = models.JSONField()
    by_tax_rate = models.JSONField()
    total_gross = models.DecimalField(max_digits=16, decimal_places=2)
    grand_total = models.DecimalField(max_digits=18, decimal_places=2)

    class Meta:
        ordering = ["series", "number"]
        constraints = [
            models.UniqueConstraint(fields=["series", "number"], name="closing_series_number"),
            models.UniqueConstraint(
                fields=["period", "period_start", "scope"], name="closing_once_per_period"
            ),
        ]

    def hash_fields(self) -> dict[str, Any]:
        return {
            "type": "closing",
            "series_id": self.series_id,
            "number": self.number,
            "full_number": self.full_number,
            "period": self.period,
            "period_start": self.period_start,
            "period_end": self.period_end,
            "scope": self.scope,
            "store_id": self.store_id,
            "issued_at": self.issued_at,
            "currency": self.currency,
            "documents": self.documents,
            "by_tender": self.by_tender,
            "by_tax_rate": self.by_tax_rate,
            "total_gross": self.total_gross,
            "grand_total": self.grand_total,
        }


class RegionalTaxRate(models.Model):
    """A tax class's rate in a country (and region: a US state, a Canadian
    province), from a date. Without one, the tax class's own rate applies."""

    tax_class = models.ForeignKey(
        "catalog.TaxClass", on_delete=models.PROTECT, related_name="regional_rates"
    )
    country = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2, e.g. US")
    region = models.CharField(max_length=8, blank=True, help_text="e.g. NY; empty = whole country")
    rate = models.DecimalField(max_digits=6, decimal_places=4, help_text="0.0888 = 8.88 %")
    valid_from = models.DateField()

    class Meta:
        ordering = ["tax_class", "country", "region", "-valid_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["tax_class", "country", "region", "valid_from"],
                name="regional_rate_unique",
            ),
            models.CheckConstraint(condition=models.Q(rate__gte=0), name="regional_rate_gte_0"),
        ]

    def __str__(self) -> str:
        where = f"{self.country}-{self.region}" if self.region else self.country
        return f"{self.tax_class.code} {where} {self.rate} from {self.valid_from}"
