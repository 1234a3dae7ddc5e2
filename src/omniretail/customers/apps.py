from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "omniretail.customers"
    label = "customers"
    verbose_name = "Customers"
