"""Handling one pixel load or click, shared by the views and the fast paths."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from functools import partial
from types import MappingProxyType
from typing import Any, NamedTuple, cast

from ptrack import clicks, consent, encoders, legacy
from ptrack.classifier import KINDS, Classification, Kind, admitted, get_classifier
from ptrack.classifier.config import load_classifier
from ptrack.conf import cached, conf
from ptrack.events import EventType, PixelEvent, new_event
from ptrack.exceptions import ExpiredToken, InvalidToken
from ptrack.privacy import anonymize_ip, opted_out
from ptrack.registry import tracker
from ptrack.tokens import DecodedToken

logger = logging.getLogger("ptrack")

_LOGGED_TOKEN_LENGTH = 80
_FULL = consent.Consent.FULL


# The request headers the classifier and the privacy switches read, by their
# WSGI environ key; the ASGI fast path reads the same names.
CLASSIFIER_HEADERS = {
    "HTTP_SEC_PURPOSE": "Sec-Purpose",
    "HTTP_PURPOSE": "Purpose",
    "HTTP_X_PURPOSE": "X-Purpose",
    "HTTP_X_MOZ": "X-Moz",
    "HTTP_X_SEC_PURPOSE": "X-Sec-Purpose",
    "HTTP_SEC_GPC": "Sec-GPC",
    "HTTP_DNT": "DNT",
}


class RequestContext(NamedTuple):
    """What the pipeline reads of the request that loaded a pixel or followed a link.

    ``request_context()`` makes one from a WSGI environ or ``request.META``.
    Immutable; a named tuple rather than a frozen dataclass, since each request
    makes one and a tuple is made in a fraction of the time.
    """

    ip: str | None = None  #: client address as Django sees it (REMOTE_ADDR); None if unknown
    user_agent: str = ""  #: User-Agent header, "" when absent
    referer: str = ""  #: Referer header, "" when absent
    #: The classifier's and the privacy switches' headers (CLASSIFIER_HEADERS) it carried.
    headers: Mapping[str, str] = MappingProxyType({})


# What track() and the others read when given no context.
_NO_CONTEXT = RequestContext()

# RequestContext((ip, user_agent, referer, headers)) for the front ends, which
# make one per request: without the named tuple's Python-level __new__, it
# costs what the dict it replaced did.
new_context = cast(
    "Callable[[tuple[str | None, str, str, Mapping[str, str]]], RequestContext]",
    partial(tuple.__new__, RequestContext),
)


_NO_HEADERS: Mapping[str, str] = MappingProxyType({})


def request_context(meta: Mapping[str, Any]) -> RequestContext:
    """The context of a load from a WSGI environ or Django's ``request.META``."""
    return new_context(
        (
            meta.get("REMOTE_ADDR") or None,
            meta.get("HTTP_USER_AGENT", ""),
            meta.get("HTTP_REFERER", ""),
            # Most loads carry none of them: one test in C instead of a dict built each time.
            _NO_HEADERS
            if CLASSIFIER_HEADERS.keys().isdisjoint(meta.keys())
            else {name: meta[key] for key, name in CLASSIFIER_HEADERS.items() if key in meta},
        )
    )


def track(token: str, context: RequestContext | None = None) -> PixelEvent | None:
    """Verify ``token`` and give the event to every recorder that takes its kind.

    ``context`` is the request's (``request_context(request.META)``), or none.
    Returns the event as the recipient's consent lets recorders see it, or
    ``None`` when the token did not verify or consent allows nothing; never
    raises for bad input. The view and any other front end call this.
    """
    context = context or _NO_CONTEXT
    return _record(verify(token, context), context)


async def atrack(token: str, context: RequestContext | None = None) -> PixelEvent | None:
    """``track()`` for async front ends: recorders never block the event loop."""
    context = context or _NO_CONTEXT
    return await _arecord(verify(token, context), context)


def verify(token: str, context: RequestContext | None = None) -> PixelEvent | None:
    """The event for a load of ``token``, or ``None`` (logged) if it does not verify."""
    decoded, from_3x = _decode(token, "pixel")
    if decoded is None or isinstance(decoded, ExpiredToken):
        return None
    if clicks.is_click(decoded.args):
        logger.debug("Ignored a click token at the pixel URL: %r", token[:_LOGGED_TOKEN_LENGTH])
        return None
    return _event(EventType.LOADED, decoded, decoded.args, token, context, from_3x=from_3x)


def track_click(token: str, context: RequestContext | None = None) -> str | None:
    """Verify a click ``token``, give its event to the recorders, return the destination.

    The destination is ``None`` when the token does not verify; an expired
    link keeps its destination and records nothing. Never raises for bad input.
    """
    context = context or _NO_CONTEXT
    destination, event = verify_click(token, context)
    _record(event, context)
    return destination


async def atrack_click(token: str, context: RequestContext | None = None) -> str | None:
    """``track_click()`` for async front ends."""
    context = context or _NO_CONTEXT
    destination, event = verify_click(token, context)
    await _arecord(event, context)
    return destination


def verify_click(
    token: str, context: RequestContext | None = None
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
        context,
        destination=destination,
        link_name=link_name,
    )
    return destination, event


def _record(event: PixelEvent | None, context: RequestContext) -> PixelEvent | None:
    """Give a verified ``event``, as much of it as the recipient's consent allows, to its
    recorders, unless the reader opted out (``PTRACK_HONOR_OPT_OUT``) or
    ``PTRACK_RECORD_KINDS`` leaves its kind out; return it as they got it."""
    if event is None:
        return None
    level_at_load = consent.at_load()
    if level_at_load is not None:
        allowed = level_at_load(event.recipient)
        if allowed is not _FULL:  # an event is made at "full"
            event = consent.restrict(event, allowed)
            if event is None:
                return None
    headers = context.headers
    if headers and conf.HONOR_OPT_OUT and opted_out(headers):
        return event
    kinds = _record_kinds()
    if kinds is None or admitted(kinds, event.classification):
        tracker.dispatch(event)
    return event


async def _arecord(event: PixelEvent | None, context: RequestContext) -> PixelEvent | None:
    """``_record()`` for the event loop (the same test, written out: each load passes it)."""
    if event is None:
        return None
    if consent.at_load() is not None:
        recipient = event.recipient
        allowed = consent.unnamed_level() if recipient is None else await consent.alevel(recipient)
        if allowed is not _FULL:  # an event is made at "full"
            event = consent.restrict(event, allowed)
            if event is None:
                return None
    headers = context.headers
    if headers and conf.HONOR_OPT_OUT and opted_out(headers):
        return event
    kinds = _record_kinds()
    if kinds is None or admitted(kinds, event.classification):
        await tracker.adispatch(event)
    return event


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
    headers: Mapping[str, str],
    ip: str | None,
    seconds_since_issued: float | None,
) -> Classification | None:
    classifier = load_classifier()
    try:
        result: Any = classifier(user_agent, headers, ip, seconds_since_issued=seconds_since_issued)
        if isinstance(result, Classification):
            return result
        return Classification(Kind(result.kind), str(result.reason))
    except Exception:
        logger.exception(
            "PTRACK_CLASSIFIER %r failed; the event is recorded unclassified.", get_classifier()
        )
        return None


def _event(
    event_type: str,
    decoded: DecodedToken,
    args: tuple[Any, ...],
    token: str,
    context: RequestContext | None,
    *,
    from_3x: bool = False,
    destination: str = "",
    link_name: str = "",
) -> PixelEvent:
    """The event of a verified load or click, classified once from the request's context.

    With ``PTRACK_ANONYMIZE_IP`` the address is cut to its network after the
    classifier has seen it.
    """
    ip, user_agent, referer, headers = context or _NO_CONTEXT
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
        # The rest by position too: every load makes an event, and keywords cost more.
        from_3x,
        destination,
        link_name,
        classification,
        decoded.recipient,
        decoded.campaign,
        decoded.message,
    )


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
