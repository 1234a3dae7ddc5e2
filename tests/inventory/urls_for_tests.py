"""The project's URLs plus the purchasing pieces until the lead mounts them.

Tests use it with `override_settings(ROOT_URLCONF="tests.inventory.urls_for_tests")`
and the final paths (/backoffice/inventory/reorder/, /api/v1/inventory/...):
each piece is added here only if omniretail.urls / omniretail.api do not
mount it already, so the tests keep working unchanged once they do.
"""

from __future__ import annotations

from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from ninja import NinjaAPI

import omniretail.inventory.admin_purchasing  # noqa: F401  (registers the admin pages)
from omniretail import urls as project_urls
from omniretail.api import api as project_api
from omniretail.core.api_auth import KeyAuth, StaffSessionAuth
from omniretail.inventory.api_purchasing import router as purchasing_router


def _is_admin(pattern: URLPattern | URLResolver) -> bool:
    return isinstance(pattern, URLResolver) and getattr(pattern, "app_name", None) == "admin"


def _mounts_inventory_pages(pattern: URLPattern | URLResolver) -> bool:
    return isinstance(pattern, URLResolver) and pattern.namespace == "inventory"


# admin.site.urls is built when read: read it again now that the purchasing
# models are registered.
urlpatterns: list[URLPattern | URLResolver] = [path("admin/", admin.site.urls)]
urlpatterns += [p for p in project_urls.urlpatterns if not _is_admin(p)]

if not any(_mounts_inventory_pages(p) for p in project_urls.urlpatterns):
    urlpatterns.append(path("backoffice/inventory/", include("omniretail.inventory.urls")))

if not any(router is purchasing_router for _, router in project_api._routers):
    # A second API at the same prefix: Django falls through to it for the paths
    # the project API does not have, with the same auth and error bodies.
    test_api = NinjaAPI(
        auth=[KeyAuth(), StaffSessionAuth()],
        urls_namespace="api-v1-purchasing-tests",
        docs_url=None,
        openapi_url=None,
    )
    for exc_class, handler in project_api._exception_handlers.items():
        test_api.add_exception_handler(exc_class, handler)
    test_api.add_router("/inventory", purchasing_router)
    urlpatterns.append(path("api/v1/", test_api.urls))
