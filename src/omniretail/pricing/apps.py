from django.apps import AppConfig


class PricingConfig(AppConfig):
    name = "omniretail.pricing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Cache invalidation only: a write to a row the cached pricing rules
        # are made of empties this process's rules cache (rules_cache.py).
        # Imported here because models cannot be imported before the registry is ready.
        from omniretail.pricing.shared_rules import rules_cache_watch_sources

        rules_cache_watch_sources()
