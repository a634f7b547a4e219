"""Checks of the tracking email backend's settings: ptrack.E040 and E041."""

from __future__ import annotations

from django.core.checks import CheckMessage, Error
from django.utils.module_loading import import_string

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
