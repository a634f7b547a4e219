"""Settings for the store's killed-worker tests: django-tasks-db and the store on a database
of the test's throwaway PostgreSQL cluster, both named in the environment."""

from __future__ import annotations

import os

from tests import postgres
from tests.settings import *  # noqa: F403
from tests.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "django_tasks_db"]
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
# The cluster's socket directory is named after the test process, not this one.
DATABASES = {
    "default": {
        **postgres.settings(),
        "NAME": os.environ["PTRACK_TEST_PG_NAME"],
        "HOST": os.environ["PTRACK_TEST_PG_HOST"],
    }
}
# One task for all of a run's loads: a batch is full, or the loading script flushes it.
PTRACK_BATCH_SIZE = 1000
PTRACK_BATCH_SECONDS = 3600
