"""An optional fast path: pixel requests answered before Django's middleware.

Wrap the project's WSGI or ASGI application, in the manner of WhiteNoise::

    application = WSGIFastPath(get_wsgi_application())  # wsgi.py
    application = ASGIFastPath(get_asgi_application())  # asgi.py

Requests under the pixel prefix get the same answer the pixel view gives (the
same status, body and headers, recorders called through ``ptrack.tracking``
exactly as the view calls them), without Django's request object, middleware
or URL resolution. Everything else goes to the wrapped application unchanged.
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
from ptrack.links import path_around_token
from ptrack.tracking import PIXEL_GIF, PIXEL_HEADERS

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
    """Answers pixel requests itself; passes every other request to ``application``.

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
            token = _token(
                path_info if path_info.isascii() else get_path_info(environ), self.prefix
            )
        except UnicodeError:  # not latin-1 text as PEP 3333 says: Django's to judge
            token = None
        if token is None:
            return self.application(environ, start_response)
        method = environ["REQUEST_METHOD"].upper()
        if method == "GET":
            if self.request_signals:
                request_started.send(sender=self.__class__, environ=environ)
            try:
                tracking.track(token, **tracking.request_context(environ))
            finally:
                if self.request_signals:
                    request_finished.send(sender=self.__class__)
            start_response("200 OK", _PIXEL_HEADERS)
            return [PIXEL_GIF]
        if method == "HEAD":
            start_response("200 OK", _PIXEL_HEADERS)
            return [b""]
        start_response("405 Method Not Allowed", _NOT_ALLOWED_HEADERS)
        return [b""]


def _encode(headers: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers]


_ASGI_PIXEL_HEADERS = _encode(_PIXEL_HEADERS)
_CLASSIFIER_HEADERS = {name.lower().encode(): name for name in tracking.CLASSIFIER_HEADERS.values()}
_ASGI_NOT_ALLOWED_HEADERS = _encode(_NOT_ALLOWED_HEADERS)


class ASGIFastPath:
    """Answers pixel requests itself; passes every other scope to ``application``.

    Recorders are called through ``ptrack.tracking.atrack()``, as the async
    view calls them, so the event loop is never blocked.
    """

    def __init__(self, application: ASGIApp, *, prefix: str | None = None) -> None:
        self.application = application
        self.prefix = prefix if prefix is not None else pixel_prefix()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        token = None
        if scope["type"] == "http":
            path: str = scope["path"]
            root_path: str = scope.get("root_path", "")
            if root_path and path.startswith(root_path):
                path = path[len(root_path) :]
            token = _token(path, self.prefix)
        if token is None:
            await self.application(scope, receive, send)
            return
        method = scope["method"].upper()
        if method == "GET":
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
            await tracking.atrack(
                token,
                ip=(client[0] if client else None) or None,
                # Django joins repeated headers with commas.
                user_agent=",".join(user_agent),
                referer=",".join(referer),
                headers=signals,
            )
        if method in ("GET", "HEAD"):
            status, headers = 200, _ASGI_PIXEL_HEADERS
            body = PIXEL_GIF if method == "GET" else b""
        else:
            status, headers, body = 405, _ASGI_NOT_ALLOWED_HEADERS, b""
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
