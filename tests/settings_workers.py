"""Settings for the real-worker tests; the test passes paths in the environment."""

from __future__ import annotations

import os

from tests.settings import *  # noqa: F403
from tests.settings import INSTALLED_APPS

PTRACK_TEST_SINK = os.environ["PTRACK_TEST_SINK"]
PTRACK_BATCH_SIZE = int(os.environ.get("PTRACK_TEST_BATCH_SIZE", "1"))
DATABASES = {
    "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["PTRACK_TEST_DB"]}
}

if os.environ["PTRACK_TEST_BACKEND"] == "db":
    INSTALLED_APPS = [*INSTALLED_APPS, "tests.bgapp", "django_tasks_db"]
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
else:
    INSTALLED_APPS = [*INSTALLED_APPS, "tests.bgapp", "django_rq"]
    TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend"}}
    RQ_QUEUES = {"default": {"UNIX_SOCKET_PATH": os.environ["PTRACK_TEST_REDIS_SOCKET"], "DB": 0}}
