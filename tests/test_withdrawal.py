"""Withdrawal by the recipient: a signed link per recipient, a page that asks, a POST that
withdraws (ptrack.withdrawal)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, override_settings
from freezegun import freeze_time
from jinja2 import Environment

import ptrack
from ptrack import tracking
from ptrack.exceptions import PixelValueError
from tests import consent_sources
from tests.conftest import Recorded
from tests.fronts import Front, assert_pixel
from tests.helpers import flip, render

HOOK = "tests.consent_sources.withdraw"
SCANNER = "Mozilla/5.0 (compatible; Barracuda Sentinel (EE))"
FORM_TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@pytest.fixture(autouse=True)
def _state() -> Iterator[None]:
    consent_sources.LEVELS.clear()
    consent_sources.WITHDRAWN.clear()
    with override_settings(PTRACK_CONSENT_WITHDRAW=HOOK):
        yield


def path_of(url: str) -> str:
    return urlsplit(url).path


def post_from_the_page(path: str) -> Any:
    """Open the page, then submit its form, as a browser would (CSRF enforced)."""
    client = Client(enforce_csrf_checks=True)
    page = client.get(path)
    assert page.status_code == 200
    token = FORM_TOKEN.search(page.content.decode())
    assert token is not None
    return client.post(path, {"csrfmiddlewaretoken": token[1]})


def test_a_withdrawal_url_is_absolute_and_names_one_recipient() -> None:
    url = ptrack.withdrawal_url("sub-1")
    assert url.startswith("https://track.example.com/ptrack/w/")
    assert url.endswith("/")
    assert ptrack.withdrawal_url("sub-2") != url


def test_a_withdrawal_url_needs_a_hook_and_an_opaque_key() -> None:
    with pytest.raises(PixelValueError, match="looks like an email address"):
        ptrack.withdrawal_url("ada@example.com")
    with (
        override_settings(PTRACK_CONSENT_WITHDRAW=None),
        pytest.raises(ImproperlyConfigured, match="PTRACK_CONSENT_WITHDRAW is not set"),
    ):
        ptrack.withdrawal_url("sub-1")
    with (
        override_settings(PTRACK_APP_URL=""),
        pytest.raises(ImproperlyConfigured, match="PTRACK_APP_URL is not set"),
    ):
        ptrack.withdrawal_url("sub-1")


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("user_agent", [SCANNER, "curl/8.5.0", "Mozilla/5.0 (Windows NT 10.0)"])
def test_get_and_head_show_the_page_and_never_withdraw(
    front: Front, method: str, user_agent: str
) -> None:
    path = path_of(ptrack.withdrawal_url("sub-1"))
    response = front.request(path, method=method, headers={"User-Agent": user_agent})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    # Not "no-referrer", under which browsers POST the form with "Origin: null", refused
    # by Django's CSRF check (example_project's browser test withdraws in Chromium).
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    if method == "GET":
        assert b'<form method="post"' in response.content
        assert b"csrfmiddlewaretoken" in response.content
    assert consent_sources.WITHDRAWN == []
    assert front.django_calls == [path]  # the fast paths hand the page to Django


def test_the_pages_form_withdraws() -> None:
    response = post_from_the_page(path_of(ptrack.withdrawal_url("sub-1")))
    assert response.status_code == 200
    assert b"Tracking stopped" in response.content
    assert consent_sources.WITHDRAWN == ["sub-1"]


def test_a_post_without_the_pages_csrf_token_withdraws_nothing() -> None:
    response = Client(enforce_csrf_checks=True).post(path_of(ptrack.withdrawal_url("sub-1")))
    assert response.status_code == 403
    assert consent_sources.WITHDRAWN == []


def test_other_methods_are_not_allowed() -> None:
    response = Client().put(path_of(ptrack.withdrawal_url("sub-1")))
    assert response.status_code == 405
    assert consent_sources.WITHDRAWN == []


def _forged() -> list[str]:
    genuine = path_of(ptrack.withdrawal_url("sub-1")).split("/")[3]
    pixel = path_of(ptrack.Pixel("sub-1").url()).split("/")[2]
    return [
        flip(genuine, len(genuine) // 2),  # altered
        flip(genuine, len(genuine) - 1),  # its signature altered
        pixel,  # a pixel token: another salt
        "not-a-token",
        genuine + "x",
    ]


@pytest.mark.parametrize("method", ["get", "post"])
def test_forged_and_altered_links_get_a_404_and_change_nothing(method: str) -> None:
    client = Client()
    for token in _forged():
        response = getattr(client, method)(f"/ptrack/w/{token}/")
        assert response.status_code == 404, token
    assert consent_sources.WITHDRAWN == []


def test_a_link_signed_by_another_key_gets_a_404() -> None:
    with override_settings(PTRACK_SECRET="another-key-of-its-own-with-plenty-of-entropy-0123456"):
        path = path_of(ptrack.withdrawal_url("sub-1"))
    assert Client().post(path).status_code == 404
    assert consent_sources.WITHDRAWN == []


def test_an_expired_link_gets_a_404_and_a_fresh_one_works() -> None:
    with freeze_time("2026-12-01 12:00:00"):
        path = path_of(ptrack.withdrawal_url("sub-1", expires=timedelta(days=30)))
    with freeze_time("2026-12-31 12:00:00"):
        assert Client().get(path).status_code == 200
    with freeze_time("2026-12-31 12:00:02"):
        assert Client().get(path).status_code == 404
        assert Client().post(path).status_code == 404
    assert consent_sources.WITHDRAWN == []


def test_a_replayed_post_withdraws_the_same_recipient_again_and_no_one_else() -> None:
    path = path_of(ptrack.withdrawal_url("sub-1"))
    post_from_the_page(path)
    post_from_the_page(path)
    assert consent_sources.WITHDRAWN == ["sub-1", "sub-1"]


def test_a_failing_hook_says_so_and_the_page_can_try_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    path = path_of(ptrack.withdrawal_url("sub-1"))
    with (
        override_settings(PTRACK_CONSENT_WITHDRAW="tests.consent_sources.withdraw_failing"),
        caplog.at_level(logging.ERROR, "ptrack"),
    ):
        response = post_from_the_page(path)
    assert response.status_code == 503
    assert b"nothing has changed" in response.content
    assert b'<form method="post"' in response.content
    assert "PTRACK_CONSENT_WITHDRAW failed for recipient 'sub-1'" in caplog.text


def test_without_a_hook_an_old_link_gets_a_404() -> None:
    path = path_of(ptrack.withdrawal_url("sub-1"))
    with override_settings(PTRACK_CONSENT_WITHDRAW=None):
        assert Client().get(path).status_code == 404


@override_settings(PTRACK_CONSENT="tests.consent_sources.level")
def test_withdrawing_stops_a_pixel_already_sent(front: Front, recorded: Recorded) -> None:
    consent_sources.LEVELS["sub-1"] = "full"
    pixel = ptrack.Pixel("newsletter").url(recipient="sub-1")
    assert tracking.track(urlsplit(pixel).path.split("/")[2]) is not None
    recorded.events.clear()
    post_from_the_page(path_of(ptrack.withdrawal_url("sub-1")))
    assert_pixel(front, front.request(path_of(pixel)))
    assert recorded.events == []


def test_the_template_tag_and_the_jinja2_function() -> None:
    url = render("{% ptrack_withdraw_url key %}", key="sub-1")
    assert url.startswith("https://track.example.com/ptrack/w/")
    assert Client().get(path_of(url)).status_code == 200
    env = Environment(extensions=["ptrack.jinja2.ptrack"])
    url = env.from_string("{{ ptrack_withdraw_url(key) }}").render(key="sub-1")
    assert Client().get(path_of(url)).status_code == 200


def test_a_pixel_path_that_starts_like_a_withdrawal_is_not_a_pixel() -> None:
    # No pixel token holds a "/", so w/... is never one: Django's 404, not the pixel.
    assert Client().get("/ptrack/w/").status_code == 404
    assert Client().get("/ptrack/wx/").status_code == 200  # any other text: the pixel


@pytest.mark.parametrize(
    "payload",
    [
        ["ada@example.com", None],
        ["", None],
        [42, None],
        ["sub-1", 0],
        ["sub-1", "60"],
        ["sub-1"],
        "sub-1",
    ],
)
def test_a_signed_payload_of_another_shape_gets_a_404(payload: Any) -> None:
    from ptrack import withdrawal

    token = withdrawal._serializer().dumps(payload)
    assert Client().post(f"/ptrack/w/{token}/").status_code == 404
    assert consent_sources.WITHDRAWN == []


def test_csrf_is_checked_even_on_a_site_without_the_csrf_middleware(settings: Any) -> None:
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if "Csrf" not in m]
    path = path_of(ptrack.withdrawal_url("sub-1"))
    assert Client(enforce_csrf_checks=True).post(path).status_code == 403
    assert post_from_the_page(path).status_code == 200
    assert consent_sources.WITHDRAWN == ["sub-1"]


def test_whole_emails_leave_withdrawal_links_as_they_are() -> None:
    url = ptrack.withdrawal_url("sub-1")
    html = f'<p><a href="{url}">Stop tracking</a> <a href="https://e.example/">Shop</a></p>'
    instrumented = ptrack.instrument_html(html, ptrack.Pixel("n"), opens=False)
    assert f'href="{url}"' in instrumented
    assert 'href="https://e.example/"' not in instrumented  # the other link is tracked
    text = f"Stop tracking: {url}\nShop: https://e.example/\n"
    instrumented = ptrack.instrument_text(text, ptrack.Pixel("n"))
    assert f"Stop tracking: {url}\n" in instrumented
    assert "Shop: https://e.example/\n" not in instrumented
