"""N pixel loads in, N records out, through real task backends and real worker processes."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from importlib.util import find_spec
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
N = 200


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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
        output, _ = worker.communicate()
        pytest.fail(f"worker did not finish:\n{output}")
    assert worker.returncode == 0, output
    return output


# Batches of 16: the load script's last, partial batch is enqueued as it exits.
BATCH_SIZES = pytest.mark.parametrize("batch_size", ["1", "16"], ids=["per-load", "batched"])


@pytest.mark.skipif(find_spec("django_tasks_db") is None, reason="needs django-tasks-db")
@BATCH_SIZES
def test_database_backend_with_a_real_worker(tmp_path: Path, batch_size: str) -> None:
    project = Project(tmp_path, "db", PTRACK_TEST_BATCH_SIZE=batch_size)
    project.run("-m", "django", "migrate", "--verbosity=0")
    assert project.run("-m", "tests.workers_load", str(N)).strip() == str(N)
    assert project.records() == []  # nothing recorded until a worker runs
    finish(project.manage("db_worker", "--batch", "--no-startup-delay", "--interval=0.05"))
    assert_n_in_n_out(project)


@pytest.fixture
def redis_port() -> Iterator[int]:
    server_bin = shutil.which("redis-server")
    if server_bin is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is missing in CI; .ci/run should install it")
        pytest.skip("needs redis-server: apt-get install redis-server")
    port = free_port()
    server = subprocess.Popen(
        [
            server_bin,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.mark.skipif(find_spec("django_tasks_rq") is None, reason="needs django-tasks-rq")
@BATCH_SIZES
def test_rq_backend_with_real_redis_and_two_workers(
    tmp_path: Path, redis_port: int, batch_size: str
) -> None:
    project = Project(
        tmp_path, "rq", PTRACK_TEST_REDIS_PORT=str(redis_port), PTRACK_TEST_BATCH_SIZE=batch_size
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
