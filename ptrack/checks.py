"""System checks for ptrack's settings; registered in ``PtrackConfig.ready()``."""

from __future__ import annotations

import importlib.util
import inspect
import math
import os
import re
from collections.abc import Sequence
from datetime import date, datetime, timedelta, timezone
from typing import Any

from django.core.checks import CheckMessage, Error, Warning
from django.core.exceptions import ImproperlyConfigured
from django.urls import NoReverseMatch, reverse
from django.utils.module_loading import import_string

from ptrack import encoders, legacy, urlcheck
from ptrack.classifier import KINDS, extra_networks, extra_rules
from ptrack.conf import conf

_NEW_KEY_HINT = (
    "Generate one with: python -c 'from django.core.management.utils import "
    "get_random_secret_key; print(get_random_secret_key())'"
)


def check_settings(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list[CheckMessage]:
    """Every ``PTRACK_*`` setting, in the order of the first id each helper reports."""
    return [
        *_check_app_url(),
        *_check_encoder(),
        *_check_secrets(),
        *_check_max_age(),
        *_check_positive_int("PTRACK_MAX_TOKEN_LENGTH", conf.MAX_TOKEN_LENGTH, "ptrack.E007"),
        *_check_positive_int("PTRACK_MAX_URL_LENGTH", conf.MAX_URL_LENGTH, "ptrack.E008"),
        *_check_seconds(
            "PTRACK_RECORDER_TIMEOUT", conf.RECORDER_TIMEOUT, "ptrack.E013", none_ok=True
        ),
        *_check_positive_int("PTRACK_BATCH_SIZE", conf.BATCH_SIZE, "ptrack.E016"),
        *_check_seconds(
            "PTRACK_BATCH_SECONDS",
            conf.BATCH_SECONDS,
            "ptrack.E017",
            hint="It bounds how long a gathered background event waits; 0.1 is the default.",
        ),
        *_check_legacy(),
        *_check_click_fallback(),
        *_check_classification(),
        *_check_classifier(),
        *_check_private_relay(),
        *_check_privacy(),
        *_check_email_backend(),
    ]


def check_recorders(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list[CheckMessage]:
    """Background recorders need a task backend whose workers will run them."""
    from ptrack.registry import tracker

    messages: list[CheckMessage] = []
    for recorder in tracker.recorders:
        if recorder.background:
            messages += _check_background(recorder)
        messages += _check_request_first(recorder)
    return messages


def check_deploy(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list[CheckMessage]:
    """Weak ``SECRET_KEY`` signing pixels: like Django's own, reported on --deploy only."""
    if conf.RAW_SECRET:
        return []
    try:
        key = conf.SECRET_KEY
    except ImproperlyConfigured:
        return []  # Django reports the empty key itself.
    return _weak_key("SECRET_KEY", key)


def check_urls(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list[CheckMessage]:
    """ptrack's URLs must be in the URLconf for pixels to be built and served."""
    try:
        reverse("ptrack", kwargs={"ptrack_encoded_data": "token"})
    except NoReverseMatch:
        return [
            Warning(
                "ptrack's URLs are not included in the URLconf, so no pixel can be built "
                "or served.",
                hint="Add path('ptrack/', include('ptrack.urls')) to ROOT_URLCONF.",
                id="ptrack.W002",
            )
        ]
    return []


# Helpers, in the order of the first check id each reports.


def _check_app_url() -> list[CheckMessage]:
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


def _check_encoder() -> list[CheckMessage]:
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


def _check_secrets() -> list[CheckMessage]:
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
        errors += _weak_key("PTRACK_SECRET", secret)
    elif secret is None or secret == "":
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


def _check_max_age() -> list[CheckMessage]:
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


def _check_positive_int(name: str, value: object, check_id: str) -> list[CheckMessage]:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return []
    return [Error(f"{name} should be a positive integer, not {value!r}.", id=check_id)]


def _check_background(recorder: Any) -> list[CheckMessage]:
    name = f"{type(recorder).__module__}.{type(recorder).__qualname__}"
    try:
        from ptrack import tasks

        if tasks.FRAMEWORK is None:
            return [
                Error(
                    f"Recorder {name} records in the background, but no task framework is "
                    f"installed.",
                    hint="Use Django 6.0+ (django.tasks) or pip install django-tasks, and "
                    "configure TASKS with a backend that has workers.",
                    id="ptrack.E012",
                )
            ]
        backend = tasks.task_for(recorder).get_backend()
    except Exception as e:
        return [
            Error(
                f"Recorder {name} records in the background, but its task backend is not "
                f"usable: {e}",
                hint="Check TASKS and the recorder's task_options.",
                id="ptrack.E014",
            )
        ]
    kind = type(backend).__name__
    if kind == "DummyBackend":
        return [
            Error(
                f"Recorder {name} records in the background, but its task backend "
                f"{backend.alias!r} is a DummyBackend, which never runs tasks: every event "
                f"would be lost.",
                hint="Configure a backend with workers in TASKS, e.g. django-tasks-db.",
                id="ptrack.E015",
            )
        ]
    if kind == "ImmediateBackend":
        return [
            Warning(
                f"Recorder {name} records in the background, but its task backend "
                f"{backend.alias!r} is an ImmediateBackend, which runs it during the request.",
                hint="Configure a backend with workers in TASKS, e.g. django-tasks-db or RQ.",
                id="ptrack.W003",
            )
        ]
    return []


def _check_seconds(
    name: str, value: object, check_id: str, *, none_ok: bool = False, hint: str | None = None
) -> list[CheckMessage]:
    if (value is None and none_ok) or (
        isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0
    ):
        return []
    allowed = "a positive number of seconds or None" if none_ok else "a positive number of seconds"
    return [Error(f"{name} should be {allowed}, not {value!r}.", hint=hint, id=check_id)]


def _check_legacy() -> list[CheckMessage]:
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


def _check_click_fallback() -> list[CheckMessage]:
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


def _check_classification() -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    kinds = conf.RECORD_KINDS
    if not (isinstance(kinds, (list, tuple, set, frozenset)) and set(kinds) <= KINDS):
        errors.append(
            Error(
                f"PTRACK_RECORD_KINDS should be a list of kinds of load, not {kinds!r}.",
                hint=f"Choose from {sorted(KINDS)}; all of them is the default.",
                id="ptrack.E030",
            )
        )
    window = conf.MACHINE_WINDOW
    if not (
        isinstance(window, (int, float)) and not isinstance(window, bool) and 0 <= window < math.inf
    ):
        errors.append(
            Error(
                f"PTRACK_MACHINE_WINDOW should be a number of seconds, 0 or more, not {window!r}.",
                hint="Loads by a browser this soon after the link was issued count as a "
                "scanner's; 0 turns the rule off.",
                id="ptrack.E031",
            )
        )
    for name, value, parse, shape, check_id in (
        (
            "PTRACK_EXTRA_RULES",
            conf.EXTRA_RULES,
            extra_rules,
            "(regex, kind, reason)",
            "ptrack.E032",
        ),
        (
            "PTRACK_EXTRA_NETWORKS",
            conf.EXTRA_NETWORKS,
            extra_networks,
            "(prefix, kind, reason)",
            "ptrack.E033",
        ),
    ):
        try:
            if not isinstance(value, (list, tuple)):
                raise ValueError(f"expected a list, not {value!r}")
            parse(value)
        except (TypeError, ValueError, re.error) as e:
            errors.append(
                Error(
                    f"{name} should be a list of {shape} tuples: {e}",
                    hint=f"kind is one of {sorted(KINDS)}; reason is a short name.",
                    id=check_id,
                )
            )
    return errors


def _check_classifier() -> list[CheckMessage]:
    path = conf.CLASSIFIER
    try:
        classifier = import_string(path)
    except ImportError as e:
        return [
            Error(
                f"PTRACK_CLASSIFIER {path!r} cannot be imported: {e}",
                hint="Give the dotted path of a function with ptrack.classify's signature.",
                id="ptrack.E034",
            )
        ]
    if not callable(classifier):
        return [
            Error(
                f"PTRACK_CLASSIFIER {path!r} should name a callable, not {classifier!r}.",
                id="ptrack.E035",
            )
        ]
    return []


def _check_private_relay() -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    url = conf.PRIVATE_RELAY_URL
    if urlcheck.problem(url, strict=False) is not None:
        errors.append(
            Error(
                f"PTRACK_PRIVATE_RELAY_URL should be an absolute http(s) URL, not {url!r}.",
                hint="Apple publishes the list at https://mask-api.icloud.com/egress-ip-ranges.csv",
                id="ptrack.E036",
            )
        )
    path = conf.PRIVATE_RELAY_FILE
    if path is None:
        return errors
    if not isinstance(path, (str, os.PathLike)) or not str(path):
        errors.append(
            Error(
                f"PTRACK_PRIVATE_RELAY_FILE should be a file path or None, not {path!r}.",
                id="ptrack.E039",
            )
        )
    elif not os.access(path, os.R_OK):
        errors.append(
            Warning(
                f"PTRACK_PRIVATE_RELAY_FILE {str(path)!r} cannot be read, so Apple Mail "
                f"Privacy Protection loads are told only by their User-Agent.",
                hint="Run 'manage.py ptrack_private_relay' to download Apple's list there, "
                "and again from time to time (daily, say).",
                id="ptrack.W010",
            )
        )
    return errors


def _check_privacy() -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    for name, value, check_id in (
        ("PTRACK_HONOR_OPT_OUT", conf.HONOR_OPT_OUT, "ptrack.E037"),
        ("PTRACK_ANONYMIZE_IP", conf.ANONYMIZE_IP, "ptrack.E038"),
    ):
        if not isinstance(value, bool):
            errors.append(Error(f"{name} should be True or False, not {value!r}.", id=check_id))
    return errors


def _check_email_backend() -> list[CheckMessage]:
    value = conf.RAW_EMAIL_BACKEND
    if value is None:
        return []
    from django.core.mail.backends.base import BaseEmailBackend

    from ptrack.mail import TrackingEmailBackend

    try:
        backend = import_string(value) if isinstance(value, str) else None
    except ImportError as e:
        backend, problem = None, f"it cannot be imported ({e})"
    else:
        problem = "it is no email backend class"
    if not (isinstance(backend, type) and issubclass(backend, BaseEmailBackend)):
        return [
            Error(
                f"PTRACK_EMAIL_BACKEND should be the dotted path of an email backend class, "
                f"not {value!r}: {problem}.",
                hint="Name the backend that sends the mail ptrack.mail.TrackingEmailBackend "
                "has tracked, e.g. 'django.core.mail.backends.smtp.EmailBackend'.",
                id="ptrack.E040",
            )
        ]
    if issubclass(backend, TrackingEmailBackend):
        return [
            Error(
                f"PTRACK_EMAIL_BACKEND should name the backend that sends the mail, not "
                f"{value!r}, which would hand every message to itself.",
                hint="Set EMAIL_BACKEND to ptrack.mail.TrackingEmailBackend and "
                "PTRACK_EMAIL_BACKEND to the backend it wraps.",
                id="ptrack.E041",
            )
        ]
    return []


def _weak_key(name: str, key: object) -> list[CheckMessage]:
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


_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


def _check_request_first(recorder: Any) -> list[CheckMessage]:
    """django-ptrack 3.x called ``record(request, *args, **kwargs)``; ptrack passes no request."""
    from ptrack.registry import TrackingPixel

    if type(recorder).record_event is not TrackingPixel.record_event:
        return []  # ptrack calls record_event(), which this recorder overrides
    try:
        parameters = list(inspect.signature(recorder.record).parameters.values())
    except (TypeError, ValueError):  # pragma: no cover - a callable without a signature
        return []
    first = parameters[0] if parameters else None
    if first is None or first.name != "request" or first.kind not in _POSITIONAL:
        return []
    name = f"{type(recorder).__module__}.{type(recorder).__qualname__}"
    return [
        Warning(
            f"Recorder {name}.record() takes 'request' first, as django-ptrack 3.x called "
            f"it; ptrack now calls record(*args, **kwargs) with the link's arguments only, "
            f"so 'request' would receive the first of them.",
            hint="Remove the request parameter, or override record_event(self, event) "
            "instead: event.ip, event.user_agent and event.referer carry the request's "
            "context.",
            id="ptrack.W005",
        )
    ]
