"""URLs of the app deployment: the dashboard, the inbox, the admin and the pixels."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("campaigns.urls")),
    path("admin/", admin.site.urls),
    path("ptrack/", include("ptrack.urls")),
]
