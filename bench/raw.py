"""The server's ceiling: WSGI and ASGI callables that answer the pixel without Django."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ptrack.tracking import PIXEL_GIF, PIXEL_HEADERS

_HEADERS = [("Content-Type", "image/gif"), *PIXEL_HEADERS.items()]
_ASGI_HEADERS = [(name.lower().encode(), value.encode()) for name, value in _HEADERS]


def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    start_response("200 OK", _HEADERS)
    return [PIXEL_GIF]


async def asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":  # lifespan: nothing to set up
        return
    await send({"type": "http.response.start", "status": 200, "headers": _ASGI_HEADERS})
    await send({"type": "http.response.body", "body": PIXEL_GIF})
