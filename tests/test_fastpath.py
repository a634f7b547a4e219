"""The same requests against the pixel view and the fast path, under WSGI and ASGI."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

import pytest
from asgiref.sync import async_to_sync
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import request_finished, request_started
from django.test import override_settings
from freezegun import freeze_time

import ptrack
from ptrack.fastpath import ASGIFastPath, WSGIFastPath, pixel_prefix
from tests.conftest import Recorded, pixel_path
from tests.fronts import (
    CountingASGI,
    CountingWSGI,
    Front,
    asgi_request,
    assert_pixel,
    wsgi_request,
)


def test_valid_pixel_records_exactly(front: Front, recorded: Recorded) -> None:
    kwargs = {"user_id": 42, "email": "someone@example.com", "n": None}
    path = pixel_path("campaign-42", [1, {"a": True}], **kwargs)
    response = front.request(
        path,
        headers={"User-Agent": "Mail/1.0", "Referer": "https://mail.example.net/"},
    )
    assert_pixel(front, response)
    assert recorded.calls == [(("campaign-42", [1, {"a": True}]), kwargs)]
    [event] = recorded.events
    assert (event.ip, event.user_agent, event.referer) == (
        "127.0.0.1",
        "Mail/1.0",
        "https://mail.example.net/",
    )
    assert event.token == path.split("/")[2]


def test_missing_context_is_empty(front: Front, recorded: Recorded) -> None:
    if front.name.endswith("wsgi"):
        front.request(pixel_path("n"), REMOTE_ADDR="")
    else:
        front.request(pixel_path("n"), client=None)
    [event] = recorded.events
    assert (event.ip, event.user_agent, event.referer) == (None, "", "")


def test_head_answers_headers_and_records_nothing(front: Front, recorded: Recorded) -> None:
    assert_pixel(front, front.request(pixel_path("n"), method="HEAD"), body=b"")
    assert recorded.events == []


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"])
def test_other_methods_are_not_allowed(front: Front, recorded: Recorded, method: str) -> None:
    response = front.request(pixel_path("n"), method=method)
    assert response.status == 405
    assert response.headers["allow"] == "GET, HEAD"
    assert response.body == b""
    assert recorded.events == []
    if front.fast:
        assert front.django_calls == []


@pytest.mark.parametrize(
    "token", ["garbage", "W10.aaaa.bbbb", "....", "é" * 10, "A" * 5000, "a/b/c", "x\ny"]
)
def test_invalid_tokens_answer_the_pixel_and_record_nothing(
    front: Front, recorded: Recorded, token: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="ptrack"):
        assert_pixel(front, front.request(f"/ptrack/{token}/"))
    assert recorded.events == []
    assert [r.levelname for r in caplog.records] == ["DEBUG"]


def test_expired_link_records_nothing(
    front: Front, recorded: Recorded, caplog: pytest.LogCaptureFixture
) -> None:
    issued = datetime(2026, 5, 1, 8, 0, tzinfo=timezone.utc)
    with freeze_time(issued):
        path = urlsplit(ptrack.Pixel("n").url(expires=60)).path
    with (
        freeze_time(issued + timedelta(seconds=61)),
        caplog.at_level(logging.INFO, logger="ptrack"),
    ):
        assert_pixel(front, front.request(path))
    assert recorded.events == []
    assert [r.levelname for r in caplog.records] == ["INFO"]


@pytest.mark.parametrize("path", ["/ptrack/", "/ptrack//", "/ptrack/abc", "/elsewhere/x/"])
def test_other_paths_go_to_django(front: Front, recorded: Recorded, path: str) -> None:
    response = front.request(path)
    assert response.status != 200 or path == "/ptrack//"
    assert front.django_calls == [path]
    assert recorded.events == []


def test_wsgi_fast_path_sends_request_signals(recorded: Recorded) -> None:
    seen: list[str] = []

    def started(**kwargs: Any) -> None:
        seen.append("started")

    def finished(**kwargs: Any) -> None:
        seen.append("finished")

    request_started.connect(started)
    request_finished.connect(finished)
    try:
        wsgi_request(WSGIFastPath(CountingWSGI([])))(pixel_path("n"))
        assert seen == ["started", "finished"]
        wsgi_request(WSGIFastPath(CountingWSGI([]), request_signals=False))(pixel_path("m"))
    finally:
        request_started.disconnect(started)
        request_finished.disconnect(finished)
    assert seen == ["started", "finished"]
    assert recorded.calls == [(("n",), {}), (("m",), {})]


def test_script_name_and_root_path_are_not_part_of_the_prefix(recorded: Recorded) -> None:
    calls: list[str] = []
    wsgi = wsgi_request(WSGIFastPath(CountingWSGI(calls)))
    wsgi(pixel_path("w"), SCRIPT_NAME="/app")
    asgi = asgi_request(ASGIFastPath(CountingASGI(calls)))
    asgi(pixel_path("a"), root_path="/app")
    assert calls == []
    assert recorded.calls == [(("w",), {}), (("a",), {})]


def test_websocket_and_lifespan_scopes_pass_through() -> None:
    seen: list[str] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["type"])

    app = ASGIFastPath(inner)
    async_to_sync(app)({"type": "lifespan"}, None, None)
    async_to_sync(app)({"type": "websocket", "path": "/ptrack/x/"}, None, None)
    assert seen == ["lifespan", "websocket"]


def test_prefix_follows_the_urlconf() -> None:
    assert pixel_prefix() == "/ptrack/"
    with override_settings(ROOT_URLCONF="tests.urls_re_path"):
        assert pixel_prefix() == "/pixels/"
    with override_settings(ROOT_URLCONF="tests.urls_empty"), pytest.raises(ImproperlyConfigured):
        pixel_prefix()
    assert WSGIFastPath(CountingWSGI([]), prefix="/p/").prefix == "/p/"


def test_path_info_that_is_not_latin_1_goes_to_django() -> None:
    seen: list[str] = []

    def inner(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.append(environ["PATH_INFO"])
        start_response("400 Bad Request", [])
        return [b""]

    response = wsgi_request(WSGIFastPath(inner))("/ptrack/x/", PATH_INFO="/ptrack/\u2603/")
    assert response.status == 400
    assert seen == ["/ptrack/\u2603/"]
