"""Consent per recipient: what a link may carry when it is rendered, and what a load may record.

The site's consent source (``PTRACK_CONSENT``) is asked when a link naming a
recipient is rendered and again every time such a link is loaded or clicked,
before any recorder sees the event: a withdrawal then reaches mail already
sent, which a stateless link can only honour by asking at load. Whatever goes
wrong in asking (an import error, an exception, an answer that is no level, a
timeout) counts as ``"none"``: the load is answered and nothing is recorded.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import inspect
import logging
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from asgiref.sync import async_to_sync
from django.utils.module_loading import import_string

from ptrack import lanes
from ptrack.conf import cached, conf
from ptrack.exceptions import PixelValueError

if TYPE_CHECKING:
    from ptrack.events import PixelEvent

logger = logging.getLogger("ptrack")


class Consent(str, enum.Enum):
    """How much a recipient allows ptrack to record about them."""

    #: Individual opens and clicks, as without consent checks.
    FULL = "full"
    #: Only that the recipient loaded a link on a given day (UTC), for deliverability.
    DELIVERABILITY = "deliverability"
    #: Counted for the link's data, never naming the recipient.
    AGGREGATE = "aggregate"
    #: Nothing: no pixel rendered, links left as they are, loads not recorded.
    NONE = "none"

    def __str__(self) -> str:
        return self.value


LEVELS = frozenset(level.value for level in Consent)

# An opaque key goes in the URL; these look like an address someone put there instead.
RECIPIENT_MAX_LENGTH = 128
_LOOKS_LIKE_ADDRESS = re.compile(r"@|%40", re.IGNORECASE)


def check_recipient(recipient: object) -> str:
    """``recipient`` as a link may carry it, or ``PixelValueError`` saying why it may not."""
    if not isinstance(recipient, str) or not recipient:
        raise PixelValueError(
            f"recipient={recipient!r} should be a non-empty str: an opaque key such as "
            f"a subscriber id."
        )
    if len(recipient) > RECIPIENT_MAX_LENGTH:
        raise PixelValueError(
            f"recipient is {len(recipient)} characters long, over {RECIPIENT_MAX_LENGTH}; "
            f"give an opaque key such as a subscriber id."
        )
    if _LOOKS_LIKE_ADDRESS.search(recipient):
        raise PixelValueError(
            f"recipient={recipient!r} looks like an email address, which would travel in "
            f"clear in the URL; give an opaque key such as a subscriber id instead."
        )
    return recipient


# A source that failed to import: every answer it gives is "none".
_BROKEN = object()


@cached
def _source() -> Any:
    """The consent source and whether it is a coroutine function; ``None`` when unset."""
    path = conf.CONSENT
    if not path:
        return None
    try:
        source = import_string(path) if isinstance(path, str) else path
    except ImportError:
        logger.exception(
            "PTRACK_CONSENT %r cannot be imported; nothing naming a recipient is recorded.", path
        )
        return _BROKEN, False
    if not callable(source):
        logger.error(
            "PTRACK_CONSENT %r is not callable; nothing naming a recipient is recorded.", path
        )
        return _BROKEN, False
    return source, inspect.iscoroutinefunction(source)


@cached
def _pool() -> ThreadPoolExecutor | None:
    # Under WSGI a source can only be given up on from another thread; only
    # with PTRACK_CONSENT_TIMEOUT set does each lookup pay for the hand-off.
    if conf.CONSENT_TIMEOUT is None:
        return None
    return ThreadPoolExecutor(max_workers=8, thread_name_prefix="ptrack-consent")


def _default() -> Consent:
    try:
        return Consent(conf.CONSENT_DEFAULT)
    except ValueError:
        return Consent.NONE  # ptrack.E051 reports it


def unnamed_level() -> Consent:
    """The level of a load whose link names no recipient, while a consent source is set."""
    try:
        return Consent(conf.CONSENT_UNNAMED)
    except ValueError:
        return Consent.NONE  # ptrack.E051 reports it


# A source's answers, by value; a Consent member finds itself (a str enum hashes as its value).
_BY_VALUE: dict[object, Consent] = {level.value: level for level in Consent}


def _answer(answer: object, recipient: str) -> Consent:
    try:
        found = _BY_VALUE.get(answer)
    except TypeError:  # unhashable: no level either
        found = None
    return found if found is not None else _not_a_level(answer, recipient)


def _not_a_level(answer: object, recipient: str) -> Consent:
    if answer is None:
        return _default()
    logger.error(
        "PTRACK_CONSENT answered %r for recipient %r, which is no level (%s); nothing is recorded.",
        answer,
        recipient,
        ", ".join(sorted(LEVELS)),
    )
    return Consent.NONE


def _failed(recipient: str) -> Consent:
    logger.exception("PTRACK_CONSENT failed for recipient %r; nothing is recorded.", recipient)
    return Consent.NONE


def _nothing(recipient: str) -> Consent:
    return Consent.NONE


def _asker(source: Any, is_async: bool) -> Callable[[str], Any]:
    """What a load calls for an answer: the source itself in the usual case, so
    that a lookup costs little more than it."""
    if source is _BROKEN:
        return _nothing
    call: Callable[[str], Any] = async_to_sync(source) if is_async else source
    pool = _pool()
    if pool is None:
        return call
    timeout = conf.CONSENT_TIMEOUT

    def with_timeout(recipient: str) -> Any:
        return pool.submit(call, recipient).result(timeout=timeout)

    return with_timeout


@cached
def at_load() -> Callable[[str | None], Consent] | None:
    """What a load asks for the level of the recipient its link names (``None``: it
    names nobody); ``None`` when no consent source is set and everything is recorded.

    Built once per settings change, as one call: every load naming a recipient
    pays for it, and inside a request each extra call layer costs more than in
    a loop.
    """
    found = _source()
    if found is None:
        return None
    ask = _asker(*found)
    unnamed = unnamed_level()

    def level_at_load(recipient: str | None) -> Consent:
        if recipient is None:
            return unnamed
        try:
            answer = ask(recipient)
        except FutureTimeout:
            return _timed_out(recipient)
        except Exception:
            return _failed(recipient)
        return _answer(answer, recipient)

    return level_at_load


def level(recipient: str) -> Consent:
    """The recipient's level now; ``"full"`` when no consent source is set."""
    ask = at_load()
    return Consent.FULL if ask is None else ask(recipient)


async def alevel(recipient: str) -> Consent:
    """``level()`` for the event loop: a sync source runs in a thread, as Django's ORM must."""
    found = _source()
    if found is None:
        return Consent.FULL
    source, is_async = found
    if source is _BROKEN:
        return Consent.NONE
    try:
        pending = source(recipient) if is_async else _in_lane(source, recipient)
        timeout = conf.CONSENT_TIMEOUT
        answer = await (pending if timeout is None else asyncio.wait_for(pending, timeout))
    except asyncio.TimeoutError:
        return _timed_out(recipient)
    except Exception:
        return _failed(recipient)
    return _answer(answer, recipient)


async def _in_lane(source: Callable[[str], Any], recipient: str) -> Any:
    """``source(recipient)`` in a thread of its own lane: a sync source may use the ORM,
    and one that hangs holds none of the threads Django's own sync code waits for."""
    outcome: list[Any] = []

    def ask() -> None:
        try:
            outcome.append((True, source(recipient)))
        except Exception as e:
            outcome.append((False, e))

    await lanes.consent.run(ask)
    answered, value = outcome[0]
    if not answered:
        raise value
    return value


def _timed_out(recipient: str) -> Consent:
    logger.error(
        "PTRACK_CONSENT took longer than PTRACK_CONSENT_TIMEOUT (%s s) for recipient %r; "
        "nothing is recorded.",
        conf.CONSENT_TIMEOUT,
        recipient,
    )
    return Consent.NONE


def restrict(event: PixelEvent, allowed: Consent) -> PixelEvent | None:
    """``event`` as much of it as ``allowed`` lets a recorder learn; ``None`` for nothing.

    The classification stays in every event recorded, so that a machine's load
    is never counted as a person's: it says what kind of client loaded the
    link, not who.
    """
    if allowed is Consent.FULL:
        return event if event.consent is Consent.FULL else _replace(event, consent=allowed)
    if allowed is Consent.AGGREGATE:
        return _replace(
            event,
            consent=allowed,
            recipient=None,
            ip=None,
            user_agent="",
            referer="",
            token="",
            message=None,  # ptrack.store knows whom a message went to
        )
    if allowed is Consent.DELIVERABILITY:
        day = event.timestamp.astimezone(timezone.utc)
        return _replace(
            event,
            consent=allowed,
            timestamp=datetime(day.year, day.month, day.day, tzinfo=timezone.utc),
            args=(),
            kwargs={},
            issued_at=None,
            expires_at=None,
            ip=None,
            user_agent="",
            referer="",
            token="",
            destination="",
            link_name="",
            campaign=None,
            message=None,
        )
    return None


_replace = dataclasses.replace
