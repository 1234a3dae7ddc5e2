from django.apps import AppConfig


class AccountingConfig(AppConfig):
    name = "omniretail.accounting"
    label = "accounting"
    verbose_name = "Accounting: fiscal documents and the books"
