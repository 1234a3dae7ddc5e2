from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "omniretail.core"
    label = "core"
    verbose_name = "Core: organisation, access, fiscal series, audit"
