"""Checks of the settings for tracking whole emails: ptrack.E040 to E043."""

from __future__ import annotations

from collections.abc import Mapping

from django.core.checks import CheckMessage, Error
from django.utils.module_loading import import_string

from ptrack import utm
from ptrack.checks.values import check_callable
from ptrack.conf import conf


def check_email_backend() -> list[CheckMessage]:
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


def check_utm() -> list[CheckMessage]:
    value = conf.UTM
    if not isinstance(value, Mapping):
        return check_callable(
            "PTRACK_UTM",
            value,
            "ptrack.E042",
            "Give a mapping such as {'source': 'newsletter', 'medium': 'email'}, or a "
            "function taking the message and answering one, e.g. 'myapp.mail.utm_tags'.",
        )
    reason = utm.problem(value)
    if reason is None:
        return []
    return [
        Error(
            f"PTRACK_UTM should map UTM names to values, such as {{'medium': 'email'}}; "
            f"{value!r} {reason}.",
            hint="Names are 'source', 'medium', 'campaign', ... (with or without 'utm_'); "
            "values are non-empty strings, or None to leave a tag out.",
            id="ptrack.E042",
        )
    ]


def check_track_unsubscribe() -> list[CheckMessage]:
    value: object = conf.TRACK_UNSUBSCRIBE
    if isinstance(value, bool):
        return []
    return [
        Error(
            f"PTRACK_TRACK_UNSUBSCRIBE should be True or False, not {value!r}.",
            hint="False (the default) leaves unsubscribe links untracked.",
            id="ptrack.E043",
        )
    ]
