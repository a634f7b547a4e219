"""Include with ``path("ptrack/", include("ptrack.urls"))`` (or ``re_path``).

Three endpoints: pixels at ``<token>/`` (name ``"ptrack"``), click links at
``c/<token>/`` (name ``"ptrack_click"``), and withdrawal pages at ``w/<token>/``
(name ``"ptrack_withdraw"``). The pixel pattern matches any text but ``c/...``
and ``w/...``, so it comes first: the most frequent request fails no pattern
before its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from django.urls import URLPattern, path, register_converter
from django.urls.resolvers import ResolverMatch, RoutePattern

from ptrack import views, withdrawal
from ptrack.links import CLICK_SEGMENT, CLICK_URL_NAME, PIXEL_URL_NAME


class _TokenConverter:
    # Any text at all, newlines included, so that every request under the prefix
    # gets the pixel rather than a 404 page; but what the click pattern takes
    # (c/, then a token and its closing /) and withdrawal links' w/, so that the
    # pixel can be tried first. No pixel token holds a "/".
    regex = "(?s:(?!c/..|w/).+)"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


class _PixelPattern(URLPattern):
    """Resolves to the async view inside an event loop (ASGI), else the sync view.

    Django resolves the URL in the event loop's thread under ASGI and in the
    worker's thread under WSGI, so each server gets the view native to it and
    neither pays for a sync/async bridge.
    """

    def __init__(
        self,
        pattern: RoutePattern,
        callback: Callable[..., Any],
        async_callback: Callable[..., Any],
        name: str | None = None,
    ) -> None:
        super().__init__(pattern, callback, name=name)
        self.async_callback = async_callback

    def resolve(self, path: str) -> ResolverMatch | None:
        match = super().resolve(path)
        if match is not None:
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                return match
            match.func = self.async_callback
        return match


class _ClickTokenConverter(_TokenConverter):
    # After c/, any text at all: whatever follows is the click view's to refuse.
    regex = "(?s:.+)"


register_converter(_TokenConverter, "ptrack_token")
register_converter(_ClickTokenConverter, "ptrack_click_token")

urlpatterns = [
    _PixelPattern(
        RoutePattern("<ptrack_token:ptrack_encoded_data>/", name=PIXEL_URL_NAME, is_endpoint=True),
        views.pixel,
        views.apixel,
        name=PIXEL_URL_NAME,
    ),
    _PixelPattern(
        RoutePattern(
            CLICK_SEGMENT + "<ptrack_click_token:ptrack_encoded_data>/",
            name=CLICK_URL_NAME,
            is_endpoint=True,
        ),
        views.click,
        views.aclick,
        name=CLICK_URL_NAME,
    ),
    path(
        withdrawal.SEGMENT + "<path:ptrack_encoded_data>/",
        withdrawal.withdraw,
        name=withdrawal.URL_NAME,
    ),
]
