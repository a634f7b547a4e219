"""Checks of the consent settings: ptrack.E050 to E055."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import CheckMessage, Error

from ptrack.checks.values import check_callable, check_seconds
from ptrack.conf import conf
from ptrack.consent import LEVELS


def check_consent() -> list[CheckMessage]:
    return [
        *check_callable(
            "PTRACK_CONSENT",
            conf.CONSENT,
            "ptrack.E050",
            "Name a function taking a recipient key and answering 'full', 'deliverability', "
            "'aggregate', 'none' or None (not known), e.g. 'myapp.consent.level'.",
        ),
        *_check_level("PTRACK_CONSENT_DEFAULT", conf.CONSENT_DEFAULT),
        *_check_level("PTRACK_CONSENT_UNNAMED", conf.CONSENT_UNNAMED),
        *check_seconds(
            "PTRACK_CONSENT_TIMEOUT",
            conf.CONSENT_TIMEOUT,
            "ptrack.E052",
            none_ok=True,
            hint="Past it a lookup counts as 'none'; None waits for the consent source.",
        ),
        *check_callable(
            "PTRACK_MESSAGE_RECIPIENT",
            conf.MESSAGE_RECIPIENT,
            "ptrack.E053",
            "Name a function taking an EmailMessage and answering its recipient's opaque key "
            "or None, e.g. 'myapp.mail.recipient_key'.",
        ),
        *check_callable(
            "PTRACK_CONSENT_WITHDRAW",
            conf.CONSENT_WITHDRAW,
            "ptrack.E054",
            "Name a function taking a recipient key that records their withdrawal, "
            "e.g. 'myapp.consent.withdraw'.",
        ),
        *_check_consents_cache(conf.CONSENTS_CACHE),
    ]


def _check_consents_cache(alias: object) -> list[CheckMessage]:
    aliases = getattr(settings, "CACHES", {})
    if isinstance(alias, str) and alias in aliases:
        return []
    return [
        Error(
            f"PTRACK_CONSENTS_CACHE should name a cache in CACHES, not {alias!r}.",
            hint=f"Give one of {', '.join(repr(a) for a in aliases)}; ptrack.consents "
            f"reads levels through it.",
            id="ptrack.E055",
        )
    ]


def _check_level(name: str, value: object) -> list[CheckMessage]:
    if isinstance(value, str) and value in LEVELS:
        return []
    return [
        Error(
            f"{name} should be one of {', '.join(repr(level) for level in sorted(LEVELS))}, "
            f"not {value!r}.",
            hint="Anything else records nothing for those loads, as 'none' would.",
            id="ptrack.E051",
        )
    ]
