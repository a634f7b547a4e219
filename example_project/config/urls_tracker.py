"""URLs of the tracker deployment: the pixels and nothing else."""

from __future__ import annotations

from django.urls import include, path

urlpatterns = [
    path("ptrack/", include("ptrack.urls")),
]
