"""The same requests against the pixel view and the fast path, under WSGI and ASGI."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

import pytest
from asgiref.sync import async_to_sync
from django.core.exceptions import ImproperlyConfigured
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.test import override_settings
from freezegun import freeze_time

import ptrack
from ptrack.answers import PIXEL_GIF
from ptrack.fastpath import ASGIFastPath, WSGIFastPath, pixel_prefix
from tests.conftest import Recorded, pixel_path

PIXEL_HEADERS = {
    "content-type": "image/gif",
    "cache-control": "no-cache, no-store, must-revalidate, private, max-age=0",
    "pragma": "no-cache",
    "expires": "0",
    "x-content-type-options": "nosniff",
    "content-length": "43",
}


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass
class Front:
    """One front end: how to send it a request, and whether Django saw it."""

    name: str
    request: Callable[..., Response]
    django_calls: list[str] = field(default_factory=list)

    @property
    def fast(self) -> bool:
        return self.name.startswith("fast")


def _wsgi_request(app: Any) -> Callable[..., Response]:
    def request(
        path: str,
        method: str = "GET",
        headers: dict[str, str] | None = None,
        query: str = "",
        **environ: Any,
    ) -> Response:
        env: dict[str, Any] = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path.encode().decode("latin-1"),
            "SCRIPT_NAME": "",
            "QUERY_STRING": query,
            "SERVER_NAME": "testserver",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": "testserver",
            "REMOTE_ADDR": "127.0.0.1",
            "wsgi.input": io.BytesIO(b""),
            "wsgi.errors": io.StringIO(),
            "wsgi.url_scheme": "http",
            "wsgi.version": (1, 0),
            "wsgi.multithread": False,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
        }
        for name, value in (headers or {}).items():
            env["HTTP_" + name.upper().replace("-", "_")] = value
        env.update(environ)
        started: list[Any] = []

        def start_response(status: str, response_headers: list[tuple[str, str]]) -> None:
            started.append((status, response_headers))

        result: Iterable[bytes] = app(env, start_response)
        body = b"".join(result)
        close = getattr(result, "close", None)
        if close is not None:
            close()
        status, response_headers = started[0]
        return Response(int(status.split()[0]), {k.lower(): v for k, v in response_headers}, body)

    return request


def _asgi_request(app: Any) -> Callable[..., Response]:
    def request(
        path: str,
        method: str = "GET",
        headers: dict[str, str] | None = None,
        client: tuple[str, int] | None = ("127.0.0.1", 5000),
        root_path: str = "",
        query: str = "",
    ) -> Response:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": root_path + path,
            "raw_path": (root_path + path).encode(),
            "root_path": root_path,
            "query_string": query.encode("latin-1"),
            "headers": [(b"host", b"testserver")]
            + [(k.lower().encode(), v.encode("latin-1")) for k, v in (headers or {}).items()],
            "client": client,
            "server": ("testserver", 80),
        }
        messages: list[dict[str, Any]] = []

        async def run() -> None:
            sent = False

            async def receive() -> dict[str, Any]:
                nonlocal sent
                if not sent:
                    sent = True
                    return {"type": "http.request", "body": b"", "more_body": False}
                await asyncio.Event().wait()  # the client stays connected
                raise AssertionError  # pragma: no cover

            async def send(message: dict[str, Any]) -> None:
                messages.append(message)

            await app(scope, receive, send)

        async_to_sync(run)()
        start = messages[0]
        body = b"".join(m.get("body", b"") for m in messages[1:])
        return Response(
            start["status"],
            {k.decode().lower(): v.decode("latin-1") for k, v in start["headers"]},
            body,
        )

    return request


class _CountingWSGI:
    def __init__(self, calls: list[str]) -> None:
        self.calls = calls
        self.handler = WSGIHandler()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        self.calls.append(environ["PATH_INFO"])
        return self.handler(environ, start_response)


class _CountingASGI:
    def __init__(self, calls: list[str]) -> None:
        self.calls = calls
        self.handler = ASGIHandler()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.calls.append(scope["path"])
        await self.handler(scope, receive, send)


FRONTS = ["view-wsgi", "fast-wsgi", "view-asgi", "fast-asgi"]


@pytest.fixture(params=FRONTS)
def front(request: pytest.FixtureRequest) -> Front:
    return make_front(request.param)


def make_front(name: str) -> Front:
    """The view or the fast path, under WSGI or ASGI, as ``FRONTS`` names them."""
    calls: list[str] = []
    if name.endswith("wsgi"):
        wsgi: Any = _CountingWSGI(calls)
        app = WSGIFastPath(wsgi) if name.startswith("fast") else wsgi
        return Front(name, _wsgi_request(app), calls)
    asgi: Any = _CountingASGI(calls)
    app = ASGIFastPath(asgi) if name.startswith("fast") else asgi
    return Front(name, _asgi_request(app), calls)


def assert_pixel(front: Front, response: Response, *, body: bytes = PIXEL_GIF) -> None:
    assert response.status == 200
    for name, value in PIXEL_HEADERS.items():
        assert response.headers[name] == value
    assert "set-cookie" not in response.headers
    assert "Cookie" not in response.headers.get("vary", "")
    assert response.body == body
    # The fast path answers by itself; the view goes through Django.
    if front.fast:
        assert front.django_calls == []


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
        _wsgi_request(WSGIFastPath(_CountingWSGI([])))(pixel_path("n"))
        assert seen == ["started", "finished"]
        _wsgi_request(WSGIFastPath(_CountingWSGI([]), request_signals=False))(pixel_path("m"))
    finally:
        request_started.disconnect(started)
        request_finished.disconnect(finished)
    assert seen == ["started", "finished"]
    assert recorded.calls == [(("n",), {}), (("m",), {})]


def test_script_name_and_root_path_are_not_part_of_the_prefix(recorded: Recorded) -> None:
    calls: list[str] = []
    wsgi = _wsgi_request(WSGIFastPath(_CountingWSGI(calls)))
    wsgi(pixel_path("w"), SCRIPT_NAME="/app")
    asgi = _asgi_request(ASGIFastPath(_CountingASGI(calls)))
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
    assert WSGIFastPath(_CountingWSGI([]), prefix="/p/").prefix == "/p/"


def test_path_info_that_is_not_latin_1_goes_to_django() -> None:
    seen: list[str] = []

    def inner(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.append(environ["PATH_INFO"])
        start_response("400 Bad Request", [])
        return [b""]

    response = _wsgi_request(WSGIFastPath(inner))("/ptrack/x/", PATH_INFO="/ptrack/\u2603/")
    assert response.status == 400
    assert seen == ["/ptrack/\u2603/"]
