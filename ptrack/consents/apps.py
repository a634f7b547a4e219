from __future__ import annotations

from django.apps import AppConfig


class ConsentsConfig(AppConfig):
    """A ready consent store for sites without their own (``PTRACK_CONSENT``)."""

    name = "ptrack.consents"
    label = "ptrack_consents"
    verbose_name = "Tracking consent"
    default_auto_field = "django.db.models.BigAutoField"
