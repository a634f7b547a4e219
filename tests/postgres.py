"""A throwaway PostgreSQL cluster for the tests: Debian's server binaries, a data directory
and a Unix socket in a temporary directory, no TCP port, stopped and removed afterwards.

``tests/settings.py`` adds the ``"postgres"`` database when ``available()``;
the session fixture in ``tests/conftest.py`` starts the cluster only when a
collected test uses that database. ``PTRACK_TEST_POSTGRES=required`` turns a
missing server into a failure instead of a skip (CI), ``=off`` leaves it out.
"""

from __future__ import annotations

import contextlib
import glob
import importlib.util
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ALIAS = "postgres"
USER = "ptrack"
MODE = os.environ.get("PTRACK_TEST_POSTGRES", "")
# The socket's directory: one per test process, made when the cluster starts.
SOCKET_DIR = Path(tempfile.gettempdir()) / f"ptrack-pg-{os.getpid()}"


def bindir() -> Path | None:
    """The newest installed server's bin directory (Debian's /usr/lib/postgresql/N/bin)."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda path: int(Path(path).parent.parent.name or 0),
    )
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


def available() -> bool:
    """Whether the tests can run on PostgreSQL here: the server and psycopg are installed."""
    if MODE == "off":
        return False
    return bindir() is not None and importlib.util.find_spec("psycopg") is not None


def settings() -> dict[str, Any]:
    """The ``DATABASES`` entry of the cluster."""
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "ptrack",
        "USER": USER,
        "HOST": str(SOCKET_DIR),
        "TEST": {"NAME": "test_ptrack"},
    }


def _as_owner(command: list[str]) -> list[str]:
    # The server refuses to run as root; as root, run it as Debian's postgres user.
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


@contextlib.contextmanager
def running() -> Iterator[None]:
    """A cluster listening on ``SOCKET_DIR`` for the duration of the block."""
    binaries = bindir()
    assert binaries is not None
    SOCKET_DIR.mkdir(mode=0o700)
    if os.geteuid() == 0:
        shutil.chown(SOCKET_DIR, "postgres", "postgres")
    data = SOCKET_DIR / "data"
    log = SOCKET_DIR / "log"
    pg_ctl = str(binaries / "pg_ctl")
    initdb = [str(binaries / "initdb"), "-D", str(data), "-U", USER, "-A", "trust", "-E", "UTF8"]
    try:
        subprocess.run(
            _as_owner([*initdb, "--no-sync", "--no-instructions"]),
            check=True,
            capture_output=True,
        )
        # Durability is worth nothing to a cluster that is thrown away.
        options = (
            f"-k {SOCKET_DIR} -c listen_addresses='' -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off"
        )
        subprocess.run(
            _as_owner([pg_ctl, "-D", str(data), "-o", options, "-l", str(log), "-w", "start"]),
            check=True,
            capture_output=True,
        )
        try:
            yield
        finally:
            subprocess.run(
                _as_owner([pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"]),
                check=False,
                capture_output=True,
            )
    finally:
        shutil.rmtree(SOCKET_DIR, ignore_errors=True)
