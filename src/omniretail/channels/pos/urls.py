"""The till's web app (mounted at /pos/)."""

from django.urls import path

from omniretail.channels.pos import views

app_name = "pos"

urlpatterns = [
    path("", views.app_shell, name="app"),
    path("manifest.webmanifest", views.manifest, name="manifest"),
    path("sw.js", views.service_worker, name="service_worker"),
]
