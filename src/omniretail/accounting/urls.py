"""The accountant's back-office pages (mounted at /backoffice/books/)."""

from django.urls import path

from omniretail.accounting import views, views_documents

app_name = "books"

urlpatterns = [
    path("trial-balance/", views.trial_balance_page, name="trial_balance"),
    path("sales-by-channel/", views.sales_by_channel_page, name="sales_by_channel"),
    path("export.csv", views.journal_export_csv, name="export_csv"),
    path("export.iif", views.journal_export_iif, name="export_iif"),
    # Printable documents and closings (views_documents.py).
    path(
        "receipts/<int:pk>/print",
        views_documents.document_print,
        {"kind": "receipt", "fmt": "html"},
        name="receipt_print",
    ),
    path(
        "receipts/<int:pk>/print.pdf",
        views_documents.document_print,
        {"kind": "receipt", "fmt": "pdf"},
        name="receipt_pdf",
    ),
    path(
        "invoices/<int:pk>/print",
        views_documents.document_print,
        {"kind": "invoice", "fmt": "html"},
        name="invoice_print",
    ),
    path(
        "invoices/<int:pk>/print.pdf",
        views_documents.document_print,
        {"kind": "invoice", "fmt": "pdf"},
        name="invoice_pdf",
    ),
    path(
        "credit-notes/<int:pk>/print",
        views_documents.document_print,
        {"kind": "credit_note", "fmt": "html"},
        name="credit_note_print",
    ),
    path(
        "credit-notes/<int:pk>/print.pdf",
        views_documents.document_print,
        {"kind": "credit_note", "fmt": "pdf"},
        name="credit_note_pdf",
    ),
    path("closings/", views_documents.closings_page, name="closings"),
]
