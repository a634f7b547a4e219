from __future__ import annotations

from django.apps import AppConfig
from django.core import checks


class StoreConfig(AppConfig):
    """Message history and campaign numbers, kept by a recorder of its own."""

    name = "ptrack.store"
    label = "ptrack_store"
    verbose_name = "Campaign numbers"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from ptrack.checks.store import check_store
        from ptrack.registry import tracker
        from ptrack.store.recording import StoreRecorder

        checks.register(check_store)
        if not tracker.is_registered(StoreRecorder):
            tracker.register(StoreRecorder)
