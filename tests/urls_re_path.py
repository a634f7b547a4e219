from __future__ import annotations

from django.urls import include, re_path

urlpatterns = [re_path(r"^pixels/", include("ptrack.urls"))]
