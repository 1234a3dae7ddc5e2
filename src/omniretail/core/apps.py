from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate


class CoreConfig(AppConfig):
    name = "omniretail.core"
    label = "core"
    verbose_name = "Core: organisation, access, fiscal series, audit"

    def ready(self) -> None:
        post_migrate.connect(_sync_groups, dispatch_uid="core-sync-groups")


def _sync_groups(sender: AppConfig, **kwargs: object) -> None:
    # Once per migrate, after the last app: by then every permission row exists.
    last = [config for config in apps.get_app_configs() if config.models_module][-1]
    if sender.label != last.label:
        return
    from omniretail.core.access import roles_sync_groups  # needs the app registry ready

    roles_sync_groups()
