"""Report pages (mounted at /backoffice/reports/, namespace `reports`): the
dashboard (the back office's home for managers) and the campaign report with
its CSV download.

Pages parse, call one selector and render. Who sees what is the selectors'
rule (`reports_scope`): store managers their stores, accountants and admins
every store.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied as HttpForbidden
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

from omniretail.accounting.views import IsoDateField
from omniretail.core.access import Actor, actor_for_user
from omniretail.core.errors import DomainError
from omniretail.pricing.models import Campaign
from omniretail.reporting.selectors import (
    REPORTS_PERMISSION,
    CampaignReport,
    campaign_report,
    campaign_report_rows,
)
from omniretail.reporting.selectors_dashboard import dashboard


def _reports_actor(request: HttpRequest) -> Actor:
    actor = actor_for_user(request.user)
    if not actor.can(REPORTS_PERMISSION):
        raise HttpForbidden(
            "Your roles do not include reports; ask an administrator for the store manager "
            "or accountant role."
        )
    return actor


@staff_member_required
@require_GET
def dashboard_page(request: HttpRequest) -> HttpResponse:
    actor = _reports_actor(request)
    board = dashboard(actor=actor)
    context = {
        **admin.site.each_context(request),
        "title": "Dashboard",
        "board": board,
    }
    return render(request, "reporting/dashboard.html", context)


class CampaignReportForm(forms.Form):
    """?from=YYYY-MM-DD&to=YYYY-MM-DD[&campaign=<code>]; `from` is a Python
    keyword, so the date fields are added in __init__."""

    def __init__(self, data: Any) -> None:
        super().__init__(data)
        self.fields["from"] = IsoDateField(label="From")
        self.fields["to"] = IsoDateField(label="To")
        self.fields["campaign"] = forms.ChoiceField(
            label="Campaign",
            required=False,
            choices=[
                ("", "All campaigns"),
                *Campaign.objects.order_by("code").values_list("code", "name"),
            ],
            error_messages={
                "invalid_choice": "Campaign: not a known campaign code; pick one from the list."
            },
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("from"), data.get("to")
        if start and end and end < start:
            self.add_error("to", "To: the end date is before the start date; swap them.")
        return data


def _campaign_form(request: HttpRequest) -> CampaignReportForm:
    """Bound to the query; this month so far when no dates are given."""
    today = timezone.localdate()
    data: dict[str, Any] = {"from": today.replace(day=1).isoformat(), "to": today.isoformat()}
    data.update(request.GET.dict())
    return CampaignReportForm(data)


def _errors(form: forms.Form) -> list[str]:
    return [str(message) for errors in form.errors.values() for message in errors]


def _run(actor: Actor, form: CampaignReportForm) -> CampaignReport | None:
    if not form.is_valid():
        return None
    try:
        return campaign_report(
            actor=actor,
            date_from=form.cleaned_data["from"],
            date_to=form.cleaned_data["to"],
            campaign_code=form.cleaned_data.get("campaign") or None,
        )
    except DomainError as exc:
        form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        return None


@staff_member_required
@require_GET
def campaign_report_page(request: HttpRequest) -> HttpResponse:
    actor = _reports_actor(request)
    form = _campaign_form(request)
    report = _run(actor, form)
    csv_url = None
    if report is not None:
        params = {"from": report.date_from.isoformat(), "to": report.date_to.isoformat()}
        if form.cleaned_data.get("campaign"):
            params["campaign"] = form.cleaned_data["campaign"]
        csv_url = f"{reverse('reports:campaigns_csv')}?{urlencode(params)}"
    context = {
        **admin.site.each_context(request),
        "title": "Campaign report",
        "form": form,
        "errors": _errors(form),
        "report": report,
        "csv_url": csv_url,
        "all_stores": actor.store_ids(REPORTS_PERMISSION) is None,
    }
    return render(request, "reporting/campaigns.html", context, status=422 if form.errors else 200)


class _Echo:
    """A file-like object whose write returns the line: csv.writer streams rows."""

    def write(self, value: str) -> str:
        return value


@staff_member_required
@require_GET
def campaign_report_csv(request: HttpRequest) -> HttpResponseBase:
    actor = _reports_actor(request)
    form = _campaign_form(request)
    report = _run(actor, form)
    if report is None:
        return HttpResponse(
            "\n".join(_errors(form)) + "\n", status=422, content_type="text/plain; charset=utf-8"
        )
    writer = csv.writer(_Echo())
    lines: Iterator[str] = (writer.writerow(row) for row in campaign_report_rows(report))
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    name = f"campaigns_{report.date_from.isoformat()}_{report.date_to.isoformat()}"
    if form.cleaned_data.get("campaign"):
        name += f"_{form.cleaned_data['campaign']}"
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response
