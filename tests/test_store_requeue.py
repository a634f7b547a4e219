"""A task worker killed in the middle of a store batch: nothing lost, nothing counted twice.

A real ``db_worker`` (django-tasks-db) on a database of the throwaway PostgreSQL
cluster runs one batch task of the store's. The test holds a row lock the
worker needs, waits until PostgreSQL shows the worker waiting for it, then kills
the worker with SIGKILL and ends its server process (as PostgreSQL does once it
sees the client gone), so the kill lands at a known point: before the batch
commits, or after it committed and before the task was marked done.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from importlib.util import find_spec
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from tests import postgres, store_support
from tests.waiting import wait_until

REPO = Path(__file__).resolve().parent.parent
N = 20
TASKS = "django_tasks_database_dbtaskresult"
WORKER = ("db_worker", "--no-startup-delay", "--interval=0.01")
COLUMNS = (
    "id, status, enqueued_at, started_at, finished_at, args_kwargs, priority, task_path, "
    "worker_ids, queue_name, backend_name, run_after, return_value, exception_class_path, "
    "traceback"
)

pytestmark = pytest.mark.django_db(databases=store_support.STORE_DATABASES)


class Site:
    """A database of its own on the cluster, and the commands a site runs against it."""

    def __init__(self, name: str) -> None:
        import psycopg

        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.settings_store_workers",
            "PYTHONPATH": str(REPO),
            "PTRACK_TEST_PG_NAME": name,
            "PTRACK_TEST_PG_HOST": str(postgres.SOCKET_DIR),
        }
        self.connect = lambda: psycopg.connect(
            host=str(postgres.SOCKET_DIR), user=postgres.USER, dbname=name, autocommit=True
        )
        self.db = self.connect()

    def run(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, *args],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    def worker(self) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "django", *WORKER],
            cwd=REPO,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )

    def one(self, sql: str, *params: Any) -> Any:
        row = self.db.execute(sql, params).fetchone()
        return None if row is None else row[0]

    def statuses(self) -> list[str]:
        return [s for (s,) in self.db.execute(f"SELECT status FROM {TASKS} ORDER BY status")]

    def numbers(self) -> tuple[int, int, int]:
        """Events, the campaign's opens, and its messages opened (``unique_opens``)."""
        events = self.one("SELECT COUNT(*) FROM ptrack_store_event")
        totals = dict(
            self.db.execute("SELECT metric, value FROM ptrack_store_campaigntotal").fetchall()
        )
        return events, totals.get("opens", 0), totals.get("unique_opens", 0)

    def waiting_backend(self) -> int | None:
        """The server process of a session of this database waiting for a lock."""
        return self.one(  # type: ignore[no-any-return]
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock'"
        )

    def kill_waiting_worker(self, worker: subprocess.Popen[str]) -> None:
        wait_until(lambda: self.waiting_backend() is not None)
        backend = self.waiting_backend()
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
        self.one("SELECT pg_terminate_backend(%s)", backend)
        wait_until(
            lambda: self.one("SELECT 1 FROM pg_stat_activity WHERE pid = %s", backend) is None
        )

    def drain(self) -> None:
        """One worker, run until the queue is empty, as a restarted worker would."""
        self.run("-m", "django", *WORKER, "--batch")


def _admin() -> Any:
    import psycopg

    return psycopg.connect(
        host=str(postgres.SOCKET_DIR), user=postgres.USER, dbname="postgres", autocommit=True
    )


@pytest.fixture(scope="module")
def template(django_db_setup: None) -> Iterator[str]:
    """A database migrated, with N messages sent and their N loads in one batch task."""
    if postgres.ALIAS not in settings.DATABASES:
        message = "PostgreSQL is not installed here (tests/postgres.py)"
        if postgres.MODE == "required":
            pytest.fail(message)
        pytest.skip(message)
    if find_spec("django_tasks_db") is None:
        pytest.skip("needs django-tasks-db")
    name = f"ptrack_kill_{uuid.uuid4().hex[:12]}"
    with _admin() as admin:
        admin.execute(f"CREATE DATABASE {name}")
        made = Site(name)
        try:
            made.run("-m", "django", "migrate", "--verbosity=0")
            assert made.run("-m", "tests.store_kill_load", str(N)).strip() == str(N)
            assert made.statuses() == ["READY"]
        finally:
            made.db.close()
        try:
            yield name
        finally:
            admin.execute(f"DROP DATABASE {name} WITH (FORCE)")


@pytest.fixture
def site(template: str) -> Iterator[Site]:
    """A copy of the template, for one test."""
    name = f"ptrack_kill_{uuid.uuid4().hex[:12]}"
    with _admin() as admin:
        admin.execute(f"CREATE DATABASE {name} TEMPLATE {template}")
        made = Site(name)
        try:
            yield made
        finally:
            made.db.close()
            admin.execute(f"DROP DATABASE {name} WITH (FORCE)")


def test_a_worker_killed_before_its_batch_commits_loses_it_until_requeued(site: Site) -> None:
    with site.connect() as lock:  # holds the campaign's messages the batch must lock first
        lock.execute("BEGIN")
        lock.execute("SELECT id FROM ptrack_store_message FOR UPDATE")
        worker = site.worker()
        site.kill_waiting_worker(worker)
        lock.execute("ROLLBACK")
    assert site.statuses() == ["RUNNING"]
    assert site.numbers() == (0, 0, 0)
    site.drain()  # django-tasks-db never runs a task its worker died with
    assert site.statuses() == ["RUNNING"]
    assert site.numbers() == (0, 0, 0)

    output = site.run("-m", "django", "ptrack_store_requeue", "--older-than=0")
    assert output == (
        "1 abandoned recording task requeued.\n"
        "0 failed recording tasks requeued (database errors that pass).\n"
    )
    site.drain()
    assert site.statuses() == ["SUCCESSFUL"]
    assert site.numbers() == (N, N, N)


def test_a_worker_killed_after_its_batch_commits_counts_it_once(site: Site) -> None:
    with site.connect() as messages, site.connect() as task:
        messages.execute("BEGIN")
        messages.execute("SELECT id FROM ptrack_store_message FOR UPDATE")
        worker = site.worker()
        wait_until(lambda: site.waiting_backend() is not None)
        # Claimed (committed RUNNING) and inside the batch: hold its task's row, so that
        # the worker commits the batch and then waits to mark the task done.
        assert site.statuses() == ["RUNNING"]
        task.execute("BEGIN")
        task.execute(f"SELECT id FROM {TASKS} FOR UPDATE")
        messages.execute("COMMIT")
        wait_until(lambda: site.numbers()[0] == N)
        site.kill_waiting_worker(worker)
        task.execute("ROLLBACK")
    assert site.statuses() == ["RUNNING"]
    assert site.numbers() == (N, N, N)

    output = site.run("-m", "django", "ptrack_store_requeue", "--older-than=0")
    assert output == (
        "1 abandoned recording task requeued.\n"
        "0 failed recording tasks requeued (database errors that pass).\n"
    )
    site.drain()
    assert site.statuses() == ["SUCCESSFUL"]
    assert site.numbers() == (N, N, N)  # recorded again, counted once


def test_requeue_leaves_younger_tasks_and_other_recorders_tasks(site: Site) -> None:
    with site.connect() as lock:
        lock.execute("BEGIN")
        lock.execute("SELECT id FROM ptrack_store_message FOR UPDATE")
        site.kill_waiting_worker(site.worker())
        lock.execute("ROLLBACK")
    # Another recorder's task, abandoned too: run again, it might count twice.
    site.db.execute(
        f"INSERT INTO {TASKS} ({COLUMNS}) SELECT gen_random_uuid(), status, enqueued_at, "
        "started_at, finished_at, "
        "jsonb_set(args_kwargs::jsonb, '{args,0}', '\"crm.pixels.Opens\"')::json, "
        "priority, task_path, worker_ids, queue_name, backend_name, run_after, return_value, "
        f"exception_class_path, traceback FROM {TASKS}"
    )
    output = site.run("-m", "django", "ptrack_store_requeue")  # ten minutes by default
    assert output == (
        "0 abandoned recording tasks requeued.\n"
        "0 failed recording tasks requeued (database errors that pass).\n"
    )
    assert site.statuses() == ["RUNNING", "RUNNING"]
    output = site.run("-m", "django", "ptrack_store_requeue", "--older-than=0")
    assert output == (
        "1 abandoned recording task requeued.\n"
        "0 failed recording tasks requeued (database errors that pass).\n"
    )
    assert site.statuses() == ["READY", "RUNNING"]
    assert site.one(
        f"SELECT args_kwargs::jsonb->'args'->>0 FROM {TASKS} WHERE status = 'READY'"
    ) == ("ptrack.store.recording.StoreRecorder")


def test_requeue_refuses_a_negative_age() -> None:
    with pytest.raises(
        CommandError, match=r"^--older-than should be a number of seconds, not -1\.0\.$"
    ):
        call_command("ptrack_store_requeue", "--older-than=-1")


def test_requeue_without_a_database_backend_finds_nothing() -> None:
    """The test settings' task backend is the framework's default, not django-tasks-db's."""
    out = StringIO()
    call_command("ptrack_store_requeue", stdout=out)
    assert out.getvalue() == (
        "0 abandoned recording tasks requeued.\n"
        "0 failed recording tasks requeued (database errors that pass).\n"
    )


def test_requeue_takes_back_batches_failed_on_a_database_error_that_passes(site: Site) -> None:
    # As a batch ends when the database stayed locked or the connection dropped; and a
    # copy that failed on a bug in the code, which would only fail again.
    site.db.execute(
        f"UPDATE {TASKS} SET status = 'FAILED', started_at = now(), finished_at = now(), "
        "exception_class_path = 'django.db.utils.OperationalError', traceback = 'locked'"
    )
    site.db.execute(
        f"INSERT INTO {TASKS} ({COLUMNS}) SELECT gen_random_uuid(), status, enqueued_at, "
        "started_at, finished_at, args_kwargs, priority, task_path, worker_ids, queue_name, "
        "backend_name, run_after, return_value, 'builtins.TypeError', traceback "
        f"FROM {TASKS}"
    )
    site.drain()
    assert site.numbers() == (0, 0, 0)  # neither backend retries a failed task
    output = site.run("-m", "django", "ptrack_store_requeue")
    assert output.splitlines()[1] == "1 failed recording task requeued (database errors that pass)."
    assert (
        site.one(f"SELECT exception_class_path || traceback FROM {TASKS} WHERE status = 'READY'")
        == ""
    )
    site.drain()
    assert site.statuses() == ["FAILED", "SUCCESSFUL"]
    assert site.numbers() == (N, N, N)
    assert site.one(f"SELECT exception_class_path FROM {TASKS} WHERE status = 'FAILED'") == (
        "builtins.TypeError"
    )
