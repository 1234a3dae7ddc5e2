"""Back office for the books: receipts, the journal and the chart of accounts.

Posted receipts and journal entries are inalterable (promise 4): shown
read-only to everyone, superusers included; a correction is a new document.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet, Sum
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from omniretail.accounting.models import Account, JournalEntry, JournalLine, Receipt
from omniretail.core.admin_scoping import (
    ReadOnlyAdminMixin,
    ReadOnlyTabularInline,
    StoreScopedAdminMixin,
)

LINE_COLUMNS = ("sku", "description", "quantity", "unit_price", "tax_rate", "gross")


@admin.register(Receipt)
class ReceiptAdmin(StoreScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    store_permission = "books.read"
    list_display = (
        "full_number",
        "issued_at",
        "store",
        "terminal",
        "channel",
        "total_gross",
        "currency",
        "order",
    )
    list_filter = (
        ("store", admin.RelatedOnlyFieldListFilter),
        ("terminal", admin.RelatedOnlyFieldListFilter),
        ("channel", admin.RelatedOnlyFieldListFilter),
    )
    list_select_related = ("store", "terminal__store", "channel", "order__channel")
    search_fields = ("full_number", "=order__external_id", "order__id__exact", "=hash")
    date_hierarchy = "issued_at"
    fieldsets = (
        (None, {"fields": ("full_number", "issued_at", "store", "terminal", "channel", "order")}),
        (
            "Totals",
            {"fields": ("currency", "total_net", "total_tax", "total_gross", "line_table")},
        ),
        ("As posted", {"fields": ("lines", "tax_summary", "payments")}),
        ("Hash chain", {"fields": ("series", "number", "previous_hash", "hash")}),
    )

    @admin.display(description="lines")
    def line_table(self, obj: Receipt) -> str:
        rows = [[str(line.get(col, "")) for col in LINE_COLUMNS] for line in obj.lines or []]
        header = format_html_join(
            "", "<th>{}</th>", ((col.replace("_", " "),) for col in LINE_COLUMNS)
        )
        body = format_html_join(
            "",
            "<tr>{}</tr>",
            ((format_html_join("", "<td>{}</td>", ((c,) for c in row)),) for row in rows),
        )
        return format_html(
            "<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>", header, body
        )


class JournalLineInline(ReadOnlyTabularInline):
    model = JournalLine
    select_related = ("account",)
    fields = ("account", "debit", "credit")


@admin.register(JournalEntry)
class JournalEntryAdmin(StoreScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    store_permission = "books.read"
    list_display = (
        "date",
        "description",
        "reference_type",
        "reference_id",
        "store",
        "channel",
        "total_debit",
        "total_credit",
        "currency",
    )
    list_filter = (
        "reference_type",
        ("store", admin.RelatedOnlyFieldListFilter),
        ("channel", admin.RelatedOnlyFieldListFilter),
    )
    list_select_related = ("store", "channel")
    search_fields = ("description", "=reference_id")
    date_hierarchy = "date"
    inlines = (JournalLineInline,)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return (
            super()
            .get_queryset(request)
            .annotate(_debit=Sum("lines__debit"), _credit=Sum("lines__credit"))
        )

    @admin.display(description="debit", ordering="_debit")
    def total_debit(self, obj: JournalEntry) -> Decimal:
        return obj._debit  # type: ignore[attr-defined]

    @admin.display(description="credit", ordering="_credit")
    def total_credit(self, obj: JournalEntry) -> Decimal:
        return obj._credit  # type: ignore[attr-defined]


@admin.register(JournalLine)
class JournalLineAdmin(StoreScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Every line of one account: its ledger (filter by account)."""

    store_lookups = ("entry__store",)
    store_permission = "books.read"
    list_display = ("entry_date", "account", "debit", "credit", "entry")
    list_filter = ("account", ("entry__store", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("account", "entry")
    search_fields = ("account__code", "entry__description", "=entry__reference_id")
    date_hierarchy = "entry__date"

    @admin.display(description="date", ordering="entry__date")
    def entry_date(self, obj: JournalLine) -> Any:
        return obj.entry.date


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "type")
    list_filter = ("type",)
    search_fields = ("code", "name")

    def get_readonly_fields(self, request: HttpRequest, obj: Account | None = None) -> Any:
        # Journal lines and GL exports refer to the account by its code.
        return ("code", "type") if obj else ()
