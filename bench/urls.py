"""The pixel view, and the bare constant-GIF view it is measured against."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import include, path

from ptrack.tracking import PIXEL_GIF, PIXEL_HEADERS


def bare(request: HttpRequest, token: str) -> HttpResponse:
    """The least a Django view can do to answer with the pixel: no token, no recorder."""
    return HttpResponse(PIXEL_GIF, content_type="image/gif", headers=PIXEL_HEADERS)


urlpatterns = [
    path("ptrack/", include("ptrack.urls")),
    path("bare/<path:token>/", bare),
]
