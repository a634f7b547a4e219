"""The pixel and click endpoints as a client meets them: the view and the fast path, under
WSGI and ASGI, called the way a server calls them.

Two harnesses. ``make_front`` (the ``front`` fixture of ``conftest.py``) wraps Django's
handlers so that a test also sees whether Django was reached: the fast path must answer
alone. ``SENDERS`` (the ``send`` fixture) sends one ``Bad`` request through Django's full
handler, or the fast path in front of it, as a server would put it on the wire. Both answer
a ``Response``; ``assert_pixel`` checks a pixel answer, theirs or the test client's.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from urllib.parse import unquote, unquote_to_bytes, urlsplit

from asgiref.sync import async_to_sync
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.wsgi import WSGIHandler
from django.test import RequestFactory

from ptrack.answers import PIXEL_GIF
from ptrack.fastpath import ASGIFastPath, WSGIFastPath

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
    """What a server would send: status, headers (names lower-cased) and body.

    Raw WSGI and ASGI calls, not Django's test clients: those drop the body of
    a HEAD response and exempt requests from CSRF checks, as no server does.
    Also shaped like the test client's response where used (``status_code``,
    ``content``, ``response[name]``, ``get``, ``cookies``).
    """

    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def status_code(self) -> int:
        return self.status

    @property
    def content(self) -> bytes:
        return self.body

    def __getitem__(self, name: str) -> str:
        return self.headers[name.lower()]

    def get(self, name: str, default: str = "") -> str:
        return self.headers.get(name.lower(), default)

    @property
    def cookies(self) -> list[str]:
        return [v for k, v in self.headers.items() if k == "set-cookie"]


@dataclass
class Front:
    """One front end: how to send it a request, and whether Django saw it."""

    name: str
    request: Callable[..., Response]
    django_calls: list[str] = field(default_factory=list)

    @property
    def fast(self) -> bool:
        return self.name.startswith("fast")


def wsgi_request(app: Any) -> Callable[..., Response]:
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


def asgi_request(app: Any) -> Callable[..., Response]:
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


class CountingWSGI:
    def __init__(self, calls: list[str]) -> None:
        self.calls = calls
        self.handler = WSGIHandler()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        self.calls.append(environ["PATH_INFO"])
        return self.handler(environ, start_response)


class CountingASGI:
    def __init__(self, calls: list[str]) -> None:
        self.calls = calls
        self.handler = ASGIHandler()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.calls.append(scope["path"])
        await self.handler(scope, receive, send)


FRONTS = ["view-wsgi", "fast-wsgi", "view-asgi", "fast-asgi"]


def make_front(name: str) -> Front:
    """The view or the fast path, under WSGI or ASGI, as ``FRONTS`` names them."""
    calls: list[str] = []
    if name.endswith("wsgi"):
        wsgi: Any = CountingWSGI(calls)
        app = WSGIFastPath(wsgi) if name.startswith("fast") else wsgi
        return Front(name, wsgi_request(app), calls)
    asgi: Any = CountingASGI(calls)
    app = ASGIFastPath(asgi) if name.startswith("fast") else asgi
    return Front(name, asgi_request(app), calls)


def assert_pixel(*where: Any, body: bytes = PIXEL_GIF) -> None:
    """The pixel answer, with every header and no cookie: ``assert_pixel(response)``.

    ``assert_pixel(front, response)`` for a front's answer: the fast path answers by itself,
    the view goes through Django.
    """
    *front, response = where
    assert response.status_code == 200
    for name, value in PIXEL_HEADERS.items():
        assert response[name] == value
    assert not response.cookies
    assert "Cookie" not in response.get("Vary", "")
    assert response.content == body
    if front and front[0].fast:
        assert front[0].django_calls == []


@dataclass(frozen=True)
class Bad:
    """One bad request: the path segment where the token goes, as sent on the wire."""

    token: str | Callable[[], str]
    method: str = "GET"
    headers: dict[str, str] = field(default_factory=dict)
    status: int = 200

    def path(self) -> str:
        token = self.token if isinstance(self.token, str) else self.token()
        return f"/ptrack/{token}/"


def _send_wsgi(app: Callable[[], Any], bad: Bad, path: str) -> Response:
    environ = RequestFactory().generic(bad.method, path, headers=bad.headers).environ
    # WSGIRequest rewrote PATH_INFO as decoded text; a server passes bytes as latin-1.
    environ["PATH_INFO"] = unquote_to_bytes(urlsplit(path).path).decode("iso-8859-1")
    started: list[tuple[str, list[tuple[str, str]]]] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        started.append((status, headers))

    body = b"".join(app()(environ, start_response))
    [(status, headers)] = started
    return Response(int(status.split()[0]), {k.lower(): v for k, v in headers}, body)


def _send_asgi(app: Callable[[], Any], bad: Bad, path: str) -> Response:
    sent: list[dict[str, Any]] = []
    raw_path = path.encode("utf-8")
    scope = {
        "type": "http",
        "method": bad.method,
        "path": unquote(path),
        "raw_path": raw_path,
        "root_path": "",
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode("latin-1")) for k, v in bad.headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }

    messages = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop()
        await asyncio.Event().wait()  # the client stays until the answer is sent
        return {"type": "http.disconnect"}  # pragma: no cover

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def call() -> None:
        await app()(scope, receive, send)

    async_to_sync(call)()
    start, body = sent[0], b"".join(m.get("body", b"") for m in sent[1:])
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in start["headers"]}
    return Response(start["status"], headers, body)


SENDERS: dict[str, Callable[[Bad, str], Response]] = {
    "wsgi": partial(_send_wsgi, WSGIHandler),
    "asgi": partial(_send_asgi, ASGIHandler),
    "wsgi fast path": partial(_send_wsgi, lambda: WSGIFastPath(WSGIHandler())),
    "asgi fast path": partial(_send_asgi, lambda: ASGIFastPath(ASGIHandler())),
}
