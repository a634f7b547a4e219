"""The server's ceiling: WSGI and ASGI callables that answer without Django.

Paths under ``/bare302/`` get the click endpoint's constant redirect, every other
path the pixel.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ptrack.answers import CLICK_REDIRECT_HEADERS, PIXEL_GIF, PIXEL_HEADERS

_HEADERS = [("Content-Type", "image/gif"), *PIXEL_HEADERS.items()]
_ASGI_HEADERS = [(name.lower().encode(), value.encode()) for name, value in _HEADERS]
_REDIRECT = "/bare302/"
_REDIRECT_HEADERS = [*CLICK_REDIRECT_HEADERS, ("Location", "https://www.example.com/pricing")]
_ASGI_REDIRECT_HEADERS = [
    (name.lower().encode(), value.encode()) for name, value in _REDIRECT_HEADERS
]


def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    if environ["PATH_INFO"].startswith(_REDIRECT):
        start_response("302 Found", _REDIRECT_HEADERS)
        return [b""]
    start_response("200 OK", _HEADERS)
    return [PIXEL_GIF]


async def asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":  # lifespan: nothing to set up
        return
    if scope["path"].startswith(_REDIRECT):
        await send(
            {"type": "http.response.start", "status": 302, "headers": _ASGI_REDIRECT_HEADERS}
        )
        await send({"type": "http.response.body", "body": b""})
        return
    await send({"type": "http.response.start", "status": 200, "headers": _ASGI_HEADERS})
    await send({"type": "http.response.body", "body": PIXEL_GIF})
