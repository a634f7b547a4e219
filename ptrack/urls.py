"""Include with ``path("ptrack/", include("ptrack.urls"))`` (or ``re_path``)."""

from __future__ import annotations

from django.urls import path, register_converter

from ptrack import views


class _TokenConverter:
    # Any text at all, newlines included, so that every request under the prefix
    # gets the pixel rather than a 404 page.
    regex = "(?s:.+)"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(_TokenConverter, "ptrack_token")

urlpatterns = [
    path("<ptrack_token:ptrack_encoded_data>/", views.pixel, name="ptrack"),
]
