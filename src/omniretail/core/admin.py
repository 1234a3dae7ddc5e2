"""Back office for the organisation, access and infrastructure tables.

Stores, channels, terminals and API keys are created through their services
(a terminal gets its own receipt series, a key is shown once); the audit log,
series, outbox and idempotency keys are read-only ledgers.
"""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from omniretail.core.access import SCOPES, TERMINAL_DEFAULT_SCOPES
from omniretail.core.admin_scoping import (
    ReadOnlyAdminMixin,
    ReadOnlyTabularInline,
    StoreScopedAdminMixin,
    admin_actor,
)
from omniretail.core.apikeys import api_key_issue
from omniretail.core.models import (
    ApiKey,
    AuditLog,
    Channel,
    Company,
    IdempotencyKey,
    NumberSeries,
    OutboxEvent,
    StaffMembership,
    Store,
    Terminal,
)
from omniretail.core.services import channel_create, store_create, terminal_create


def adopt_created(obj: Model, created: Model) -> None:
    """Make the admin's unsaved instance the row a service just created, so
    the admin's log entry, message and redirect point at it."""
    for field in created._meta.concrete_fields:
        setattr(obj, field.attname, getattr(created, field.attname))
    obj._state.adding = False
    obj._state.db = created._state.db


class OrgWriteAdmin(admin.ModelAdmin):
    """Organisation records: only actors holding `org.write` may create them."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and admin_actor(request).can("org.write")


@admin.register(Company)
class CompanyAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "currency", "country", "tax_id", "prices_include_tax")
    search_fields = ("code", "name", "tax_id")

    def get_readonly_fields(self, request: HttpRequest, obj: Company | None = None) -> Any:
        # Posted documents and the books are kept in the company currency:
        # switching it is a migration, not an edit.
        return ("code", "currency") if obj else ()


@admin.register(Store)
class StoreAdmin(StoreScopedAdminMixin, OrgWriteAdmin):
    store_lookups = ("pk",)
    list_display = ("code", "name", "company", "active")
    list_filter = ("active", "company")
    list_select_related = ("company",)
    search_fields = ("code", "name", "address")

    def get_fields(self, request: HttpRequest, obj: Store | None = None) -> Any:
        if obj is None:
            return ("company", "code", "name", "address")
        return ("company", "code", "name", "address", "active")

    def get_readonly_fields(self, request: HttpRequest, obj: Store | None = None) -> Any:
        return ("company", "code") if obj else ()

    def save_model(self, request: HttpRequest, obj: Store, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        created = store_create(
            company=obj.company,
            code=obj.code,
            name=obj.name,
            address=obj.address,
            actor=admin_actor(request),
        )
        adopt_created(obj, created)


@admin.register(Channel)
class ChannelAdmin(OrgWriteAdmin):
    list_display = ("code", "name", "kind", "store", "company", "active")
    list_filter = ("kind", "active", ("store", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("store", "company")
    search_fields = ("code", "name")

    def get_fields(self, request: HttpRequest, obj: Channel | None = None) -> Any:
        if obj is None:
            return ("company", "code", "name", "kind", "store")
        return ("company", "code", "name", "kind", "store", "active")

    def get_readonly_fields(self, request: HttpRequest, obj: Channel | None = None) -> Any:
        # Orders, receipts and keys are tagged with the channel: its identity is fixed.
        return ("company", "code", "kind", "store") if obj else ()

    def save_model(self, request: HttpRequest, obj: Channel, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        created = channel_create(
            company=obj.company,
            code=obj.code,
            name=obj.name,
            kind=obj.kind,
            store=obj.store,
            actor=admin_actor(request),
        )
        adopt_created(obj, created)


class TerminalForm(forms.ModelForm):
    class Meta:
        model = Terminal
        fields = ("store", "channel", "code", "name", "active")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        store, channel = data.get("store"), data.get("channel")
        if store and channel and (channel.kind != Channel.Kind.POS or channel.store_id != store.pk):
            self.add_error(
                "channel",
                f"Pick the POS channel of {store}: a till sells on its own store's POS channel.",
            )
        return data


class TerminalApiKeyInline(ReadOnlyTabularInline):
    model = ApiKey
    fields = ("name", "prefix", "scopes", "active", "created_at", "last_used_at")
    verbose_name = "API key"


@admin.register(Terminal)
class TerminalAdmin(StoreScopedAdminMixin, OrgWriteAdmin):
    form = TerminalForm
    list_display = (
        "code",
        "name",
        "store",
        "channel",
        "receipt_series",
        "next_receipt_number",
        "active",
    )
    list_filter = ("active", ("store", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("store", "channel", "receipt_series")
    search_fields = ("code", "name", "receipt_series__prefix")
    inlines = (TerminalApiKeyInline,)

    def get_fields(self, request: HttpRequest, obj: Terminal | None = None) -> Any:
        if obj is None:
            return ("store", "channel", "code", "name")
        return (
            "store",
            "channel",
            "code",
            "name",
            "active",
            "receipt_series",
            "next_receipt_number",
            "receipt_series_head_hash",
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Terminal | None = None) -> Any:
        if obj is None:
            return ()
        return (
            "store",
            "channel",
            "code",
            "receipt_series",
            "next_receipt_number",
            "receipt_series_head_hash",
        )

    def get_inlines(self, request: HttpRequest, obj: Terminal | None) -> Any:
        return self.inlines if obj else ()

    @admin.display(description="next receipt")
    def next_receipt_number(self, obj: Terminal) -> str:
        series = obj.receipt_series
        return series.format(series.next_number)

    @admin.display(description="hash of the last receipt")
    def receipt_series_head_hash(self, obj: Terminal) -> str:
        return obj.receipt_series.head_hash

    def save_model(self, request: HttpRequest, obj: Terminal, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        created = terminal_create(
            store=obj.store,
            channel=obj.channel,
            code=obj.code,
            name=obj.name,
            actor=admin_actor(request),
        )
        adopt_created(obj, created)


@admin.register(StaffMembership)
class StaffMembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "role", "store")
    list_filter = ("role", ("store", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("user", "store")
    search_fields = ("user__username", "user__email", "user__first_name", "user__last_name")
    autocomplete_fields = ("user",)


class StaffMembershipInline(admin.TabularInline):
    model = StaffMembership
    extra = 0
    fields = ("role", "store")
    verbose_name = "role"
    verbose_name_plural = "roles (empty store = every store)"


User = get_user_model()


class StaffUserAdmin(UserAdmin):
    """The stock user admin, with the user's roles per store underneath."""

    inlines = (*UserAdmin.inlines, StaffMembershipInline)


if admin.site.is_registered(User):
    admin.site.unregister(User)
admin.site.register(User, StaffUserAdmin)


SCOPE_CHOICES = [(scope, scope) for scope in sorted(set(SCOPES.values()))]


class ApiKeyIssueForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=SCOPE_CHOICES,
        initial=TERMINAL_DEFAULT_SCOPES,
        widget=forms.CheckboxSelectMultiple,
        help_text="What the key may do. A terminal key acts only for its own store.",
    )

    class Meta:
        model = ApiKey
        fields = ("name", "channel", "terminal")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        channel, terminal = data.get("channel"), data.get("terminal")
        if channel and terminal and terminal.channel_id != channel.pk:
            self.add_error(
                "terminal", f"{terminal} sells on {terminal.channel}; pick that channel."
            )
        return data


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys are issued here through `api_key_issue` and shown once; the stored
    digest is never displayed and a key is never edited."""

    list_display = (
        "name",
        "kind",
        "prefix",
        "channel",
        "terminal",
        "scope_list",
        "active",
        "created_at",
        "last_used_at",
    )
    list_filter = ("kind", "active", ("channel", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("channel", "terminal__store")
    search_fields = ("name", "=prefix", "channel__code", "terminal__code")
    date_hierarchy = "created_at"

    def get_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> Any:
        if obj is None:
            return ("name", "channel", "terminal", "scopes")
        return (
            "name",
            "kind",
            "prefix",
            "channel",
            "terminal",
            "scopes",
            "active",
            "created_at",
            "last_used_at",
        )

    def get_form(
        self, request: HttpRequest, obj: ApiKey | None = None, change: bool = False, **kwargs: Any
    ) -> Any:
        if obj is None:
            kwargs["form"] = ApiKeyIssueForm
        return super().get_form(request, obj, change=change, **kwargs)

    @admin.display(description="scopes")
    def scope_list(self, obj: ApiKey) -> str:
        return ", ".join(obj.scopes)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and admin_actor(request).can("org.write")

    def has_change_permission(self, request: HttpRequest, obj: ApiKey | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: ApiKey | None = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        issued = api_key_issue(
            name=obj.name,
            channel=obj.channel,
            terminal=obj.terminal,
            scopes=list(form.cleaned_data["scopes"]),
            actor=admin_actor(request),
        )
        adopt_created(obj, issued.api_key)
        messages.warning(
            request,
            f"Copy the key for “{obj.name}” now — it is shown only this once: {issued.token}",
        )


@admin.register(AuditLog)
class AuditLogAdmin(StoreScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    store_permission = "books.read"
    list_display = ("at", "actor_label", "action", "object_type", "object_id", "store", "reason")
    list_filter = ("action", "object_type", ("store", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("store",)
    search_fields = ("actor_label", "action", "=object_id", "reason")
    date_hierarchy = "at"


@admin.register(NumberSeries)
class NumberSeriesAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("code", "prefix", "next_number", "padding", "head_hash")
    search_fields = ("code", "prefix")


@admin.register(OutboxEvent)
class OutboxEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("name", "id", "created_at", "delivered_at", "attempts", "next_attempt_at")
    list_filter = ("name", ("delivered_at", admin.EmptyFieldListFilter))
    search_fields = ("name", "last_error")
    date_hierarchy = "created_at"

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        try:
            event_id = uuid.UUID(search_term.strip())
        except ValueError:
            return results, may_have_duplicates
        return results | queryset.filter(pk=event_id), may_have_duplicates


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("scope", "key", "response_status", "created_at")
    list_filter = ("response_status",)
    search_fields = ("=scope", "key")
    date_hierarchy = "created_at"
