"""Checks of the settings that read links from django-ptrack 3.x: ptrack.E018 to E021, W004."""

from __future__ import annotations

import importlib.util
from datetime import date, datetime, timezone

from django.core.checks import CheckMessage, Error, Warning

from ptrack import legacy
from ptrack.conf import conf


def check_legacy() -> list[CheckMessage]:
    """PTRACK_LEGACY_SECRET and PTRACK_LEGACY_UNTIL, which read links from django-ptrack 3.x."""
    messages: list[CheckMessage] = []
    secret = conf.LEGACY_SECRET
    if secret is not None and secret != "":
        try:
            legacy.legacy_key(secret)
        except ValueError as e:
            messages.append(
                Error(
                    f"{e}.",
                    hint="Copy the value of PTRACK_SECRET from the settings 3.x ran with.",
                    id="ptrack.E018",
                )
            )
        if importlib.util.find_spec("nacl") is None:
            messages.append(
                Error(
                    "PTRACK_LEGACY_SECRET is set, but PyNaCl, which reads links from "
                    "django-ptrack 3.x, is not installed.",
                    hint="pip install 'django-ptrack[legacy]'",
                    id="ptrack.E019",
                )
            )
    until: object = conf.LEGACY_UNTIL
    if until is None:
        return messages
    if not isinstance(until, date):
        messages.append(
            Error(
                f"PTRACK_LEGACY_UNTIL should be an aware datetime, a date or None, not {until!r}.",
                id="ptrack.E020",
            )
        )
    elif isinstance(until, datetime) and until.utcoffset() is None:
        messages.append(
            Error(
                f"PTRACK_LEGACY_UNTIL should be an aware datetime, not the naive {until!r}.",
                hint="Give it a tzinfo, e.g. datetime(2027, 6, 30, tzinfo=timezone.utc), "
                "or use a date, which means the end of that day, UTC.",
                id="ptrack.E021",
            )
        )
    else:
        end = legacy.cutoff(until)
        if end is not None and end <= datetime.now(timezone.utc):
            messages.append(
                Warning(
                    f"PTRACK_LEGACY_UNTIL {until!r} has passed: links from django-ptrack "
                    f"3.x no longer record.",
                    hint="If they should not, remove PTRACK_LEGACY_SECRET and "
                    "PTRACK_LEGACY_UNTIL; otherwise move the date.",
                    id="ptrack.W004",
                )
            )
    return messages
