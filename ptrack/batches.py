"""Background events gathered in memory and handed on a batch at a time.

Enqueueing a task costs about a millisecond with RQ or django-tasks-db (round
trips to Redis, an INSERT), several times a bare Django request. With
``PTRACK_BATCH_SIZE`` above 1 a load only appends its event here; a thread
hands each recorder's events on, up to ``PTRACK_BATCH_SIZE`` at a time, once a
batch is full or within ``PTRACK_BATCH_SECONDS``, and everything left at exit.
Events still in memory are lost only if the process is killed outright
(SIGKILL, out of memory); a graceful stop hands them on first.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections.abc import Callable, Hashable, Sequence
from typing import Any

from ptrack.conf import conf

logger = logging.getLogger("ptrack")


class Batches:
    """Per-key lists of items, handed to ``send(key, items)`` in batches.

    A key's batch goes when it holds ``PTRACK_BATCH_SIZE`` items or its oldest
    item has waited ``PTRACK_BATCH_SECONDS``, whichever comes first.
    """

    def __init__(self, send: Callable[[Any, Sequence[Any]], None], name: str) -> None:
        self._send = send
        self._name = name
        self._forget()
        if hasattr(os, "register_at_fork"):
            # A forked worker starts empty: its parent keeps (and sends) its own.
            os.register_at_fork(after_in_child=self._forget)
        atexit.register(self.close)

    def _forget(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[Hashable, list[Any]] = {}
        self._since: dict[Hashable, float] = {}  # when each key's oldest item came
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._closing = False

    def add(self, key: Hashable, item: Any) -> None:
        """Gather ``item`` under ``key``; it is sent within ``PTRACK_BATCH_SECONDS``."""
        with self._lock:
            items = self._pending.get(key)
            if items is None:
                items = self._pending[key] = []
                self._since[key] = time.monotonic()
                wake = True  # a new deadline for the thread to wait for
            else:
                wake = False
            items.append(item)
            wake = wake or len(items) >= conf.BATCH_SIZE
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name=self._name, daemon=True)
                self._thread.start()
        if wake:
            self._wake.set()

    def flush(self) -> None:
        """Send everything gathered so far, in batches of ``PTRACK_BATCH_SIZE``."""
        self._send_batches(everything=True)

    def close(self, timeout: float = 60) -> None:
        """Stop the thread once it has sent what it holds, then send everything left.

        Runs at exit, while the thread still runs: without it, a batch the thread
        had taken but not yet sent would die with the process.
        """
        self._closing = True
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        self.flush()

    def _send_batches(self, *, everything: bool = False) -> None:
        if not self._pending:
            # Nothing gathered: settings need not even be configured (an exit
            # after a plain ``import ptrack``).
            return
        # Everything of a key whose oldest item is old enough; only the full
        # batches of a key that is merely full, the rest waiting for more.
        size, seconds, now = max(1, conf.BATCH_SIZE), conf.BATCH_SECONDS, time.monotonic()
        taken: list[tuple[Hashable, list[Any]]] = []
        with self._lock:
            for key in list(self._pending):
                items = self._pending[key]
                if everything or now - self._since[key] >= seconds:
                    count = len(items)
                else:
                    count = len(items) // size * size
                if not count:
                    continue
                taken.append((key, items[:count]))
                if count == len(items):
                    del self._pending[key], self._since[key]
                else:
                    self._pending[key] = items[count:]
                    self._since[key] = now
        for key, items in taken:
            for start in range(0, len(items), size):
                self._send(key, items[start : start + size])

    def _work(self) -> None:
        while True:
            seconds = conf.BATCH_SECONDS
            with self._lock:
                oldest = min(self._since.values(), default=None)
            timeout = seconds if oldest is None else oldest + seconds - time.monotonic()
            if timeout > 0:
                self._wake.wait(timeout)
            self._wake.clear()
            if self._closing:
                return
            try:
                self._send_batches()
            except Exception:  # send() handles its own failures; this keeps the thread
                logger.exception("Sending a batch of background events failed")
