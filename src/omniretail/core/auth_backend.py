"""Admin permissions follow a staff user's roles (StaffMembership), so the
back office and the services read one source of truth and cannot drift."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission

from omniretail.core.access import ADMIN, role_admin_permissions
from omniretail.core.models import StaffMembership


class RolePermissionBackend(ModelBackend):
    def get_all_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        perms = set(super().get_all_permissions(user_obj, obj))
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return perms
        if not hasattr(user_obj, "_omni_role_perm_cache"):
            roles = set(
                StaffMembership.objects.filter(user=user_obj).values_list("role", flat=True)
            )
            granted: set[str] = set()
            if ADMIN in roles:
                granted = {
                    f"{app}.{codename}"
                    for app, codename in Permission.objects.values_list(
                        "content_type__app_label", "codename"
                    )
                }
            for role in roles:
                granted |= role_admin_permissions(role)
            user_obj._omni_role_perm_cache = granted
        return perms | user_obj._omni_role_perm_cache
