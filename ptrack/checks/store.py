"""Checks of ptrack.store's settings and database: ptrack.E060 to E065.

Registered by ``ptrack.store``'s app config, so sites without the store never
see them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error

from ptrack.checks.values import check_positive_int
from ptrack.conf import conf


def check_store(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list[CheckMessage]:
    return [
        *_check_retention(conf.STORE_RETENTION),
        *_check_bool("PTRACK_STORE_CLIENT", conf.STORE_CLIENT, "ptrack.E061"),
        *_check_bool("PTRACK_STORE_BACKGROUND", conf.STORE_BACKGROUND, "ptrack.E062"),
        *check_positive_int("PTRACK_STORE_PURGE_BATCH", conf.STORE_PURGE_BATCH, "ptrack.E063"),
        *_check_time_zones(),
        *_check_sqlite(),
    ]


# INSERT ... RETURNING, with which a batch learns which of its events are new.
_SQLITE_NEEDED = (3, 35)


def _check_sqlite() -> list[CheckMessage]:
    from django.db import router

    from ptrack.store.models import Event

    alias = router.db_for_write(Event)
    engine = settings.DATABASES.get(alias, {}).get("ENGINE", "")
    if not engine.endswith("sqlite3") or sqlite3.sqlite_version_info >= _SQLITE_NEEDED:
        return []
    return [
        Error(
            f"ptrack.store needs SQLite 3.35 or newer for its database {alias!r}, not "
            f"{sqlite3.sqlite_version}: it writes a batch of events with INSERT ... RETURNING.",
            hint="Run Python with a newer SQLite (e.g. the pysqlite3-binary package), or "
            "keep the store on PostgreSQL with a database router.",
            id="ptrack.E065",
        )
    ]


def _check_time_zones() -> list[CheckMessage]:
    if settings.USE_TZ:
        return []
    return [
        Error(
            "ptrack.store needs USE_TZ = True: it keeps the time of every send, open and "
            "click in UTC, and counts them in UTC hours and days.",
            hint="Set USE_TZ = True (Django's default since 5.0).",
            id="ptrack.E064",
        )
    ]


def _check_retention(value: object) -> list[CheckMessage]:
    if value is None:
        return []
    if isinstance(value, timedelta) and value > timedelta(0):
        return []
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return []
    return [
        Error(
            f"PTRACK_STORE_RETENTION should be a positive timedelta, a positive number of "
            f"days, or None, not {value!r}.",
            hint="E.g. timedelta(days=395): rows about messages and events older than that "
            "are purged by 'manage.py ptrack_store_purge'; None keeps them until forgotten.",
            id="ptrack.E060",
        )
    ]


def _check_bool(name: str, value: object, check_id: str) -> list[CheckMessage]:
    if isinstance(value, bool):
        return []
    return [Error(f"{name} should be True or False, not {value!r}.", id=check_id)]
