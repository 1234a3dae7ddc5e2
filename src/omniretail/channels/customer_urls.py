"""Back-office customer pages (mounted at /backoffice/customers/)."""

from django.urls import path

from omniretail.channels import customer_views as views

app_name = "backoffice_customers"

urlpatterns = [
    path("", views.customer_list, name="list"),
    path("<int:customer_id>/", views.customer_detail, name="detail"),
    path("<int:customer_id>/merge/", views.customer_merge_action, name="merge"),
    path("<int:customer_id>/erase/", views.customer_erase_action, name="erase"),
    path("<int:customer_id>/consents/", views.customer_consents_action, name="consents"),
    path("<int:customer_id>/export/", views.customer_export_download, name="export"),
]
