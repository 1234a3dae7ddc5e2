"""The project's URLs plus the back-office order pages until the lead mounts them.

Tests use it with `override_settings(ROOT_URLCONF="tests.orders.urls_for_tests")`
and the final paths (/backoffice/orders/...): the pages are added here only if
omniretail.urls does not mount them already, so the tests keep working
unchanged once it does.
"""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, include, path

from omniretail import urls as project_urls


def _mounts_order_pages(pattern: URLPattern | URLResolver) -> bool:
    return isinstance(pattern, URLResolver) and pattern.namespace == "backoffice_orders"


urlpatterns: list[URLPattern | URLResolver] = list(project_urls.urlpatterns)

if not any(_mounts_order_pages(p) for p in project_urls.urlpatterns):
    urlpatterns.append(path("backoffice/orders/", include("omniretail.channels.urls")))
