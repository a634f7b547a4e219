"""The servers the benchmark loads: gunicorn and uvicorn on 127.0.0.1, redis-server for RQ.

Each runs in a session of its own, so that stopping it stops its workers and
nothing else, and each worker's resident memory can be read while it runs.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Server:
    kind: str  # gunicorn or uvicorn
    app: str  # django, fast or raw
    middleware: bool
    signals: bool = True  # the WSGI fast path's request_signals
    recorder: str = "count"  # bench/pixels.py's BENCH_RECORDER
    classifier: bool = True  # False: PTRACK_CLASSIFIER answers a constant, for its cost
    env: dict[str, str] = field(default_factory=dict)  # e.g. the task backend's
    port: int = 0
    counter: Path = Path(os.devnull)
    process: subprocess.Popen[bytes] | None = None
    rss_before: dict[int, int] = field(default_factory=dict)
    rss_mid: dict[int, int] = field(default_factory=dict)
    rss_after: dict[int, int] = field(default_factory=dict)

    @property
    def name(self) -> str:
        suffix = "" if self.app == "raw" else ("+mw" if self.middleware else "-mw")
        recorder = "" if self.recorder == "count" else f",{self.recorder}"
        tasks = f"-{self.env['BENCH_TASKS']}" if "BENCH_TASKS" in self.env else ""
        classifier = "" if self.classifier else ",constant-classifier"
        return (
            f"{self.kind}:{self.app}{suffix}{'' if self.signals else ',no-signals'}"
            f"{recorder}{tasks}{classifier}"
        )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(server: Server, workdir: Path, workers: int) -> None:
    server.port = free_port()
    server.counter = workdir / f"{server.name.replace(':', '-')}.count"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "BENCH_APP": server.app,
        "BENCH_MIDDLEWARE": "1" if server.middleware else "0",
        "BENCH_COUNTER": str(server.counter),
        "BENCH_SIGNALS": "1" if server.signals else "0",
        "BENCH_RECORDER": server.recorder,
        "BENCH_CLASSIFIER": "1" if server.classifier else "0",
        "PYTHONPATH": str(ROOT),
        **server.env,
    }
    bind = f"127.0.0.1:{server.port}"
    if server.kind == "gunicorn":
        cmd = [
            sys.executable, "-m", "gunicorn", "bench.wsgi:application",
            "--bind", bind, "--workers", str(workers), "--log-level", "warning",
        ]  # fmt: skip
    else:
        cmd = [
            sys.executable, "-m", "uvicorn", "bench.asgi:application",
            "--host", "127.0.0.1", "--port", str(server.port), "--workers", str(workers),
            "--log-level", "warning", "--no-access-log", "--lifespan", "off",
        ]  # fmt: skip
    log = open(workdir / f"{server.name.replace(':', '-')}.log", "wb")  # noqa: SIM115
    server.process = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )


def wait_ready(server: Server, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    url = f"http://127.0.0.1:{server.port}/bare/ready/"
    while True:
        assert server.process is not None
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited; see its log in the work directory.")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{server.name} did not answer on {url} in {timeout}s.")
        time.sleep(0.2)


def stop(server: Server) -> None:
    if server.process is not None:
        stop_process(server.process)


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """Stop a process started here in a session of its own, with all its children."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


def worker_rss(server: Server) -> dict[int, int]:
    import psutil

    assert server.process is not None
    parent = psutil.Process(server.process.pid)
    rss = {}
    for child in parent.children(recursive=True):
        try:
            if "resource_tracker" in " ".join(child.cmdline()):
                continue
            rss[child.pid] = child.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return rss


def start_redis(workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    """A throwaway redis-server on a free 127.0.0.1 port, without persistence."""
    server_bin = shutil.which("redis-server")
    if server_bin is None:
        raise RuntimeError("redis-server is missing: `apt-get install redis-server` (Debian).")
    port = free_port()
    log = open(workdir / "redis.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(
        [
            server_bin, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", str(workdir),
        ],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process, port
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start; see {workdir}/redis.log") from None
            time.sleep(0.05)


def redis_version() -> str:
    out = subprocess.run(["redis-server", "--version"], capture_output=True, text=True)
    return out.stdout.split()[2].removeprefix("v=")
