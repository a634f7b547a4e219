"""Waiting on conditions and child processes, with one generous limit.

Tests wait for what they expect to happen, never a fixed time; the limit is
only how long a broken build takes to fail, so it is set far above what a busy
machine needs.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Callable

PATIENCE = 30.0  # seconds


def wait_until(condition: Callable[[], object], timeout: float = PATIENCE) -> None:
    """Return once ``condition()`` is true; fail the test if it is not within ``timeout``."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"still not true after {timeout}s: {condition}")
        time.sleep(0.005)


def wait_child(pid: int, timeout: float = PATIENCE) -> int:
    """The exit code of forked child ``pid``; kills it and fails if it runs past ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            raise AssertionError(f"child {pid} still running after {timeout}s")
        time.sleep(0.005)


async def await_until(condition: Callable[[], object], timeout: float = PATIENCE) -> None:
    """``wait_until`` for a coroutine: the event loop runs on while it waits."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"still not true after {timeout}s: {condition}")
        await asyncio.sleep(0.005)
