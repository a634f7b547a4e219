"""Server children of the tests: their output read as it comes, and stopping them in bounded time.

A test learns a server's address from what the server itself prints once it
listens (``runserver`` on port 0, Redis on a private socket), never by
choosing a free port first, which another process can take in between.
"""

from __future__ import annotations

import queue
import re
import subprocess
import threading
import time
from typing import IO

import pytest


class ServerOutput:
    """What a server child writes, read as it comes, so that its pipe never fills."""

    def __init__(self, server: subprocess.Popen[str]) -> None:
        assert server.stdout is not None
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._seen: list[str] = []
        self._reader = threading.Thread(target=self._read, args=(server.stdout,), daemon=True)
        self._reader.start()

    def _read(self, stdout: IO[str]) -> None:
        with stdout:
            for line in stdout:
                self._lines.put(line)
        self._lines.put(None)

    def wait_for(self, pattern: re.Pattern[str], timeout: float) -> re.Match[str]:
        """The first line matching ``pattern``; fails if the server exits or stays silent."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail(f"No {pattern.pattern!r} within {timeout}s:\n{''.join(self._seen)}")
            if line is None:
                pytest.fail(f"Exited before {pattern.pattern!r}:\n{''.join(self._seen)}")
            self._seen.append(line)
            if match := pattern.search(line):
                return match

    def all(self, timeout: float) -> str:
        """Everything written, once the server has exited."""
        self._reader.join(timeout)
        assert not self._reader.is_alive(), f"the output did not end within {timeout}s"
        while (line := self._lines.get_nowait()) is not None:
            self._seen.append(line)
        return "".join(self._seen)


def stop(server: subprocess.Popen[str], timeout: float = 10) -> None:
    """Terminate ``server`` and wait for it, killing it if it does not exit in time."""
    server.terminate()
    try:
        server.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=timeout)
