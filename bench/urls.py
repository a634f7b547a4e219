"""The pixel view, and the bare constant-GIF view it is measured against."""

from __future__ import annotations

import asyncio

from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, include, path
from django.urls.resolvers import ResolverMatch, RoutePattern

from ptrack.tracking import PIXEL_GIF, PIXEL_HEADERS


def bare(request: HttpRequest, token: str) -> HttpResponse:
    """The least a Django view can do to answer with the pixel: no token, no recorder."""
    return HttpResponse(PIXEL_GIF, content_type="image/gif", headers=PIXEL_HEADERS)


async def abare(request: HttpRequest, token: str) -> HttpResponse:
    """``bare`` for ASGI, where a sync view would cost a thread hop the pixel view does not."""
    return HttpResponse(PIXEL_GIF, content_type="image/gif", headers=PIXEL_HEADERS)


class _NativePattern(URLPattern):
    # As ptrack.urls does for the pixel: the async view inside an event loop (ASGI),
    # the sync one otherwise, so that both views are on the same footing.
    def resolve(self, path: str) -> ResolverMatch | None:
        match = super().resolve(path)
        if match is not None:
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                return match
            match.func = abare
        return match


urlpatterns = [
    path("ptrack/", include("ptrack.urls")),
    _NativePattern(RoutePattern("bare/<path:token>/", is_endpoint=True), bare),
]
