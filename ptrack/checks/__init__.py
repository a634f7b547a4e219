"""System checks for ptrack's settings and recorders; registered in ``PtrackConfig.ready()``.

The entry points are here; each group of settings has its checks in a module of
this package, named for what those settings do, with the ids it reports.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.checks import CheckMessage, Warning
from django.core.exceptions import ImproperlyConfigured
from django.urls import NoReverseMatch, reverse

from ptrack.checks import classification, consent, email, links, recorders, upgrade
from ptrack.checks.values import check_positive_int, check_seconds
from ptrack.conf import conf


def check_settings(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list[CheckMessage]:
    """Every ``PTRACK_*`` setting, in the order of the first id each check reports."""
    return [
        *links.check_app_url(),
        *links.check_encoder(),
        *links.check_secrets(),
        *links.check_max_age(),
        *check_positive_int("PTRACK_MAX_TOKEN_LENGTH", conf.MAX_TOKEN_LENGTH, "ptrack.E007"),
        *check_positive_int("PTRACK_MAX_URL_LENGTH", conf.MAX_URL_LENGTH, "ptrack.E008"),
        *check_seconds(
            "PTRACK_RECORDER_TIMEOUT", conf.RECORDER_TIMEOUT, "ptrack.E013", none_ok=True
        ),
        *check_positive_int("PTRACK_BATCH_SIZE", conf.BATCH_SIZE, "ptrack.E016"),
        *check_seconds(
            "PTRACK_BATCH_SECONDS",
            conf.BATCH_SECONDS,
            "ptrack.E017",
            hint="It bounds how long a gathered background event waits; 0.1 is the default.",
        ),
        *upgrade.check_legacy(),
        *links.check_click_fallback(),
        *classification.check_classification(),
        *classification.check_classifier(),
        *classification.check_private_relay(),
        *classification.check_privacy(),
        *email.check_email_backend(),
        *email.check_utm(),
        *email.check_track_unsubscribe(),
        *consent.check_consent(),
    ]


def check_recorders(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list[CheckMessage]:
    """Background recorders need a task backend whose workers will run them."""
    from ptrack.registry import tracker

    messages: list[CheckMessage] = []
    for recorder in tracker.recorders:
        if recorder.background:
            messages += recorders.check_background(recorder)
        messages += recorders.check_request_first(recorder)
    return messages


def check_deploy(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list[CheckMessage]:
    """Weak ``SECRET_KEY`` signing pixels: like Django's own, reported on --deploy only."""
    if conf.RAW_SECRET:
        return []
    try:
        key = conf.SECRET_KEY
    except ImproperlyConfigured:
        return []  # Django reports the empty key itself.
    return links.weak_key("SECRET_KEY", key)


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
