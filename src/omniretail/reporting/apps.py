from django.apps import AppConfig


class ReportingConfig(AppConfig):
    name = "omniretail.reporting"
    label = "reporting"
    verbose_name = "Reporting: dashboards and reports (read-only)"
