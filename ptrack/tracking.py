"""Handling one pixel load, shared by the view and any other front end."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any, TypedDict

from ptrack import encoders, legacy
from ptrack.events import PixelEvent, loaded_event
from ptrack.exceptions import ExpiredToken, InvalidToken
from ptrack.registry import tracker

logger = logging.getLogger("ptrack")

# A 1x1 transparent GIF89a (43 bytes).
PIXEL_GIF = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\x00\x00\x00"
    b"!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)

PIXEL_HEADERS = {
    # Every load must reach the server: no cache, shared or private, may keep it.
    "Cache-Control": "no-cache, no-store, must-revalidate, private, max-age=0",
    "Pragma": "no-cache",
    "Expires": "0",
    "X-Content-Type-Options": "nosniff",
    "Content-Length": str(len(PIXEL_GIF)),
}

_LOGGED_TOKEN_LENGTH = 80


class RequestContext(TypedDict):
    ip: str | None
    user_agent: str
    referer: str


def request_context(meta: Mapping[str, Any]) -> RequestContext:
    """The context of a load from a WSGI environ or Django's ``request.META``."""
    return {
        "ip": meta.get("REMOTE_ADDR") or None,
        "user_agent": meta.get("HTTP_USER_AGENT", ""),
        "referer": meta.get("HTTP_REFERER", ""),
    }


def track(
    token: str, *, ip: str | None = None, user_agent: str = "", referer: str = ""
) -> PixelEvent | None:
    """Verify ``token`` and give the event to every recorder.

    Returns the event, or ``None`` when the token did not verify; never raises
    for bad input. The view and any other front end call this.
    """
    event = verify(token, ip=ip, user_agent=user_agent, referer=referer)
    if event is not None:
        tracker.dispatch(event)
    return event


async def atrack(
    token: str, *, ip: str | None = None, user_agent: str = "", referer: str = ""
) -> PixelEvent | None:
    """``track()`` for async front ends: recorders never block the event loop."""
    event = verify(token, ip=ip, user_agent=user_agent, referer=referer)
    if event is not None:
        await tracker.adispatch(event)
    return event


def verify(
    token: str, *, ip: str | None = None, user_agent: str = "", referer: str = ""
) -> PixelEvent | None:
    """The event for a load of ``token``, or ``None`` (logged) if it does not verify."""
    from_3x = False
    try:
        try:
            decoded = encoders.decode(token)
        except (InvalidToken, ValueError) as rejected:
            # Perhaps a pixel link from django-ptrack 3.x (PTRACK_LEGACY_SECRET).
            reader = legacy.reader()
            if reader is None or isinstance(rejected, ExpiredToken):
                raise
            decoded, from_3x = reader.decode_rejected(token, rejected), True
    except ExpiredToken as e:
        logger.info(
            "Ignored expired pixel link (issued %s, expired %s): %r",
            e.issued_at,
            e.expires_at,
            token[:_LOGGED_TOKEN_LENGTH],
        )
        return None
    except (InvalidToken, ValueError) as e:
        logger.debug("Ignored invalid pixel token %r: %r", token[:_LOGGED_TOKEN_LENGTH], str(e))
        return None
    except Exception:
        logger.exception(
            "Pixel encoder %r raised an unexpected error on token %r",
            encoders.get_encoder(),
            token[:_LOGGED_TOKEN_LENGTH],
        )
        return None
    return loaded_event(
        decoded.args,
        decoded.kwargs,
        datetime.now(timezone.utc),
        decoded.issued_at,
        decoded.expires_at,
        ip,
        user_agent,
        referer,
        token,
        from_3x,
    )
