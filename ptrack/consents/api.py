"""Recording and reading consent: each change writes the state and its proof together.

``level()`` is what ``PTRACK_CONSENT`` calls at every pixel load, so it reads
through Django's cache (``PTRACK_CONSENTS_CACHE``). A change overwrites the
recipient's key once its transaction commits, never before (a rolled-back
change must not show) and never by deleting it (a reader between the delete and
its own write could put the old level back): every process reading that cache
sees the change on its next lookup, whatever the timeout.
"""

from __future__ import annotations

import html
import logging
import re
from datetime import datetime
from typing import TYPE_CHECKING

from django.core.cache import BaseCache, caches
from django.db import transaction
from django.utils import timezone

from ptrack.conf import conf
from ptrack.consent import LEVELS, check_recipient

if TYPE_CHECKING:
    from ptrack.consents.models import ConsentChange

logger = logging.getLogger("ptrack")

KEY_PREFIX = "ptrack.consents:"
# Cached for a recipient the store does not know, so that a miss is not a query each load.
_UNKNOWN = "?"
# A safety net for rows changed behind the API's back; correctness never waits for it.
_TIMEOUT = 24 * 60 * 60


def _cache() -> BaseCache:
    return caches[conf.CONSENTS_CACHE]


def _key(recipient: str) -> str:
    return KEY_PREFIX + recipient


def _stored(recipient: str) -> str | None:
    from ptrack.consents.models import Consent

    return Consent.objects.filter(recipient=recipient).values_list("level", flat=True).first()


def level(recipient: str) -> str | None:
    """The recipient's level, ``None`` when the store does not know them.

    A cache that fails is logged and read past, to the database: a load is
    never lost to it.
    """
    key = _key(recipient)
    try:
        cached = _cache().get(key)
    except Exception:
        logger.exception("PTRACK_CONSENTS_CACHE failed to read %r; reading the database.", key)
        return _stored(recipient)
    if cached is not None:
        return None if cached == _UNKNOWN else str(cached)
    found = _stored(recipient)
    try:
        # add(), not set(): a change committed since the read above has written the key.
        _cache().add(key, _UNKNOWN if found is None else found, timeout=_TIMEOUT)
    except Exception:
        logger.exception("PTRACK_CONSENTS_CACHE failed to write %r.", key)
    return found


def _remember(recipient: str, value: str) -> None:
    key = _key(recipient)
    try:
        _cache().set(key, value, timeout=_TIMEOUT)
    except Exception:
        logger.exception("PTRACK_CONSENTS_CACHE failed to write %r; deleting it.", key)
        try:
            _cache().delete(key)
        except Exception:
            logger.critical(
                "PTRACK_CONSENTS_CACHE may still give the old level of %r until it expires.",
                recipient,
                exc_info=True,
            )


def _change(
    recipient: str, value: str, *, source: str, wording: str, note: str, at: datetime | None
) -> ConsentChange:
    from ptrack.consents.models import SOURCES, Consent, ConsentChange

    check_recipient(recipient)
    if not isinstance(value, str) or value not in LEVELS:
        raise ValueError(
            f"level={value!r} should be one of {', '.join(repr(v) for v in sorted(LEVELS))}."
        )
    if source not in SOURCES:
        raise ValueError(
            f"source={source!r} should be one of {', '.join(repr(s) for s in sorted(SOURCES))}."
        )
    if at is None:
        at = timezone.now()
    elif timezone.is_naive(at):
        raise ValueError(f"at={at!r} should be an aware datetime.")
    with transaction.atomic():
        state, created = Consent.objects.select_for_update().get_or_create(
            recipient=recipient, defaults={"level": value, "updated_at": at}
        )
        # A change dated before the state (an import of old records) joins the history only.
        if not created and state.updated_at <= at:
            state.level, state.updated_at = value, at
            state.save(update_fields=["level", "updated_at"])
        change = ConsentChange.objects.create(
            recipient=recipient, level=value, at=at, source=source, wording=wording, note=note
        )
        current = state.level
        transaction.on_commit(lambda: _remember(recipient, current))
    return change


def grant(
    recipient: str,
    level: str = "full",
    *,
    source: str,
    wording: str = "",
    note: str = "",
    at: datetime | None = None,
) -> ConsentChange:
    """Record that ``recipient`` now allows ``level``, with the ``wording`` they were shown.

    ``source`` says how: ``"form"``, ``"link"``, ``"import"``, ``"admin"`` or ``"api"``.
    """
    return _change(recipient, level, source=source, wording=wording, note=note, at=at)


def withdraw(
    recipient: str,
    *,
    source: str,
    wording: str = "",
    note: str = "",
    at: datetime | None = None,
) -> ConsentChange:
    """Record that ``recipient`` allows nothing any more (``"none"``)."""
    return _change(recipient, "none", source=source, wording=wording, note=note, at=at)


def withdraw_from_link(recipient: str) -> None:
    """``PTRACK_CONSENT_WITHDRAW`` for this store: a withdrawal confirmed on the link's page,
    recorded with the text that page shows (the site's own template, when it overrides it)."""
    withdraw(recipient, source="link", wording=_confirmation_wording())


_HEAD = re.compile(r"<head\b.*?</head\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>")


def _confirmation_wording() -> str:
    """The text a person reads on the confirmation page, as one line."""
    from django.template.loader import render_to_string

    from ptrack.withdrawal import CONFIRM_TEMPLATE

    # A token stands in for the request's: the form's hidden field is no wording.
    page = render_to_string(CONFIRM_TEMPLATE, {"action": "", "csrf_token": "-"})
    return " ".join(html.unescape(_TAG.sub(" ", _HEAD.sub(" ", page))).split())


def history(recipient: str) -> list[ConsentChange]:
    """Every recorded change of ``recipient``'s level, oldest first."""
    from ptrack.consents.models import ConsentChange

    return list(ConsentChange.objects.filter(recipient=recipient).order_by("at", "pk"))
