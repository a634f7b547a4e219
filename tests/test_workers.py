"""N pixel loads in, N records out, through real task backends and real worker processes."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from importlib.util import find_spec
from pathlib import Path

import pytest

from tests.servers import ServerOutput, stop

REPO = Path(__file__).resolve().parent.parent
N = 200
# The nox sessions set this, so that these tests cannot pass there by skipping.
REQUIRED = os.environ.get("PTRACK_TEST_WORKERS") == "required"


def require(missing: bool, what: str) -> None:
    """Skip when ``missing`` (fail where these tests are required, or on CI)."""
    if not missing:
        return
    if REQUIRED or os.environ.get("CI"):
        pytest.fail(f"{what} is missing, and the real-worker tests are required here.")
    pytest.skip(f"needs {what}")


class Project:
    def __init__(self, tmp_path: Path, backend: str, **env: str) -> None:
        self.sink = tmp_path / "sink.jsonl"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.settings_workers",
            "PYTHONPATH": str(REPO),
            "PTRACK_TEST_SINK": str(self.sink),
            "PTRACK_TEST_DB": str(tmp_path / "db.sqlite3"),
            "PTRACK_TEST_BACKEND": backend,
            **env,
        }

    def run(self, *args: str, timeout: float = 120) -> str:
        result = subprocess.run(
            [sys.executable, *args],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    def manage(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "django", *args],
            cwd=REPO,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def records(self) -> list[dict[str, object]]:
        if not self.sink.exists():
            return []
        return [json.loads(line) for line in self.sink.read_text().splitlines()]


def assert_n_in_n_out(project: Project) -> None:
    records = project.records()
    assert len(records) == N
    assert sorted(r["kwargs"]["n"] for r in records) == list(range(N))  # type: ignore[index]
    assert all(r["args"] == ["worker-test"] and r["issued_at"] for r in records)


def finish(worker: subprocess.Popen[str], timeout: float = 120) -> str:
    try:
        output, _ = worker.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        worker.kill()
        output, _ = worker.communicate(timeout=10)
        pytest.fail(f"worker did not finish:\n{output}")
    assert worker.returncode == 0, output
    return output


# Batches of 16: the load script's last, partial batch is enqueued as it exits.
BATCH_SIZES = pytest.mark.parametrize("batch_size", ["1", "16"], ids=["per-load", "batched"])


@BATCH_SIZES
def test_database_backend_with_a_real_worker(tmp_path: Path, batch_size: str) -> None:
    require(find_spec("django_tasks_db") is None, "django-tasks-db")
    project = Project(tmp_path, "db", PTRACK_TEST_BATCH_SIZE=batch_size)
    project.run("-m", "django", "migrate", "--verbosity=0")
    assert project.run("-m", "tests.workers_load", str(N)).strip() == str(N)
    assert project.records() == []  # nothing recorded until a worker runs
    finish(project.manage("db_worker", "--batch", "--no-startup-delay", "--interval=0.05"))
    assert_n_in_n_out(project)


# Redis 6 and 7.2+ say "Ready to accept connections", 7.0 "...now ready to accept connections at".
REDIS_READY = re.compile(r"ready to accept connections", re.IGNORECASE)


@pytest.fixture
def redis_socket() -> Iterator[str]:
    """For the RQ backend, a private redis-server on a Unix socket (no TCP port to race for)."""
    require(find_spec("django_tasks_rq") is None, "django-tasks-rq")
    server_bin = shutil.which("redis-server")
    require(server_bin is None, "redis-server (apt-get install redis-server)")
    assert server_bin is not None
    # Not under tmp_path: a Unix socket's path must stay under about 100 bytes.
    with tempfile.TemporaryDirectory(prefix="ptrack-redis-") as folder:
        path = os.path.join(folder, "redis.sock")
        server = subprocess.Popen(
            [server_bin, "--port", "0", "--unixsocket", path, "--save", "", "--appendonly", "no"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        output = ServerOutput(server)
        try:
            output.wait_for(REDIS_READY, timeout=30)
            yield path
        finally:
            stop(server)
            output.all(timeout=10)


@BATCH_SIZES
def test_rq_backend_with_real_redis_and_two_workers(
    tmp_path: Path, redis_socket: str, batch_size: str
) -> None:
    project = Project(
        tmp_path, "rq", PTRACK_TEST_REDIS_SOCKET=redis_socket, PTRACK_TEST_BATCH_SIZE=batch_size
    )
    project.run("-m", "django", "migrate", "--verbosity=0")
    assert project.run("-m", "tests.workers_load", str(N)).strip() == str(N)
    assert project.records() == []
    # Two workers drain one shared Redis queue, as two task hosts would.
    job_class = "--job-class=django_tasks_rq.backend.Job"
    workers = [project.manage("rqworker", "default", "--burst", job_class) for _ in range(2)]
    for worker in workers:
        finish(worker)
    assert_n_in_n_out(project)
