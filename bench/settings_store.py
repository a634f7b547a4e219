"""bench/settings.py with ptrack.store recording through django-tasks-db on PostgreSQL.

For ``bench/store_kill.py``: the web workers and the task workers share the
throwaway cluster whose socket directory is ``BENCH_PG_HOST``; the store is the
only recorder (``BENCH_RECORDER=none``), in batches of ``BENCH_BATCH_SIZE``.
"""

from __future__ import annotations

import os

from bench.settings import *  # noqa: F403
from bench.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "ptrack.store", "django_tasks_db"]
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "postgres",
        "USER": "ptrack",
        "HOST": os.environ["BENCH_PG_HOST"],
        "CONN_MAX_AGE": None,
    }
}
