"""Checks of the settings that make and verify links: ptrack.E001-E006, E009-E011, W001, E022."""

from __future__ import annotations

import importlib.util
import math
from datetime import timedelta

from django.core.checks import CheckMessage, Error, Warning
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from ptrack import encoders, urlcheck
from ptrack.conf import conf

_NEW_KEY_HINT = (
    "Generate one with: python -c 'from django.core.management.utils import "
    "get_random_secret_key; print(get_random_secret_key())'"
)


def check_app_url() -> list[CheckMessage]:
    url = conf.APP_URL
    if not url:
        return [
            Error(
                "PTRACK_APP_URL is not set.",
                hint="Set it to the absolute base URL of the site serving the pixels, "
                "e.g. 'https://track.example.com'.",
                id="ptrack.E001",
            )
        ]
    if urlcheck.problem(url, strict=False, query=False) is not None:
        return [
            Error(
                f"PTRACK_APP_URL should be an absolute http(s) URL without query or "
                f"fragment, not {url!r}.",
                hint="Use the scheme and host mail clients reach the pixels on, e.g. "
                "'https://track.example.com'.",
                id="ptrack.E002",
            )
        ]
    return []


def check_encoder() -> list[CheckMessage]:
    override = encoders.get_override()
    if override is not None:
        return []  # set_encoder() already refused anything of the wrong shape.
    path = conf.ENCODER
    try:
        encoder = import_string(path)
    except ImportError as e:
        return [
            Error(
                f"PTRACK_ENCODER {path!r} cannot be imported: {e}",
                hint="Give the dotted path of an encoder class, e.g. "
                "'ptrack.encoders.FernetEncoder'.",
                id="ptrack.E003",
            )
        ]
    if not encoders.is_encoder(encoder):
        return [
            Error(
                f"PTRACK_ENCODER {path!r} should name a class with static encrypt() and "
                f"decrypt() methods, not {encoder!r}.",
                id="ptrack.E004",
            )
        ]
    if (
        isinstance(encoder, type)
        and issubclass(encoder, encoders.FernetEncoder)
        and importlib.util.find_spec("cryptography") is None
    ):
        return [
            Error(
                f"PTRACK_ENCODER {path!r} needs the cryptography package.",
                hint="pip install 'django-ptrack[fernet]'",
                id="ptrack.E010",
            )
        ]
    return []


def check_secrets() -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    secret = conf.RAW_SECRET
    if secret is not None and not isinstance(secret, (str, bytes)):
        errors.append(
            Error(
                f"PTRACK_SECRET should be a str, not {type(secret).__name__}.",
                id="ptrack.E009",
            )
        )
    elif secret:
        errors += weak_key("PTRACK_SECRET", secret)
    else:  # None, "" or b"": SECRET_KEY signs
        try:
            conf.SECRET_KEY  # noqa: B018
        except ImproperlyConfigured:
            errors.append(
                Error(
                    "Pixel links have no signing key: PTRACK_SECRET and SECRET_KEY are both empty.",
                    hint=_NEW_KEY_HINT,
                    id="ptrack.E005",
                )
            )
    fallbacks = conf.RAW_SECRET_FALLBACKS
    if not isinstance(fallbacks, (list, tuple)) or not all(
        isinstance(key, (str, bytes)) and key for key in fallbacks
    ):
        errors.append(
            Error(
                f"PTRACK_SECRET_FALLBACKS should be a list of non-empty keys, newest "
                f"first, not {fallbacks!r}.",
                id="ptrack.E011",
            )
        )
    return errors


def check_max_age() -> list[CheckMessage]:
    value = conf.MAX_AGE
    if value is None:
        return []
    if isinstance(value, timedelta):
        seconds: float = value.total_seconds()
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = value
    else:
        seconds = 0
    # An int is always finite, and math.isfinite() overflows on one past a float's range.
    if not (seconds > 0 and (not isinstance(seconds, float) or math.isfinite(seconds))):
        return [
            Error(
                f"PTRACK_MAX_AGE should be a positive number of seconds, a positive "
                f"timedelta, or None for links that never expire; not {value!r}.",
                id="ptrack.E006",
            )
        ]
    return []


def weak_key(name: str, key: object) -> list[CheckMessage]:
    text = key.decode("latin-1") if isinstance(key, bytes) else str(key)
    if len(text) < 50 or len(set(text)) < 5 or text.startswith("django-insecure-"):
        return [
            Warning(
                f"{name} is too weak to sign pixel links: it should have at least 50 "
                f"characters and 5 distinct ones, and not be a django-insecure- key.",
                hint=_NEW_KEY_HINT,
                id="ptrack.W001",
            )
        ]
    return []


def check_click_fallback() -> list[CheckMessage]:
    url = conf.CLICK_FALLBACK_URL
    if url is None or url == "" or urlcheck.problem(url) is None:
        return []
    return [
        Error(
            f"PTRACK_CLICK_FALLBACK_URL should be an absolute http(s) URL without "
            f"credentials, spaces or control characters, or None; not {url!r}.",
            hint="Give the page a link that does not verify should lead to, e.g. "
            "'https://www.example.com/'; until then such links answer 404.",
            id="ptrack.E022",
        )
    ]
