"""An optional fast path: pixel and click requests answered before Django's middleware.

Wrap the project's WSGI or ASGI application, in the manner of WhiteNoise::

    application = WSGIFastPath(get_wsgi_application())  # wsgi.py
    application = ASGIFastPath(get_asgi_application())  # asgi.py

Requests under the pixel prefix get the answer ``ptrack.answers`` decides, as
the pixel and click views do (the same status, body and headers, recorders
called through ``ptrack.tracking`` exactly as the views call them), without Django's request
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
from ptrack.answers import (
    HEADERS,
    STATUS_LINES,
    Answer,
    aanswer_click,
    aanswer_pixel,
    answer_click,
    answer_pixel,
)
from ptrack.links import CLICK_SEGMENT, path_around_token
from ptrack.withdrawal import SEGMENT as WITHDRAW_SEGMENT

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


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
        self.withdraw_prefix = self.prefix + WITHDRAW_SEGMENT  # pages: Django serves them
        self.request_signals = request_signals
        self._track = self._recording("track")
        self._track_click = self._recording("track_click")

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
        if path.startswith(self.withdraw_prefix):
            return self.application(environ, start_response)
        token = _token(path, self.click_prefix)
        if token is not None:
            answer = answer_click(
                environ["REQUEST_METHOD"].upper(), token, environ, self._track_click
            )
        else:
            token = _token(path, self.prefix)
            if token is None:
                return self.application(environ, start_response)
            answer = answer_pixel(environ["REQUEST_METHOD"].upper(), token, environ, self._track)
        start_response(STATUS_LINES[answer.status], answer.headers)
        return [answer.body]

    def _recording(self, name: str) -> Callable[[str, dict[str, Any]], Any]:
        """What answers a GET records with: ``ptrack.tracking``'s function ``name``
        (looked up on each call, as tests and benchmarks swap it) given the
        environ's context, inside Django's request signals unless turned off."""

        def record(token: str, environ: dict[str, Any]) -> Any:
            track = getattr(tracking, name)
            if not self.request_signals:
                return track(token, tracking.request_context(environ))
            request_started.send(sender=self.__class__, environ=environ)
            try:
                return track(token, tracking.request_context(environ))
            finally:
                request_finished.send(sender=self.__class__)

        return record


def _encode(headers: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers]


# Each status's constant headers as ASGI sends them, encoded once.
_ASGI_HEADERS = {status: _encode(headers) for status, headers in HEADERS.items()}
_CLASSIFIER_HEADERS = {name.lower().encode(): name for name in tracking.CLASSIFIER_HEADERS.values()}


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
        self.withdraw_prefix = self.prefix + WITHDRAW_SEGMENT  # pages: Django serves them

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        token, is_click = None, False
        if scope["type"] == "http":
            path: str = scope["path"]
            root_path: str = scope.get("root_path", "")
            if root_path and path.startswith(root_path):
                path = path[len(root_path) :]
            token = _token(path, self.click_prefix)
            is_click = token is not None
            if token is None and not path.startswith(self.withdraw_prefix):
                token = _token(path, self.prefix)
        if token is None:
            await self.application(scope, receive, send)
            return
        method = scope["method"].upper()
        answer: Answer
        if is_click:
            answer = await aanswer_click(method, token, _context(scope), tracking.atrack_click)
        else:
            answer = await aanswer_pixel(method, token, _context(scope), tracking.atrack)
        headers = _ASGI_HEADERS[answer.status]
        if answer.location is not None:  # the constant headers, then the Location
            headers = [*headers, (b"location", answer.location.encode("latin-1"))]
        await send({"type": "http.response.start", "status": answer.status, "headers": headers})
        await send({"type": "http.response.body", "body": answer.body})


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
    return tracking.new_context(
        (
            (client[0] if client else None) or None,
            # Django joins repeated headers with commas.
            ",".join(user_agent),
            ",".join(referer),
            signals,
        )
    )
