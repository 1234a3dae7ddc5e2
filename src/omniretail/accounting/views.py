"""The accountant's back-office pages (mounted at /backoffice/books/, namespace
`books`): the trial balance, sales by channel and the journal downloads.

Pages parse the date range, call one selector and render. Store scoping is
the selectors' (`books.read`, `books.export`): a store manager sees only their
stores' figures and may not download the journal.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied as HttpForbidden
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

from omniretail.accounting.export import (
    IIF_ENCODING,
    journal_csv,
    journal_export_audit,
    journal_iif,
)
from omniretail.accounting.reports import sales_by_channel, trial_balance
from omniretail.core.access import Actor, actor_for_user
from omniretail.core.errors import DomainError
from omniretail.core.models import Store

DATE_FORMAT = "%Y-%m-%d"


class IsoDateField(forms.DateField):
    """A YYYY-MM-DD date whose error names the field and shows what was typed."""

    def __init__(self, *, label: str, **kwargs: Any) -> None:
        super().__init__(
            label=label,
            input_formats=[DATE_FORMAT],
            widget=forms.DateInput(attrs={"type": "date"}, format=DATE_FORMAT),
            error_messages={"required": f"{label}: enter a date as YYYY-MM-DD."},
            **kwargs,
        )

    def to_python(self, value: Any) -> dt.date | None:
        try:
            return super().to_python(value)
        except forms.ValidationError:
            raise forms.ValidationError(
                f"{self.label}: {str(value)[:40]!r} is not a date; enter it as YYYY-MM-DD "
                "(for example 2025-03-31).",
                code="invalid",
            ) from None


class BooksRangeForm(forms.Form):
    """?from=YYYY-MM-DD&to=YYYY-MM-DD&store=<id>[&group=day|month]; the field
    names are the query's, so `from` is added in __init__ (a Python keyword)."""

    def __init__(
        self, data: Any, *, stores: QuerySet[Store], all_label: str, with_grouping: bool
    ) -> None:
        super().__init__(data)
        self.fields["from"] = IsoDateField(label="From")
        self.fields["to"] = IsoDateField(label="To")
        self.fields["store"] = forms.ModelChoiceField(
            queryset=stores,
            required=False,
            empty_label=all_label,
            label="Store",
            error_messages={
                "invalid_choice": "Store: not one of your stores; pick one from the list."
            },
        )
        if with_grouping:
            self.fields["group"] = forms.ChoiceField(
                choices=[("day", "Day"), ("month", "Month")],
                required=False,
                label="Per",
                error_messages={"invalid_choice": "Per: choose day or month."},
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("from"), data.get("to")
        if start and end and end < start:
            self.add_error("to", "To: the end date is before the start date; swap them.")
        return data


def _books_actor(request: HttpRequest, permission: str) -> Actor:
    actor = actor_for_user(request.user)
    if not actor.can(permission):
        what = "download the journal" if permission == "books.export" else "read the books"
        raise HttpForbidden(
            f"Your roles do not allow you to {what}; ask an administrator for the accountant role."
        )
    return actor


def _stores_for(actor: Actor, permission: str) -> QuerySet[Store]:
    stores = Store.objects.order_by("name")
    store_ids = actor.store_ids(permission)
    return stores if store_ids is None else stores.filter(pk__in=store_ids)


def _range_form(
    request: HttpRequest, actor: Actor, permission: str, *, with_grouping: bool = False
) -> BooksRangeForm:
    """The form bound to the query, this month so far when no dates are given."""
    today = timezone.localdate()
    data: dict[str, Any] = {"from": today.replace(day=1).isoformat(), "to": today.isoformat()}
    data.update(request.GET.dict())
    every_store = actor.store_ids(permission) is None
    return BooksRangeForm(
        data,
        stores=_stores_for(actor, permission),
        all_label="All stores" if every_store else "All my stores",
        with_grouping=with_grouping,
    )


def _export_links(actor: Actor, form: BooksRangeForm) -> dict[str, str]:
    if not actor.can("books.export") or not form.is_valid():
        return {}
    params = {
        "from": form.cleaned_data["from"].isoformat(),
        "to": form.cleaned_data["to"].isoformat(),
    }
    if form.cleaned_data.get("store"):
        params["store"] = form.cleaned_data["store"].pk
    query = urlencode(params)
    return {
        "csv": f"{reverse('books:export_csv')}?{query}",
        "iif": f"{reverse('books:export_iif')}?{query}",
    }


def _error_messages(form: BooksRangeForm) -> list[str]:
    return [str(message) for errors in form.errors.values() for message in errors]


def _page(
    request: HttpRequest,
    actor: Actor,
    template: str,
    title: str,
    form: BooksRangeForm,
    **extra: Any,
) -> HttpResponse:
    context = {
        **admin.site.each_context(request),
        "title": title,
        "form": form,
        "errors": _error_messages(form) if form.errors else [],
        "export_links": _export_links(actor, form),
        **extra,
    }
    return render(request, template, context, status=422 if form.errors else 200)


@staff_member_required
@require_GET
def trial_balance_page(request: HttpRequest) -> HttpResponse:
    actor = _books_actor(request, "books.read")
    form = _range_form(request, actor, "books.read")
    report = None
    if form.is_valid():
        store = form.cleaned_data.get("store")
        try:
            report = trial_balance(
                actor=actor,
                date_from=form.cleaned_data["from"],
                date_to=form.cleaned_data["to"],
                store_id=store.pk if store else None,
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
    return _page(
        request, actor, "accounting/trial_balance.html", "Trial balance", form, report=report
    )


@staff_member_required
@require_GET
def sales_by_channel_page(request: HttpRequest) -> HttpResponse:
    actor = _books_actor(request, "books.read")
    form = _range_form(request, actor, "books.read", with_grouping=True)
    report = None
    if form.is_valid():
        store = form.cleaned_data.get("store")
        try:
            report = sales_by_channel(
                actor=actor,
                date_from=form.cleaned_data["from"],
                date_to=form.cleaned_data["to"],
                grouping=form.cleaned_data.get("group") or "day",
                store_id=store.pk if store else None,
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
    return _page(
        request, actor, "accounting/sales_by_channel.html", "Sales by channel", form, report=report
    )


def _export(request: HttpRequest, fmt: str) -> HttpResponseBase:
    actor = _books_actor(request, "books.export")
    form = _range_form(request, actor, "books.export")
    if not form.is_valid():
        return HttpResponse(
            "\n".join(_error_messages(form)) + "\n",
            status=422,
            content_type="text/plain; charset=utf-8",
        )
    store = form.cleaned_data.get("store")
    date_from, date_to = form.cleaned_data["from"], form.cleaned_data["to"]
    producer = journal_csv if fmt == "csv" else journal_iif
    try:
        lines = producer(
            actor=actor, date_from=date_from, date_to=date_to, store_id=store.pk if store else None
        )
    except DomainError as exc:
        return HttpResponse(
            exc.message + "\n", status=exc.http_status, content_type="text/plain; charset=utf-8"
        )
    journal_export_audit(
        actor=actor,
        fmt=fmt,
        date_from=date_from,
        date_to=date_to,
        store_id=store.pk if store else None,
    )
    if fmt == "csv":
        response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    else:
        # Encoded here: a character Windows-1252 lacks becomes "?" instead of
        # breaking the download halfway.
        response = StreamingHttpResponse(
            (line.encode(IIF_ENCODING, errors="replace") for line in lines),
            content_type=f"application/octet-stream; charset={IIF_ENCODING}",
        )
    suffix = f"_{store.code}" if store else ""
    filename = f"journal_{date_from.isoformat()}_{date_to.isoformat()}{suffix}.{fmt}"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@staff_member_required
@require_GET
def journal_export_csv(request: HttpRequest) -> HttpResponseBase:
    return _export(request, "csv")


@staff_member_required
@require_GET
def journal_export_iif(request: HttpRequest) -> HttpResponseBase:
    return _export(request, "iif")
