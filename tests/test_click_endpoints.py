"""Click links against the view and both fast paths, under WSGI and ASGI.

Every test runs on the four front ends of ``tests.fronts``, so the view
and the fast paths are held to the same answers. ``HOSTILE`` is the catalogue
of hostile click requests: none may redirect anywhere but a destination the
site signed, record anything, fail with a 5xx or echo its input.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core import signing
from django.test import override_settings
from freezegun import freeze_time
from itsdangerous import URLSafeTimedSerializer

import ptrack
from ptrack import clicks, encoders, tracking
from ptrack.answers import CLICK_NOT_FOUND_BODY, PIXEL_GIF
from ptrack.events import EventType
from ptrack.exceptions import InvalidDestination
from tests.conftest import Recorded, pixel_path
from tests.fronts import Front, Response, assert_pixel
from tests.helpers import flip
from tests.settings import SECRET_KEY

DEST = "https://www.example.com/pricing?plan=pro&from=mail#top"
FALLBACK = "https://www.example.com/"
EVIL = "https://attacker.example/phish"

REDIRECT_HEADERS = {
    "content-type": "text/html; charset=utf-8",
    "content-length": "0",
    "cache-control": "no-store",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
}
NOT_FOUND_HEADERS = {
    **REDIRECT_HEADERS,
    "content-type": "text/plain; charset=utf-8",
    "content-length": str(len(CLICK_NOT_FOUND_BODY)),
}


def click_path(destination: str = DEST, *args: Any, **kwargs: Any) -> str:
    return urlsplit(ptrack.Pixel(*args, **kwargs).link(destination)).path


def signed_click_path(args: list[Any], kwargs: dict[str, Any] | None = None) -> str:
    """A click path whose token the site's key signed, built past ``build_link``'s checks."""
    return f"/ptrack/c/{encoders.encode(args, kwargs or {})}/"


def assert_redirect(front: Front, response: Response, location: str) -> None:
    assert response.status == 302
    for name, value in REDIRECT_HEADERS.items():
        assert response.headers[name] == value
    assert response.headers["location"] == location
    assert response.body == b""
    assert "set-cookie" not in response.headers
    if front.fast:
        assert front.django_calls == []


def assert_not_found(
    front: Front, response: Response, *, body: bytes = CLICK_NOT_FOUND_BODY
) -> None:
    assert response.status == 404
    for name, value in NOT_FOUND_HEADERS.items():
        assert response.headers[name] == value
    assert "location" not in response.headers
    assert response.body == body
    if front.fast:
        assert front.django_calls == []


def test_click_redirects_and_records_the_click(front: Front, clicked: Recorded) -> None:
    path = click_path(DEST, "newsletter", [1, {"a": True}], user_id=42)
    response = front.request(
        path, headers={"User-Agent": "Mail/1.0", "Referer": "https://mail.example.net/"}
    )
    assert_redirect(front, response, DEST)
    [event] = clicked.events
    assert event.event_type == EventType.CLICKED
    assert event.destination == DEST
    assert event.args == ("newsletter", [1, {"a": True}])
    assert dict(event.kwargs) == {"user_id": 42}
    assert (event.ip, event.user_agent, event.referer) == (
        "127.0.0.1",
        "Mail/1.0",
        "https://mail.example.net/",
    )
    assert event.token == path.split("/")[3]
    assert event.issued_at is not None


def test_recorders_get_only_the_event_types_they_name(
    front: Front, recorded: Recorded, clicked: Recorded
) -> None:
    front.request(click_path(DEST, "n"))
    front.request(pixel_path("n"))
    assert recorded.calls == [(("n",), {})]  # loads only, as every recorder before clicks
    assert [e.event_type for e in recorded.events] == [EventType.LOADED]
    assert [e.event_type for e in clicked.events] == [EventType.CLICKED, EventType.LOADED]
    assert [e.destination for e in clicked.events] == [DEST, ""]


def test_record_receives_the_link_arguments_without_the_destination(front: Front) -> None:
    calls: list[tuple[Any, ...]] = []

    class Clicks(ptrack.TrackingPixel):
        event_types = frozenset({EventType.CLICKED})

        def record(self, *args: Any, **kwargs: Any) -> None:
            calls.append((args, kwargs))

    ptrack.tracker.register(Clicks)
    try:
        front.request(click_path(DEST, "campaign", 7, button="pricing"))
        front.request(pixel_path("campaign", 7))
    finally:
        ptrack.tracker.unregister(Clicks)
    assert calls == [(("campaign", 7), {"button": "pricing"})]


def test_head_redirects_and_records_nothing(front: Front, clicked: Recorded) -> None:
    assert_redirect(front, front.request(click_path(DEST, "n"), method="HEAD"), DEST)
    assert clicked.events == []


def test_expired_link_still_redirects_and_records_nothing(
    front: Front, clicked: Recorded, caplog: pytest.LogCaptureFixture
) -> None:
    issued = datetime(2026, 5, 1, 8, 0, tzinfo=timezone.utc)
    with freeze_time(issued):
        path = urlsplit(ptrack.Pixel("n").link(DEST, expires=60)).path
    with freeze_time(issued + timedelta(seconds=60)):
        assert_redirect(front, front.request(path), DEST)
    assert len(clicked.events) == 1
    with (
        freeze_time(issued + timedelta(seconds=61)),
        caplog.at_level(logging.INFO, logger="ptrack"),
    ):
        assert_redirect(front, front.request(path), DEST)
    assert len(clicked.events) == 1
    assert [r.levelname for r in caplog.records] == ["INFO"]
    assert "expired click link" in caplog.records[0].getMessage()


@pytest.mark.parametrize(
    "destination", ["javascript:alert(1)", "https://evil.example\\.bank.example/", EVIL + " x"]
)
def test_an_expired_link_to_an_unsound_destination_answers_404(
    front: Front, clicked: Recorded, destination: str
) -> None:
    # Signed with the site's key past link()'s checks: the endpoint checks again,
    # expired or not, before any redirect.
    issued = datetime(2026, 5, 1, 8, 0, tzinfo=timezone.utc)
    with freeze_time(issued):
        token = encoders.encode(clicks.click_args(destination, ["n"]), {}, max_age=60)
    with freeze_time(issued + timedelta(seconds=30)):
        assert_not_found(front, front.request(f"/ptrack/c/{token}/"))
    with freeze_time(issued + timedelta(seconds=61)):
        assert_not_found(front, front.request(f"/ptrack/c/{token}/"))
        assert_not_found(front, front.request(f"/ptrack/c/{token}/", method="HEAD"), body=b"")
    assert clicked.events == []


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"])
def test_other_methods_are_not_allowed(front: Front, clicked: Recorded, method: str) -> None:
    response = front.request(click_path(DEST, "n"), method=method)
    assert response.status == 405
    assert response.headers["allow"] == "GET, HEAD"
    assert "location" not in response.headers
    assert response.body == b""
    assert clicked.events == []
    if front.fast:
        assert front.django_calls == []


def test_invalid_link_answers_a_constant_404(
    front: Front, clicked: Recorded, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="ptrack"):
        assert_not_found(front, front.request("/ptrack/c/garbage/"))
        assert_not_found(front, front.request("/ptrack/c/garbage/", method="HEAD"), body=b"")
    assert clicked.events == []
    assert [r.levelname for r in caplog.records] == ["DEBUG", "DEBUG"]


@override_settings(PTRACK_CLICK_FALLBACK_URL=FALLBACK)
def test_invalid_link_redirects_to_the_fallback_url(front: Front, clicked: Recorded) -> None:
    assert_redirect(front, front.request("/ptrack/c/garbage/"), FALLBACK)
    assert_redirect(front, front.request(click_path(DEST, "n")), DEST)
    assert [e.destination for e in clicked.events] == [DEST]


@override_settings(PTRACK_CLICK_FALLBACK_URL="javascript:alert(1)")
def test_an_unusable_fallback_url_answers_404(front: Front) -> None:
    assert_not_found(front, front.request("/ptrack/c/garbage/"))


@override_settings(PTRACK_CLICK_FALLBACK_URL="https://[oops/")
def test_a_fallback_url_with_a_malformed_host_answers_404(front: Front, clicked: Recorded) -> None:
    assert_not_found(front, front.request("/ptrack/c/garbage/"))
    assert_not_found(front, front.request("/ptrack/c/garbage/", method="HEAD"), body=b"")
    assert_redirect(front, front.request(click_path(DEST, "n")), DEST)
    assert [e.destination for e in clicked.events] == [DEST]


def test_a_pixel_url_is_no_click_link_and_the_other_way(
    front: Front, recorded: Recorded, clicked: Recorded
) -> None:
    pixel_token = pixel_path("n").split("/")[2]
    click_token = click_path(DEST, "n").split("/")[3]
    assert_not_found(front, front.request(f"/ptrack/c/{pixel_token}/"))
    assert_pixel(front, front.request(f"/ptrack/{click_token}/"))
    assert recorded.events == clicked.events == []


@pytest.mark.parametrize("path", ["/ptrack/c/", "/ptrack/c//"])
def test_the_click_prefix_alone_is_a_pixel_path_everywhere(
    front: Front, clicked: Recorded, path: str
) -> None:
    # Django resolves these with the pixel pattern (token "c" or "c/"); so does the fast path.
    assert_pixel(front, front.request(path))
    assert clicked.events == []


@pytest.mark.parametrize("token", ["c/xy", "w/xy", "c/", "w/"])
def test_a_click_token_that_starts_as_another_route_gets_the_click_answer_everywhere(
    front: Front, recorded: Recorded, clicked: Recorded, token: str
) -> None:
    # The pixel pattern, tried first, leaves c/... and w/... alone; the click pattern
    # still takes whatever follows its c/, and refuses it as any forged click.
    assert_not_found(front, front.request(f"/ptrack/c/{token}/"))
    assert recorded.events == clicked.events == []


def test_fernet_links_redirect_and_record(front: Front, clicked: Recorded) -> None:
    ptrack.ptrack_encoder = ptrack.FernetEncoder
    path = click_path(DEST, "n", k=1)
    assert_redirect(front, front.request(path), DEST)
    assert [(e.args, e.destination) for e in clicked.events] == [(("n",), DEST)]


# --- the catalogue of hostile click requests ---

# Destinations build_link refuses; signed with the site's key all the same, none
# may be redirected to.
REFUSED = {
    "javascript": "javascript:alert('attacker')",
    "javascript-upper": "JAVASCRIPT:alert('attacker')",
    "data": "data:text/html,<script>attacker()</script>",
    "scheme-relative": "//attacker.example/",
    "relative": "/attacker/path",
    "no-slashes": "https:attacker.example",
    "one-slash": "https:/attacker.example",
    "ftp": "ftp://attacker.example/",
    "mailto": "mailto:attacker@example.com",
    "credentials": "https://user:pw@attacker.example/",
    "at-sign": "https://www.example.com@attacker.example/",
    "backslash": "https:\\\\attacker.example/",
    "crlf": "https://www.example.com/\r\nSet-Cookie: attacker=1",
    "tab": "java\tscript:attacker()",
    "leading-space": " https://attacker.example/",
    "nul": "https://attacker.example/\x00",
    "non-ascii-host": "https://att\u0430cker.example/",
    "bad-port": "https://attacker.example:99999/",
    "no-host": "https:///attacker",
    "over-long": "https://attacker.example/" + "a" * 2000,
    "not-a-str": 42,
}


def _forged_with_another_key() -> dict[str, Any]:
    with override_settings(PTRACK_SECRET="attacker-" + "k" * 50):
        return {"path": click_path(EVIL, "n")}


def _expired_forgery() -> dict[str, Any]:
    with (
        override_settings(PTRACK_SECRET="attacker-" + "k" * 50),
        freeze_time(datetime(2020, 1, 1, tzinfo=timezone.utc)),
    ):
        return {"path": urlsplit(ptrack.Pixel("n").link(EVIL, expires=60)).path}


def _expired_genuine() -> dict[str, Any]:
    with freeze_time(datetime(2020, 1, 1, tzinfo=timezone.utc)):
        return {"path": urlsplit(ptrack.Pixel("n").link(DEST, expires=60)).path}


def _token() -> str:
    return click_path(DEST, "n").split("/")[3]


def _swapped_payload() -> dict[str, Any]:
    # The attacker's own payload under a genuine timestamp and signature.
    _payload, stamp, sig = _token().rsplit(".", 2)
    body = base64.urlsafe_b64encode(json.dumps([[[clicks.MARK, EVIL], "n"], {}]).encode())
    return {"path": f"/ptrack/c/{body.decode().rstrip('=')}.{stamp}.{sig}/"}


def _unsigned() -> dict[str, Any]:
    body = base64.urlsafe_b64encode(json.dumps([[[clicks.MARK, EVIL]], {}]).encode())
    return {"path": f"/ptrack/c/{body.decode().rstrip('=')}.AAAAAA.attacker/"}


def _signed_elsewhere_on_the_site() -> dict[str, Any]:
    # Django's signing with the same SECRET_KEY: another salt and format.
    return {"path": f"/ptrack/c/{signing.dumps([[[clicks.MARK, EVIL]], {}])}/"}


def _other_salt() -> dict[str, Any]:
    serializer = URLSafeTimedSerializer(SECRET_KEY, salt="attacker")
    return {"path": f"/ptrack/c/{serializer.dumps([[[clicks.MARK, EVIL]], {}])}/"}


def _signed_to(destination: Any) -> Callable[[], dict[str, Any]]:
    return lambda: {"path": signed_click_path(clicks.click_args(destination, ["n"]))}


def _req(**request: Any) -> Callable[[], dict[str, Any]]:
    return lambda: request


HOSTILE: list[Any] = [
    pytest.param(_forged_with_another_key, id="forged-another-key"),
    pytest.param(_expired_forgery, id="forged-and-expired"),
    pytest.param(_swapped_payload, id="tampered-payload"),
    pytest.param(lambda: {"path": f"/ptrack/c/{flip(_token(), -2)}/"}, id="tampered-signature"),
    pytest.param(lambda: {"path": f"/ptrack/c/{flip(_token(), 3)}/"}, id="tampered-body"),
    pytest.param(lambda: {"path": f"/ptrack/c/{_token()[:-6]}/"}, id="truncated"),
    pytest.param(lambda: {"path": f"/ptrack/c/{_token()}/attacker/"}, id="extra-segment"),
    pytest.param(_unsigned, id="unsigned"),
    pytest.param(_signed_elsewhere_on_the_site, id="django-signing"),
    pytest.param(_other_salt, id="itsdangerous-other-salt"),
    pytest.param(
        lambda: {"path": "/ptrack/c/" + pixel_path("n").split("/")[2] + "/"}, id="pixel-token"
    ),
    pytest.param(lambda: {"path": signed_click_path([[clicks.MARK]])}, id="mark-without-url"),
    pytest.param(lambda: {"path": signed_click_path([[clicks.MARK, 7]])}, id="mark-with-number"),
    pytest.param(
        lambda: {"path": signed_click_path([[clicks.MARK, EVIL, "x", "y"]])}, id="mark-with-extra"
    ),
    pytest.param(
        lambda: {"path": signed_click_path([[clicks.MARK, EVIL, 7]])}, id="mark-with-number-name"
    ),
    pytest.param(lambda: {"path": signed_click_path([clicks.MARK, EVIL])}, id="mark-not-in-a-list"),
    *(
        pytest.param(_signed_to(value), id=f"signed-{name}")
        for name, value in REFUSED.items()
        # Length is a limit for making links, not a danger: a long genuine one redirects.
        if name != "over-long"
    ),
    pytest.param(_expired_genuine, id="expired-genuine"),
    pytest.param(
        lambda: {
            "path": click_path(DEST, "n"),
            "method": "HEAD",
            "headers": {"X-Forwarded-Host": "attacker.example"},
        },
        id="head-genuine",
    ),
    pytest.param(lambda: {"path": click_path(DEST, "n"), "method": "POST"}, id="post-genuine"),
    pytest.param(lambda: {"path": click_path(DEST, "n"), "method": "DELETE"}, id="delete-genuine"),
    pytest.param(
        lambda: {
            "path": click_path(DEST, "n"),
            "method": "HEAD",
            "query": "next=https://attacker.example/&url=//attacker.example",
        },
        id="redirect-parameters",
    ),
    pytest.param(
        lambda: {
            "path": click_path(DEST, "n"),
            "method": "HEAD",
            "query": "a=%0d%0aSet-Cookie:%20attacker=1",
        },
        id="crlf-in-query",
    ),
    pytest.param(_req(path="/ptrack/c/../../attacker/"), id="traversal"),
    pytest.param(_req(path="/ptrack/c/%2e%2e%2fattacker/"), id="encoded-traversal"),
    pytest.param(
        _req(path="/ptrack/c/x\r\nLocation: https://attacker.example/\r\n/"), id="crlf-in-path"
    ),
    pytest.param(_req(path="/ptrack/c/%0d%0aLocation:attacker/"), id="encoded-crlf-in-path"),
    pytest.param(_req(path="/ptrack/c/" + "attacker" * 700 + "/"), id="oversized-token"),
    pytest.param(_req(path="/ptrack/c/attacker\u00e9\u00e9/"), id="non-ascii-token"),
    pytest.param(_req(path="/ptrack/c/attacker%00/"), id="nul-in-token"),
    pytest.param(_req(path="/ptrack/c/./"), id="dot"),
    pytest.param(
        _req(path="/ptrack/c/attacker/", headers={"User-Agent": "attacker" * 1000}),
        id="oversized-user-agent",
    ),
    pytest.param(_req(path="/ptrack/c/attacker/", method="POST"), id="post-forged"),
    pytest.param(_req(path="/ptrack/c/attacker/", method="HEAD"), id="head-forged"),
]


@pytest.mark.parametrize("fallback", [None, FALLBACK], ids=["404", "fallback"])
@pytest.mark.parametrize("build", HOSTILE)
def test_hostile_click_requests(
    front: Front,
    recorded: Recorded,
    clicked: Recorded,
    build: Callable[[], dict[str, Any]],
    fallback: str | None,
) -> None:
    request = build()
    with override_settings(PTRACK_CLICK_FALLBACK_URL=fallback):
        response = front.request(**request)
    assert response.status < 500
    assert recorded.events == clicked.events == []
    if response.status == 302:
        assert response.headers["location"] in (DEST, fallback)
    else:
        assert "location" not in response.headers
    assert response.body in (b"", CLICK_NOT_FOUND_BODY, PIXEL_GIF)
    # Nothing of the request comes back: all hostile input says "attacker".
    assert "attacker" not in repr(response.headers).lower()
    if response.status == 404:
        assert_not_found(
            front, response, body=b"" if request.get("method") == "HEAD" else CLICK_NOT_FOUND_BODY
        )
    elif response.status != 405:
        assert response.status == 302
        for name, value in REDIRECT_HEADERS.items():
            assert response.headers[name] == value


def test_the_hostile_catalogue_is_long_enough() -> None:
    assert len(HOSTILE) >= 30


# Of REFUSED, those a browser follows all the same: a link made on one leads where the
# browser would have gone, written as the URL standard writes it.
FOLLOWED = {
    "backslash": "https://attacker.example/",
    "crlf": "https://www.example.com/Set-Cookie:%20attacker=1",
    "leading-space": "https://attacker.example/",
    "nul": "https://attacker.example/",
    "non-ascii-host": "https://xn--attcker-4fg.example/",
    "no-host": "https://attacker/",
}


REFUSED_AT_RENDER = {name: value for name, value in REFUSED.items() if name not in FOLLOWED}


@pytest.mark.parametrize("value", REFUSED_AT_RENDER.values(), ids=REFUSED_AT_RENDER.keys())
def test_refused_destinations_fail_at_render_time_naming_the_value(value: Any) -> None:
    shown = value[:100] + "..." if isinstance(value, str) and len(value) > 100 else value
    with pytest.raises(InvalidDestination) as info:
        ptrack.Pixel("n").link(value)
    assert repr(shown) in str(info.value)
    assert "absolute http(s)" in str(info.value)


@pytest.mark.parametrize("name", FOLLOWED)
def test_what_a_browser_follows_leads_where_it_would_go(name: str) -> None:
    link = ptrack.Pixel("n").link(REFUSED[name])
    assert tracking.verify_click(urlsplit(link).path.split("/")[3])[0] == FOLLOWED[name]


def test_links_from_ptrack_3x_are_pixels_only(
    front: Front, recorded: Recorded, clicked: Recorded
) -> None:
    from tests.ptrack3 import SECRET, mint

    token = mint("n", user_id=1)
    shaped_like_a_click = mint([clicks.MARK, EVIL], "n")
    with override_settings(PTRACK_LEGACY_SECRET=SECRET):
        assert_not_found(front, front.request(f"/ptrack/c/{token}/"))
        assert_not_found(front, front.request(f"/ptrack/c/{shaped_like_a_click}/"))
        assert_pixel(front, front.request(f"/ptrack/{shaped_like_a_click}/"))
        assert_pixel(front, front.request(f"/ptrack/{token}/"))
    # Only the genuine 3.x pixel recorded, as a load.
    assert recorded.calls == [(("n",), {"user_id": 1})]
    assert [(e.event_type, e.legacy) for e in clicked.events] == [(EventType.LOADED, True)]
