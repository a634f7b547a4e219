from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

urlpatterns = [path("ptrack/", include("ptrack.urls")), path("admin/", admin.site.urls)]
