"""How soon a withdrawal reaches another process that reads levels through a real Redis.

    python -m bench.consents [--changes 50]

Starts a private ``redis-server`` on a free loopback port in a temporary directory, with a
SQLite database beside it, and points Django's ``RedisCache`` at it. This process grants
``--changes`` recipients ``"full"``; a second process, as another web worker would, polls
``ptrack.consents.level()`` for one recipient at a time while this one withdraws it, and says
when it first reads ``"none"``. Both read ``time.monotonic_ns()``, one clock for the machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _setup(database: str, port: int) -> None:
    import django
    from django.conf import settings

    settings.configure(
        INSTALLED_APPS=["ptrack", "ptrack.consents"],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": database}},
        CACHES={
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": f"redis://127.0.0.1:{port}/0",
            }
        },
        USE_TZ=True,
        SECRET_KEY="bench-consents-" + "0123456789abcdefghijklmnopqrstuvwxyz",
    )
    django.setup()


def _reader(database: str, port: int) -> None:
    """For each recipient named on stdin: say "polling", poll until "none", print when and how."""
    _setup(database, port)
    from ptrack import consents

    for line in sys.stdin:
        recipient = line.strip()
        assert consents.level(recipient) == "full"
        print("polling", flush=True)
        polls, started = 0, time.monotonic_ns()
        while consents.level(recipient) != "none":
            polls += 1
        seen = time.monotonic_ns()
        print(seen, polls, seen - started, flush=True)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start_redis(folder: str) -> tuple[subprocess.Popen[bytes], int]:
    binary = shutil.which("redis-server")
    if binary is None:
        sys.exit("needs redis-server on PATH (apt-get install redis-server)")
    port = _free_port()
    server = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", folder, "--save", ""],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    import redis

    deadline = time.monotonic() + 20
    while True:
        try:
            redis.Redis(host="127.0.0.1", port=port).ping()
            return server, port
        except redis.ConnectionError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                sys.exit(f"redis-server did not start on port {port}")
            time.sleep(0.05)


def _ms(nanoseconds: list[float]) -> str:
    ordered = sorted(nanoseconds)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"median {statistics.median(ordered) / 1e6:.3f} ms, p95 {p95 / 1e6:.3f} ms"


def measure(changes: int) -> dict[str, str]:
    with tempfile.TemporaryDirectory(prefix="ptrack-consents-") as folder:
        server, port = _start_redis(folder)
        try:
            database = os.path.join(folder, "db.sqlite3")
            _setup(database, port)
            from django.core.management import call_command

            from ptrack import consents

            call_command("migrate", verbosity=0)
            recipients = [f"sub-{n}" for n in range(changes)]
            for recipient in recipients:
                consents.grant(recipient, source="api")
            reader = subprocess.Popen(
                [sys.executable, "-m", "bench.consents", "--reader", database, str(port)],
                cwd=REPO,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            assert reader.stdin is not None
            assert reader.stdout is not None
            called, returned, took, poll = [], [], [], []
            try:
                for recipient in recipients:
                    reader.stdin.write(recipient + "\n")
                    reader.stdin.flush()
                    assert reader.stdout.readline().strip() == "polling"
                    time.sleep(0.005)  # the reader is in its loop
                    start = time.monotonic_ns()
                    consents.withdraw(recipient, source="api")
                    done = time.monotonic_ns()
                    seen, polls, polling = map(int, reader.stdout.readline().split())
                    called.append(seen - start)
                    returned.append(seen - done)
                    took.append(done - start)
                    poll.append(polling / max(polls, 1))
            finally:
                reader.stdin.close()
                reader.wait(timeout=30)
        finally:
            server.terminate()
            server.wait(timeout=30)
    return {
        "changes": str(changes),
        "withdraw() called -> seen by the other process": _ms(called),
        "withdraw() returned -> seen by the other process": _ms(returned),
        "withdraw() itself (SQLite commit, then the cache write)": _ms(took),
        "one level() read from the cache, in the reader": _ms(poll),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=50)
    parser.add_argument("--reader", nargs=2, metavar=("DATABASE", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.reader:
        _reader(args.reader[0], int(args.reader[1]))
        return
    for name, value in measure(args.changes).items():
        print(f"{name}: {value}")


if __name__ == "__main__":
    main()
