"""Threads that run sync recorders for the event loop, at a low cost per call.

``loop.run_in_executor()`` gives each call a concurrent Future, an asyncio
Future chained to it, a thread woken to run it and a write to the loop's
self-pipe to report it; under load that hand-off cost an ASGI worker more than
verifying the token. Here a call is one queue put, a thread is woken only when
none is already working through the queue, and the finished calls of a batch
wake their loop once. More threads start only while every thread is stuck in a
slow call, so slow recorders (a database write, an HTTP call) still run side by
side.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable
from queue import Empty, SimpleQueue
from typing import Any

from django.db import close_old_connections

logger = logging.getLogger("ptrack")

# A thread is added when no thread has taken a call for this long.
_STUCK_SECONDS = 0.002

_Call = tuple[
    asyncio.AbstractEventLoop, "asyncio.Future[None]", Callable[..., None], tuple[Any, ...]
]


class Lane:
    """Up to ``max_threads`` threads that run calls for event loops."""

    def __init__(
        self, max_threads: int, name: str, between: Callable[[], None] | None = None
    ) -> None:
        self._max_threads = max_threads
        self._name = name
        self._between = between
        self._reset()
        if hasattr(os, "register_at_fork"):
            # A forked child has none of its parent's threads: it starts its own.
            os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._calls: SimpleQueue[_Call] = SimpleQueue()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._idle = 0
        self._last_taken = 0.0
        # The loops with a delayed check on their way. Each loop keeps its own:
        # a loop that closes with one pending never runs it, and must not stop
        # other loops from checking (a weak set, so it goes with the loop).
        self._checking: weakref.WeakSet[asyncio.AbstractEventLoop] = weakref.WeakSet()
        self._finished: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
        self._pending = 0  # calls queued or running
        self._running = 0
        self._all_done = threading.Condition(self._lock)

    def run(self, func: Callable[..., None], *args: Any) -> asyncio.Future[None]:
        """Run ``func(*args)`` in a thread; the future is done when it returns.

        ``func`` should catch and log its own exceptions; any that escape are
        logged here. Call from a running event loop.
        """
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        with self._lock:
            self._pending += 1
            if not self._threads:
                self._start_thread()
            # More calls waiting than threads free to take them: look again soon.
            check = self._pending - self._running > self._idle and loop not in self._checking
            if check:
                self._checking.add(loop)
        self._calls.put((loop, future, func, args))
        if check:
            loop.call_later(_STUCK_SECONDS, self._check, loop)
        return future

    def _check(self, loop: asyncio.AbstractEventLoop) -> None:
        # Every thread was busy when a call came in: if none has taken a call
        # since, they are stuck in slow ones, so add a thread and look again.
        with self._lock:
            self._checking.discard(loop)
            if self._pending - self._running <= self._idle:
                return
            if time.monotonic() - self._last_taken >= _STUCK_SECONDS:
                if len(self._threads) >= self._max_threads:
                    return
                self._start_thread()
            self._checking.add(loop)
        loop.call_later(_STUCK_SECONDS, self._check, loop)

    def _start_thread(self) -> None:
        thread = threading.Thread(
            target=self._work, name=f"{self._name}_{len(self._threads)}", daemon=True
        )
        self._threads.append(thread)
        self._idle += 1  # until it takes its first call
        thread.start()

    def _work(self) -> None:
        calls = self._calls
        while True:
            call: _Call | None = calls.get()
            self._run_between()  # a run of calls starts
            while call is not None:
                self._take(*call)
                try:
                    call = calls.get_nowait()
                except Empty:
                    call = None
            self._run_between()  # and ends with the queue empty

    def _take(
        self,
        loop: asyncio.AbstractEventLoop,
        future: asyncio.Future[None],
        func: Callable[..., None],
        args: tuple[Any, ...],
    ) -> None:
        with self._lock:
            self._idle -= 1
            self._running += 1
            self._last_taken = time.monotonic()
        try:
            func(*args)
        except Exception:
            logger.exception("%r raised in %s", func, threading.current_thread().name)
        finally:
            with self._lock:
                self._idle += 1
                self._running -= 1
                self._pending -= 1
                finished = self._finished.setdefault(loop, [])
                finished.append(future)
                first = len(finished) == 1
                if not self._pending:
                    self._all_done.notify_all()
            if first:
                try:
                    loop.call_soon_threadsafe(self._resolve, loop)
                except RuntimeError:  # the loop is closed: nobody awaits these
                    with self._lock:
                        self._finished.pop(loop, None)

    def _run_between(self) -> None:
        if self._between is not None:
            try:
                self._between()
            except Exception:
                logger.exception("%r raised in %s", self._between, threading.current_thread().name)

    def _resolve(self, loop: asyncio.AbstractEventLoop) -> None:
        with self._lock:
            finished = self._finished.pop(loop, [])
        for future in finished:
            if not future.done():  # a cancelled await leaves it done
                future.set_result(None)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until every call queued so far has returned; False on timeout."""
        with self._lock:
            return self._all_done.wait_for(lambda: not self._pending, timeout)


recorders = Lane(max_threads=16, name="ptrack-recorder", between=close_old_connections)
# A sync consent source asked by an async front end (ptrack.consent.alevel()).
consent = Lane(max_threads=8, name="ptrack-consent", between=close_old_connections)
# The threads are daemons, so that idle ones do not keep the process alive;
# at exit, recorders already queued still finish, as in a ThreadPoolExecutor.
atexit.register(recorders.wait_idle)
