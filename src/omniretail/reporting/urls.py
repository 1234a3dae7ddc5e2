"""Report pages (mounted at /backoffice/reports/)."""

from django.urls import path

from omniretail.reporting import views

app_name = "reports"

urlpatterns = [
    path("", views.dashboard_page, name="dashboard"),
    path("campaigns/", views.campaign_report_page, name="campaigns"),
    path("campaigns.csv", views.campaign_report_csv, name="campaigns_csv"),
]
