"""Back-office pages of the inventory app (mounted at /backoffice/inventory/)."""

from django.urls import path

from omniretail.inventory import views

app_name = "inventory"

urlpatterns = [
    path("reorder/", views.reorder_page, name="reorder"),
]
