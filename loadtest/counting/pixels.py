"""A recorder that counts events reliably across gunicorn's worker processes.

Each event is one ``os.write`` of one short line to a file opened with
``O_APPEND``: the kernel appends every such write whole, so lines from
concurrent workers and threads never interleave or overwrite each other.
"""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings

import ptrack

_fds: dict[int, int] = {}


def _fd() -> int:
    pid = os.getpid()  # a file descriptor per worker process, opened after the fork
    if pid not in _fds:
        _fds[pid] = os.open(
            settings.LOADTEST_EVENTS_FILE, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600
        )
    return _fds[pid]


@ptrack.tracker.register
class CountingRecorder(ptrack.TrackingPixel):
    def record(self, *args: Any, **kwargs: Any) -> None:
        os.write(_fd(), f"{kwargs['n']}\n".encode())
