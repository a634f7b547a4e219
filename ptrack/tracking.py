"""Handling one pixel load, shared by the view and any other front end."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any, TypedDict

from ptrack import encoders
from ptrack.classifier import KINDS, Classification, Kind, get_classifier
from ptrack.conf import cached, conf
from ptrack.events import PixelEvent, loaded_event
from ptrack.exceptions import ExpiredToken, InvalidToken
from ptrack.privacy import anonymize_ip, opted_out
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
    headers: Mapping[str, str]


# The request headers the classifier and the privacy switches read, by their
# WSGI environ key; the ASGI fast path reads the same names.
CLASSIFIER_HEADERS = {
    "HTTP_SEC_PURPOSE": "Sec-Purpose",
    "HTTP_PURPOSE": "Purpose",
    "HTTP_X_PURPOSE": "X-Purpose",
    "HTTP_X_MOZ": "X-Moz",
    "HTTP_SEC_GPC": "Sec-GPC",
    "HTTP_DNT": "DNT",
}


def request_context(meta: Mapping[str, Any]) -> RequestContext:
    """The context of a load from a WSGI environ or Django's ``request.META``."""
    return {
        "ip": meta.get("REMOTE_ADDR") or None,
        "user_agent": meta.get("HTTP_USER_AGENT", ""),
        "referer": meta.get("HTTP_REFERER", ""),
        "headers": {name: meta[key] for key, name in CLASSIFIER_HEADERS.items() if key in meta},
    }


def track(
    token: str,
    *,
    ip: str | None = None,
    user_agent: str = "",
    referer: str = "",
    headers: Mapping[str, str] | None = None,
) -> PixelEvent | None:
    """Verify ``token`` and give the event to every recorder that takes its kind.

    Returns the event, or ``None`` when the token did not verify; never raises
    for bad input. The view and any other front end call this.
    """
    event = verify(token, ip=ip, user_agent=user_agent, referer=referer, headers=headers)
    if event is not None and _reaches_recorders(event, headers):
        tracker.dispatch(event)
    return event


async def atrack(
    token: str,
    *,
    ip: str | None = None,
    user_agent: str = "",
    referer: str = "",
    headers: Mapping[str, str] | None = None,
) -> PixelEvent | None:
    """``track()`` for async front ends: recorders never block the event loop."""
    event = verify(token, ip=ip, user_agent=user_agent, referer=referer, headers=headers)
    if event is not None and _reaches_recorders(event, headers):
        await tracker.adispatch(event)
    return event


def _reaches_recorders(event: PixelEvent, headers: Mapping[str, str] | None) -> bool:
    if headers and conf.HONOR_OPT_OUT and opted_out(headers):
        return False
    kinds = _record_kinds()
    return kinds is None or event.classification is None or event.classification.kind in kinds


@cached
def _record_kinds() -> frozenset[str] | None:
    """``PTRACK_RECORD_KINDS`` as a set; ``None``: record every kind (or it is unusable)."""
    try:
        kinds = frozenset(conf.RECORD_KINDS)
    except TypeError:
        return None  # ptrack.E030 reports it; record everything meanwhile
    return None if kinds >= KINDS else kinds


def _classify(
    user_agent: str,
    headers: Mapping[str, str] | None,
    ip: str | None,
    seconds_since_issued: float | None,
) -> Classification | None:
    classifier = get_classifier()
    try:
        result: Any = classifier(
            user_agent, headers or {}, ip, seconds_since_issued=seconds_since_issued
        )
        if isinstance(result, Classification):
            return result
        return Classification(Kind(result.kind), str(result.reason))
    except Exception:
        logger.exception(
            "PTRACK_CLASSIFIER %r failed; the load is recorded unclassified.", classifier
        )
        return None


def verify(
    token: str,
    *,
    ip: str | None = None,
    user_agent: str = "",
    referer: str = "",
    headers: Mapping[str, str] | None = None,
) -> PixelEvent | None:
    """The event for a load of ``token``, or ``None`` (logged) if it does not verify.

    The event is classified here, once, from the request's context; with
    ``PTRACK_ANONYMIZE_IP`` its address is then cut to its network.
    """
    try:
        decoded = encoders.decode(token)
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
    now = datetime.now(timezone.utc)
    issued_at = decoded.issued_at
    classification = _classify(
        user_agent, headers, ip, None if issued_at is None else (now - issued_at).total_seconds()
    )
    return loaded_event(
        decoded.args,
        decoded.kwargs,
        now,
        issued_at,
        decoded.expires_at,
        anonymize_ip(ip) if conf.ANONYMIZE_IP else ip,
        user_agent,
        referer,
        token,
        classification,
    )
