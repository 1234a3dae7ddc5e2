from django.apps import AppConfig


class ShopConfig(AppConfig):
    """The built-in web shop: a channel like any other (ARCHITECTURE.md)."""

    name = "omniretail.channels.shop"
    label = "shop"
    verbose_name = "Web shop"
    default_auto_field = "django.db.models.BigAutoField"
