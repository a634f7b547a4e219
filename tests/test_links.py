from __future__ import annotations

from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, override_settings
from django.utils.html import format_html
from freezegun import freeze_time

import ptrack
from ptrack import tokens
from tests.conftest import Recorded


def test_pixel_builds_url_and_img(client: Client, recorded: Recorded) -> None:
    pixel = ptrack.Pixel("welcome", user_id=9, expires="kwarg, not an option")
    url = pixel.url()
    assert url.startswith("https://track.example.com/ptrack/")
    assert pixel.img() == format_html(ptrack.links.IMG_HTML, url)
    assert str(pixel) == pixel.__html__() == pixel.img()
    client.get(urlsplit(url).path)
    assert recorded.calls == [(("welcome",), {"user_id": 9, "expires": "kwarg, not an option"})]


def test_pixel_repr() -> None:
    assert repr(ptrack.Pixel("a", 1, b=[2])) == "Pixel('a', 1, b=[2])"


def test_build_functions_take_explicit_args() -> None:
    t0 = datetime(2026, 6, 1, tzinfo=timezone.utc)
    with freeze_time(t0):
        url = ptrack.build_url(["a"], {"b": 1}, expires=timedelta(days=1))
        img = ptrack.build_img(["a"], {"b": 1})
        decoded = tokens.loads(urlsplit(url).path.split("/")[2])
    assert (decoded.args, decoded.kwargs) == (("a",), {"b": 1})
    assert decoded.expires_at == t0 + timedelta(days=1)
    assert img.startswith('<img src="https://track.example.com/ptrack/')


@override_settings(PTRACK_APP_URL="")
def test_missing_app_url_is_a_clear_error() -> None:
    with pytest.raises(ImproperlyConfigured, match="PTRACK_APP_URL is not set"):
        ptrack.Pixel("a").url()


@override_settings(ROOT_URLCONF="tests.urls_empty")
def test_missing_urls_is_a_clear_error() -> None:
    with pytest.raises(ImproperlyConfigured, match=r"include\('ptrack.urls'\)"):
        ptrack.Pixel("a").url()
