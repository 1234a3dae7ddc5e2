from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from omniretail.api import api

admin.site.site_header = "OmniRetail back office"
admin.site.site_title = "OmniRetail"
admin.site.index_title = "One system of record"

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    path("backoffice/inventory/", include("omniretail.inventory.urls")),
    path("backoffice/orders/", include("omniretail.channels.urls")),
    path("backoffice/books/", include("omniretail.accounting.urls")),
    path("api/v1/", api.urls),
    path("api/docs", RedirectView.as_view(url="/api/v1/docs", permanent=False)),
    path("api/docs/", RedirectView.as_view(url="/api/v1/docs", permanent=False)),
]
urlpatterns.append(path("shop/", include("omniretail.channels.shop.urls")))
urlpatterns.append(path("pos/", include("omniretail.channels.pos.urls")))  # the till PWA
urlpatterns.append(path("backoffice/customers/", include("omniretail.channels.customer_urls")))
urlpatterns.append(path("backoffice/reports/", include("omniretail.reporting.urls")))
