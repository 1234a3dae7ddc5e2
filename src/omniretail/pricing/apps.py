from django.apps import AppConfig


class PricingConfig(AppConfig):
    name = "omniretail.pricing"
    default_auto_field = "django.db.models.BigAutoField"
