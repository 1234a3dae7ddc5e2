from django.apps import AppConfig


class ShopConfig(AppConfig):
    """The built-in web shop: a channel like any other (ARCHITECTURE.md)."""

    name = "omniretail.channels.shop"
    label = "shop"
    verbose_name = "Web shop"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Cache invalidation only (caching.py): a change of what the storefront
        # caches starts a new cache generation. No business logic here.
        from django.db.models.signals import post_delete, post_save

        from omniretail.catalog.models import Category, KitComponent, Product, Variant
        from omniretail.core.models import Store
        from omniretail.inventory.models import ChannelLocation
        from omniretail.pricing.models import PriceList, PriceListEntry, Promotion

        from .caching import catalog_changed

        for model in (
            Product,
            Variant,
            KitComponent,
            Category,
            Store,
            ChannelLocation,
            PriceList,
            PriceListEntry,
            Promotion,
        ):
            post_save.connect(catalog_changed, sender=model, dispatch_uid=f"shop-cache-{model}")
            post_delete.connect(catalog_changed, sender=model, dispatch_uid=f"shop-cache-d-{model}")
