from django.apps import AppConfig


class LoyaltyConfig(AppConfig):
    name = "omniretail.loyalty"
    default_auto_field = "django.db.models.BigAutoField"
