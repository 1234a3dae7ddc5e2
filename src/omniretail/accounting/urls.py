"""The accountant's back-office pages (mounted at /backoffice/books/)."""

from django.urls import path

from omniretail.accounting import views

app_name = "books"

urlpatterns = [
    path("trial-balance/", views.trial_balance_page, name="trial_balance"),
    path("sales-by-channel/", views.sales_by_channel_page, name="sales_by_channel"),
    path("export.csv", views.journal_export_csv, name="export_csv"),
    path("export.iif", views.journal_export_iif, name="export_iif"),
]
