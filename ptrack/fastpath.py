"""An optional fast path: pixel and click requests answered before Django's middleware.

Wrap the project's WSGI or ASGI application, in the manner of WhiteNoise::

    application = WSGIFastPath(get_wsgi_application())  # wsgi.py
    application = ASGIFastPath(get_asgi_application())  # asgi.py

Requests under the pixel prefix get the same answer the pixel or click view
gives (the same status, body and headers, recorders called through
``ptrack.tracking`` exactly as the views call them), without Django's request
object, middleware or URL resolution. Everything else goes to the wrapped application unchanged.
What the fast path skips is listed in the README's Performance section.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.handlers.wsgi import get_path_info
from django.core.signals import request_finished, request_started
from django.urls import get_script_prefix

from ptrack import tracking
from ptrack.links import CLICK_SEGMENT, path_around_token
from ptrack.tracking import PIXEL_GIF, PIXEL_HEADERS, click_answer

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_PIXEL_HEADERS = [("Content-Type", "image/gif"), *PIXEL_HEADERS.items()]
# What the view's HttpResponseNotAllowed carries.
_NOT_ALLOWED_HEADERS = [
    ("Content-Type", "text/html; charset=utf-8"),
    ("Allow", "GET, HEAD"),
    ("Content-Length", "0"),
]
_STATUS_LINES = {200: "200 OK", 302: "302 Found", 404: "404 Not Found"}


def pixel_prefix() -> str:
    """The path under which ``ptrack.urls`` serves pixels, e.g. ``"/ptrack/"``.

    Read from the URLconf, without the script prefix (the WSGI ``SCRIPT_NAME``
    or ASGI ``root_path``), as Django resolves it.
    """
    try:
        head, tail = path_around_token()
    except ImproperlyConfigured as e:
        raise ImproperlyConfigured(
            "The ptrack fast path found no pixel URL; add "
            "path('ptrack/', include('ptrack.urls')) to ROOT_URLCONF, or pass prefix=."
        ) from e
    if tail != "/":
        raise ImproperlyConfigured(
            f"The ptrack fast path needs pixel URLs of the form <prefix><token>/, "
            f"not {head + '<token>' + tail!r}; pass prefix= or use the view."
        )
    script_prefix = get_script_prefix()
    return "/" + head[len(script_prefix) :] if head.startswith(script_prefix) else head


def _token(path: str, prefix: str) -> str | None:
    # As ptrack.urls resolves: any text after the prefix, then a final slash.
    if len(path) > len(prefix) + 1 and path.endswith("/") and path.startswith(prefix):
        return path[len(prefix) : -1]
    return None


class WSGIFastPath:
    """Answers pixel and click requests itself; passes every other request to ``application``.

    Each recording GET is wrapped in Django's ``request_started`` and
    ``request_finished`` signals, as Django's handler wraps every request, so
    recorders that use the database get the same connection upkeep as in the
    view. ``request_signals=False`` skips them (and their cost) for recorders
    that touch no database.
    """

    def __init__(
        self, application: WSGIApp, *, prefix: str | None = None, request_signals: bool = True
    ) -> None:
        self.application = application
        self.prefix = prefix if prefix is not None else pixel_prefix()
        self.click_prefix = self.prefix + CLICK_SEGMENT
        self.request_signals = request_signals

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        # PATH_INFO is latin-1 text here; the prefix is ASCII, so this cheap test
        # is exact before Django's decoding, which leaves ASCII as it is.
        path_info: str = environ.get("PATH_INFO", "")
        if not path_info.startswith(self.prefix):
            return self.application(environ, start_response)
        try:
            path = path_info if path_info.isascii() else get_path_info(environ)
        except UnicodeError:  # not latin-1 text as PEP 3333 says: Django's to judge
            return self.application(environ, start_response)
        token = _token(path, self.click_prefix)
        if token is not None:
            return self._click(environ, start_response, token)
        token = _token(path, self.prefix)
        if token is None:
            return self.application(environ, start_response)
        method = environ["REQUEST_METHOD"].upper()
        if method == "GET":
            self._record(tracking.track, token, environ)
            start_response("200 OK", _PIXEL_HEADERS)
            return [PIXEL_GIF]
        if method == "HEAD":
            start_response("200 OK", _PIXEL_HEADERS)
            return [b""]
        start_response("405 Method Not Allowed", _NOT_ALLOWED_HEADERS)
        return [b""]

    def _click(
        self, environ: dict[str, Any], start_response: Callable[..., Any], token: str
    ) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"].upper()
        if method == "GET":
            destination = self._record(tracking.track_click, token, environ)
        elif method == "HEAD":
            destination = tracking.click_destination(token)
        else:
            start_response("405 Method Not Allowed", _NOT_ALLOWED_HEADERS)
            return [b""]
        status, headers, body = click_answer(destination)
        start_response(_STATUS_LINES[status], headers)
        return [body if method == "GET" else b""]

    def _record(self, track: Callable[..., Any], token: str, environ: dict[str, Any]) -> Any:
        if not self.request_signals:
            return track(token, **tracking.request_context(environ))
        request_started.send(sender=self.__class__, environ=environ)
        try:
            return track(token, **tracking.request_context(environ))
        finally:
            request_finished.send(sender=self.__class__)


def _encode(headers: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers]


_ASGI_PIXEL_HEADERS = _encode(_PIXEL_HEADERS)
_CLASSIFIER_HEADERS = {name.lower().encode(): name for name in tracking.CLASSIFIER_HEADERS.values()}
_ASGI_NOT_ALLOWED_HEADERS = _encode(_NOT_ALLOWED_HEADERS)
_ASGI_CLICK_HEADERS = {
    302: _encode(tracking.CLICK_REDIRECT_HEADERS),
    404: _encode(tracking.CLICK_NOT_FOUND_HEADERS),
}


class ASGIFastPath:
    """Answers pixel and click requests itself; passes every other scope to ``application``.

    Recorders are called through ``ptrack.tracking.atrack()`` and
    ``atrack_click()``, as the async views call them, so the event loop is
    never blocked.
    """

    def __init__(self, application: ASGIApp, *, prefix: str | None = None) -> None:
        self.application = application
        self.prefix = prefix if prefix is not None else pixel_prefix()
        self.click_prefix = self.prefix + CLICK_SEGMENT

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        token, is_click = None, False
        if scope["type"] == "http":
            path: str = scope["path"]
            root_path: str = scope.get("root_path", "")
            if root_path and path.startswith(root_path):
                path = path[len(root_path) :]
            token = _token(path, self.click_prefix)
            is_click = token is not None
            if token is None:
                token = _token(path, self.prefix)
        if token is None:
            await self.application(scope, receive, send)
            return
        method = scope["method"].upper()
        if method not in ("GET", "HEAD"):
            status, headers, body = 405, _ASGI_NOT_ALLOWED_HEADERS, b""
        elif is_click:
            status, headers, body = await self._click(scope, method, token)
        else:
            if method == "GET":
                await tracking.atrack(token, **_context(scope))
            status, headers = 200, _ASGI_PIXEL_HEADERS
            body = PIXEL_GIF if method == "GET" else b""
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    @staticmethod
    async def _click(
        scope: Scope, method: str, token: str
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        if method == "GET":
            destination = await tracking.atrack_click(token, **_context(scope))
        else:  # HEAD: the same answer, nothing recorded
            destination = tracking.click_destination(token)
        status, headers, body = click_answer(destination)
        asgi_headers = _ASGI_CLICK_HEADERS[status]
        if status == 302:  # the constant headers, then the Location
            asgi_headers = [*asgi_headers, (b"location", headers[-1][1].encode("latin-1"))]
        return status, asgi_headers, body if method == "GET" else b""


def _context(scope: Scope) -> tracking.RequestContext:
    """The request context of an ASGI scope, as Django's ``request.META`` gives it."""
    client = scope.get("client")
    user_agent: list[str] = []
    referer: list[str] = []
    signals: dict[str, str] = {}
    for name, value in scope["headers"]:
        if name == b"user-agent":
            user_agent.append(value.decode("latin-1"))
        elif name == b"referer":
            referer.append(value.decode("latin-1"))
        elif name in _CLASSIFIER_HEADERS:
            key = _CLASSIFIER_HEADERS[name]
            text = value.decode("latin-1")
            signals[key] = f"{signals[key]},{text}" if key in signals else text
    return {
        "ip": (client[0] if client else None) or None,
        # Django joins repeated headers with commas.
        "user_agent": ",".join(user_agent),
        "referer": ",".join(referer),
        "headers": signals,
    }
