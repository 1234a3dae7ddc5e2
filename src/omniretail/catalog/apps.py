from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "omniretail.catalog"
    label = "catalog"
    verbose_name = "Catalog"
