"""Printable fiscal documents and the closings list (mounted under
/backoffice/books/, namespace `books`).

Who may see a document: `books.read` or `orders.read` in its store; a
document of no store (a web order's invoice) only to roles over every store.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied as HttpForbidden
from django.db.models import Model
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from omniretail.accounting.models import Closing, CreditNote, Invoice, Receipt
from omniretail.accounting.printing import document_html, document_pdf, receipt_html, receipt_pdf
from omniretail.core.access import Actor, actor_for_user

READ_PERMISSIONS = ("books.read", "orders.read")


def _may_read(actor: Actor, store_id: int | None) -> bool:
    return any(actor.can(p, store_id, company_wide=store_id is None) for p in READ_PERMISSIONS)


def _document(request: HttpRequest, model: type[Model], pk: int) -> Receipt | Invoice | CreditNote:
    document = model._default_manager.filter(pk=pk).first()
    if document is None:
        raise Http404(f"No {model._meta.verbose_name} #{pk}.")
    if not _may_read(actor_for_user(request.user), document.store_id):  # type: ignore[attr-defined]
        raise HttpForbidden(
            "Your roles do not cover this document's store; ask an administrator for books.read "
            "or orders.read there."
        )
    return document  # type: ignore[return-value]


def _pdf(content: bytes, name: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{name}.pdf"'
    return response


# The printable documents: model, HTML renderer and PDF renderer per kind.
PRINTABLE: dict[str, tuple[type[Model], Callable[[Any], str], Callable[[Any], bytes]]] = {
    "receipt": (Receipt, receipt_html, receipt_pdf),
    "invoice": (Invoice, document_html, document_pdf),
    "credit_note": (CreditNote, document_html, document_pdf),
}


@staff_member_required
@require_GET
def document_print(request: HttpRequest, pk: int, kind: str, fmt: str) -> HttpResponse:
    """A receipt (80 mm), an invoice or a credit note (A4), as HTML or PDF."""
    model, as_html, as_pdf = PRINTABLE[kind]
    document = _document(request, model, pk)
    if fmt == "pdf":
        return _pdf(as_pdf(document), document.full_number)  # type: ignore[attr-defined]
    return HttpResponse(as_html(document))


@staff_member_required
@require_GET
def closings_page(request: HttpRequest) -> HttpResponse:
    actor = actor_for_user(request.user)
    if not actor.can("books.read"):
        raise HttpForbidden("Your roles do not allow you to read the books; ask an administrator.")
    closings = Closing.objects.select_related("store").order_by("-period_start", "period", "scope")
    store_ids = actor.store_ids("books.read")
    if store_ids is not None:
        closings = closings.filter(store_id__in=store_ids)
    context = {**admin.site.each_context(request), "title": "Closings", "closings": closings[:500]}
    return render(request, "accounting/documents/closings.html", context)
