"""Back-office order pages (mounted at /backoffice/orders/)."""

from django.urls import path

from omniretail.channels import views

app_name = "backoffice_orders"

urlpatterns = [
    path("", views.order_list, name="list"),
    path("new/", views.phone_order, name="new"),
    path("customers/", views.customer_search, name="customer_search"),
    path("<int:order_id>/", views.order_detail, name="detail"),
    path("<int:order_id>/hold/", views.order_hold_action, name="hold"),
    path("<int:order_id>/release/", views.order_release_action, name="release"),
    path("<int:order_id>/cancel/", views.order_cancel_action, name="cancel"),
]
