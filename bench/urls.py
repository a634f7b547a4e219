"""The pixel and click views, and the bare constant views they are measured against."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from django.urls.resolvers import RoutePattern

from ptrack.answers import CLICK_REDIRECT_HEADERS, PIXEL_GIF, PIXEL_HEADERS
from ptrack.urls import _PixelPattern


def bare(request: HttpRequest, token: str) -> HttpResponse:
    """The least a Django view can do to answer with the pixel: no token, no recorder."""
    return HttpResponse(PIXEL_GIF, content_type="image/gif", headers=PIXEL_HEADERS)


async def abare(request: HttpRequest, token: str) -> HttpResponse:
    """``bare`` for ASGI, where a sync view would cost a thread hop the pixel view does not."""
    return HttpResponse(PIXEL_GIF, content_type="image/gif", headers=PIXEL_HEADERS)


# The click endpoint's redirect headers, with a constant destination.
REDIRECT_HEADERS = {**dict(CLICK_REDIRECT_HEADERS), "Location": "https://www.example.com/pricing"}


def bare302(request: HttpRequest, token: str) -> HttpResponse:
    """The least a Django view can do to answer a click: a constant 302, no token, no recorder."""
    return HttpResponse(b"", status=302, headers=REDIRECT_HEADERS)


async def abare302(request: HttpRequest, token: str) -> HttpResponse:
    """``bare302`` for ASGI, as ``abare`` is ``bare``'s."""
    return HttpResponse(b"", status=302, headers=REDIRECT_HEADERS)


urlpatterns = [
    path("ptrack/", include("ptrack.urls")),
    # The async view under ASGI, as for the pixel, so that both are on the same footing.
    _PixelPattern(RoutePattern("bare/<path:token>/", is_endpoint=True), bare, abare),
    _PixelPattern(RoutePattern("bare302/<path:token>/", is_endpoint=True), bare302, abare302),
]
