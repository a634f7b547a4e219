"""The store's recording tasks that a killed task worker left behind, queued again.

A task worker killed outright (SIGKILL, out of memory, its host lost) takes
the task it was running with it, and django-tasks-db never runs that task
again: the row stays ``RUNNING`` for good, and its events are never counted.
The store may record a batch again safely (each event's key is unique, so a
batch that had committed adds nothing the second time), so its tasks can be
put back in the queue once they have run for longer than any batch takes.
Other recorders' tasks are left alone: run twice, they might count twice.

A batch that failed because the database was busy or out of reach (SQLite's
"database is locked", a lost connection, a deadlock) fails for good as well:
neither django-tasks-db nor django-tasks-rq retries a task. Those are queued
again too, and only those: a batch that failed for another reason would fail
again.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from ptrack import tasks
from ptrack.store.recording import StoreRecorder

# Longer than any batch of the store's takes; a task running for longer was abandoned.
DEFAULT_OLDER_THAN = timedelta(minutes=10)
# What a batch fails with when the database was busy or out of reach, for a while.
PASSING_ERRORS = ("django.db.utils.OperationalError", "django.db.utils.InterfaceError")


def _store_tasks() -> set[str]:
    if tasks.FRAMEWORK is None:
        return set()
    return {tasks.record_in_background.module_path, tasks.record_batch_in_background.module_path}


def _database_backends() -> list[str]:
    """The aliases of the configured django-tasks-db backends."""
    try:
        from django_tasks_db.backend import DatabaseBackend
    except ImportError:
        return []
    from importlib import import_module

    assert tasks.FRAMEWORK is not None
    backends: Any = import_module(tasks.FRAMEWORK).task_backends
    return [b.alias for b in backends.all() if isinstance(b, DatabaseBackend)]


def requeue_abandoned(older_than: timedelta = DEFAULT_OLDER_THAN) -> int:
    """Put the store's recording tasks that have been running for longer than
    ``older_than`` back in their django-tasks-db queue; returns how many.

    ``older_than`` must be longer than the longest batch takes, or a batch a live
    worker is still running is queued again (which costs a second run, not a count).
    """
    paths = _store_tasks()
    aliases = _database_backends() if paths else []
    if not aliases:
        return 0
    from django_tasks_db.models import DBTaskResult

    recorder = f"{StoreRecorder.__module__}.{StoreRecorder.__qualname__}"
    running = DBTaskResult.objects.running().filter(
        backend_name__in=aliases,
        task_path__in=paths,
        started_at__lt=timezone.now() - older_than,
    )
    with transaction.atomic(using=running.db):
        # Locked, skipping rows a live worker is finishing right now.
        found = running.select_for_update(skip_locked=True).only("id", "args_kwargs")
        ids = [r.pk for r in found if r.args_kwargs["args"][:1] == [recorder]]
        if ids:
            DBTaskResult.objects.filter(pk__in=ids).update(status="READY", started_at=None)
    return len(ids)


def requeue_failed() -> int:
    """Put the store's recording tasks that failed on a database error that passes
    (``PASSING_ERRORS``) back in their django-tasks-db queue; returns how many."""
    paths = _store_tasks()
    aliases = _database_backends() if paths else []
    if not aliases:
        return 0
    from django_tasks_db.models import DBTaskResult

    recorder = f"{StoreRecorder.__module__}.{StoreRecorder.__qualname__}"
    failed = DBTaskResult.objects.filter(
        status="FAILED",
        backend_name__in=aliases,
        task_path__in=paths,
        exception_class_path__in=PASSING_ERRORS,
    )
    with transaction.atomic(using=failed.db):
        found = failed.select_for_update(skip_locked=True).only("id", "args_kwargs")
        ids = [r.pk for r in found if r.args_kwargs["args"][:1] == [recorder]]
        if ids:
            DBTaskResult.objects.filter(pk__in=ids).update(
                status="READY",
                started_at=None,
                finished_at=None,
                exception_class_path="",
                traceback="",
            )
    return len(ids)
