"""Handling one pixel load or click, shared by the views and the fast paths."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any, TypedDict

from ptrack import clicks, encoders, legacy
from ptrack.classifier import KINDS, Classification, Kind, admitted, get_classifier
from ptrack.conf import cached, conf
from ptrack.events import EventType, PixelEvent, new_event
from ptrack.exceptions import ExpiredToken, InvalidToken
from ptrack.privacy import anonymize_ip, opted_out
from ptrack.registry import tracker
from ptrack.tokens import DecodedToken

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

# Every click answer: no cache may keep it (each click must reach the server),
# and the destination is not told the page the reader came from.
_CLICK_HEADERS = [
    ("Cache-Control", "no-store"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Content-Type-Options", "nosniff"),
]
# A redirect's headers are these and its Location, last.
CLICK_REDIRECT_HEADERS = [
    ("Content-Type", "text/html; charset=utf-8"),
    ("Content-Length", "0"),
    *_CLICK_HEADERS,
]
# A link that does not verify gets this constant page: nothing of the request in it.
CLICK_NOT_FOUND_BODY = b"This link is not valid.\n"
CLICK_NOT_FOUND_HEADERS = [
    ("Content-Type", "text/plain; charset=utf-8"),
    ("Content-Length", str(len(CLICK_NOT_FOUND_BODY))),
    *_CLICK_HEADERS,
]

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
    return admitted(_record_kinds(), event.classification)


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
            "PTRACK_CLASSIFIER %r failed; the event is recorded unclassified.", classifier
        )
        return None


def _event(
    event_type: str,
    decoded: DecodedToken,
    args: tuple[Any, ...],
    token: str,
    ip: str | None,
    user_agent: str,
    referer: str,
    headers: Mapping[str, str] | None,
    *,
    from_3x: bool = False,
    destination: str = "",
    link_name: str = "",
) -> PixelEvent:
    """The event of a verified load or click, classified once from the request's context.

    With ``PTRACK_ANONYMIZE_IP`` the address is cut to its network after the
    classifier has seen it.
    """
    now = datetime.now(timezone.utc)
    issued_at = decoded.issued_at
    classification = _classify(
        user_agent, headers, ip, None if issued_at is None else (now - issued_at).total_seconds()
    )
    return new_event(
        event_type,
        args,
        decoded.kwargs,
        now,
        issued_at,
        decoded.expires_at,
        anonymize_ip(ip) if conf.ANONYMIZE_IP else ip,
        user_agent,
        referer,
        token,
        legacy=from_3x,
        destination=destination,
        link_name=link_name,
        classification=classification,
    )


def verify(
    token: str,
    *,
    ip: str | None = None,
    user_agent: str = "",
    referer: str = "",
    headers: Mapping[str, str] | None = None,
) -> PixelEvent | None:
    """The event for a load of ``token``, or ``None`` (logged) if it does not verify."""
    decoded, from_3x = _decode(token, "pixel")
    if decoded is None or isinstance(decoded, ExpiredToken):
        return None
    if clicks.is_click(decoded.args):
        logger.debug("Ignored a click token at the pixel URL: %r", token[:_LOGGED_TOKEN_LENGTH])
        return None
    return _event(
        EventType.LOADED,
        decoded,
        decoded.args,
        token,
        ip,
        user_agent,
        referer,
        headers,
        from_3x=from_3x,
    )


def track_click(
    token: str,
    *,
    ip: str | None = None,
    user_agent: str = "",
    referer: str = "",
    headers: Mapping[str, str] | None = None,
) -> str | None:
    """Verify a click ``token``, give its event to the recorders, return the destination.

    The destination is ``None`` when the token does not verify; an expired
    link keeps its destination and records nothing. Never raises for bad input.
    """
    destination, event = verify_click(
        token, ip=ip, user_agent=user_agent, referer=referer, headers=headers
    )
    if event is not None and _reaches_recorders(event, headers):
        tracker.dispatch(event)
    return destination


async def atrack_click(
    token: str,
    *,
    ip: str | None = None,
    user_agent: str = "",
    referer: str = "",
    headers: Mapping[str, str] | None = None,
) -> str | None:
    """``track_click()`` for async front ends."""
    destination, event = verify_click(
        token, ip=ip, user_agent=user_agent, referer=referer, headers=headers
    )
    if event is not None and _reaches_recorders(event, headers):
        await tracker.adispatch(event)
    return destination


def verify_click(
    token: str,
    *,
    ip: str | None = None,
    user_agent: str = "",
    referer: str = "",
    headers: Mapping[str, str] | None = None,
) -> tuple[str | None, PixelEvent | None]:
    """Where a click on ``token`` leads, and its event: ``None`` for what is not to be had.

    A genuine link past its expiry gives its destination and no event.
    """
    destination, opened = _open_click(token)
    if opened is None:
        return destination, None
    decoded, destination, link_name, args = opened
    event = _event(
        EventType.CLICKED,
        decoded,
        args,
        token,
        ip,
        user_agent,
        referer,
        headers,
        destination=destination,
        link_name=link_name,
    )
    return destination, event


def click_destination(token: str) -> str | None:
    """Where a click on ``token`` leads, as ``verify_click()`` says, without making an event.

    For HEAD, which gets the same answer as GET and records nothing.
    """
    return _open_click(token)[0]


def _open_click(
    token: str,
) -> tuple[str | None, tuple[DecodedToken, str, str, tuple[Any, ...]] | None]:
    """The destination of a click token, and for a current link its decoded token,
    destination, link name and pixel arguments (what its event is made of)."""
    decoded, _from_3x = _decode(token, "click")
    if decoded is None:
        return None, None
    if isinstance(decoded, ExpiredToken):
        link_args = decoded.link_args
        click = clicks.split(link_args) if link_args is not None else None
        return (click[0] if click else None), None
    click = clicks.split(decoded.args)
    if click is None:
        logger.debug("Ignored a token that is no click link: %r", token[:_LOGGED_TOKEN_LENGTH])
        return None, None
    destination, link_name, args = click
    return destination, (decoded, destination, link_name, args)


def click_answer(destination: str | None) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, headers and body of the answer to a click (bodies are for GET only).

    A redirect to ``destination``, or for a link that did not verify to
    ``PTRACK_CLICK_FALLBACK_URL``, or else a constant 404.
    """
    if destination is None:
        destination = _fallback()
        if destination is None:
            return 404, CLICK_NOT_FOUND_HEADERS, CLICK_NOT_FOUND_BODY
    return 302, [*CLICK_REDIRECT_HEADERS, ("Location", destination)], b""


@cached
def _fallback() -> str | None:
    url = conf.CLICK_FALLBACK_URL
    # An unusable setting answers 404 (system check ptrack.E022 reports it).
    return url if url and clicks.problem(url) is None else None


def _decode(token: str, kind: str) -> tuple[DecodedToken | ExpiredToken | None, bool]:
    """The verified token, the exception for a genuine expired one, or None (logged);
    and whether it is a pixel link from django-ptrack 3.x."""
    try:
        try:
            return encoders.decode(token), False
        except (InvalidToken, ValueError) as rejected:
            # Perhaps a pixel link from django-ptrack 3.x (PTRACK_LEGACY_SECRET);
            # 3.x made no click links.
            reader = legacy.reader() if kind == "pixel" else None
            if reader is None or isinstance(rejected, ExpiredToken):
                raise
            return reader.decode_rejected(token, rejected), True
    except ExpiredToken as e:
        logger.info(
            "Ignored expired %s link (issued %s, expired %s): %r",
            kind,
            e.issued_at,
            e.expires_at,
            token[:_LOGGED_TOKEN_LENGTH],
        )
        return e, False
    except (InvalidToken, ValueError) as e:
        logger.debug("Ignored invalid %s token %r: %r", kind, token[:_LOGGED_TOKEN_LENGTH], str(e))
        return None, False
    except Exception:
        logger.exception(
            "Pixel encoder %r raised an unexpected error on token %r",
            encoders.get_encoder(),
            token[:_LOGGED_TOKEN_LENGTH],
        )
        return None, False
