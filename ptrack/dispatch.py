"""Running recorders: how an event reaches the recorders registered for it.

``ptrack.registry`` says who is registered; this module runs them, inline, in
threads with a timeout, on the event loop, or as tasks, gathered in batches or
not. The tracker's ``dispatch()``, ``adispatch()`` and ``flush()`` call the
functions here. The imports run one way: this module imports the registry and
``ptrack.tasks``, which looks recorders up in the registry, so the registry
cannot import this module; instead this module hands it these functions when
it loads (``registry._bind_engine()``), and the ``ptrack`` package imports
it, so they are in place before anything can dispatch. The tracker's methods
call them directly: one call more per event, no lookup of this module.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Generator, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any

from django.db import close_old_connections

from ptrack import batches, lanes, registry
from ptrack.classifier import admitted
from ptrack.conf import conf
from ptrack.events import PixelEvent
from ptrack.registry import _Entry

logger = logging.getLogger("ptrack")

# Sync recorders run here under WSGI when PTRACK_RECORDER_TIMEOUT is set; under
# ASGI they run in ptrack.lanes.
_pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="ptrack-recorder")
# Recorders still running under ASGI past the timeout, or after their request
# was cancelled; kept so they finish.
_late: set[asyncio.Future[None]] = set()


def dispatch(entries: Sequence[_Entry], event: PixelEvent) -> None:
    """Give ``event`` to the recorders of ``entries`` that take its kind.

    The body of ``PixelTracker.dispatch()``: background recorders are enqueued
    or gathered for a batch, the others run now, in order, one failing not
    stopping the others.
    """
    inline = [
        e
        for e in entries
        if _takes(e, event)
        and not (e.recorder.background and (_gathered(e, event) or _enqueued(e, event)))
    ]
    timeout = conf.RECORDER_TIMEOUT
    if timeout is None:
        for entry in inline:
            try:  # _guarded(), written out: every load runs it
                entry.run(event)
            except Exception:
                _log_failure(entry, event)
        return
    futures = {_pool.submit(_run_in_pool, entry, event): entry for entry in inline}
    _done, late = wait(futures, timeout=timeout)
    for future in late:
        _log_late(futures[future], event, timeout)


async def adispatch(entries: Sequence[_Entry], event: PixelEvent) -> None:
    """``dispatch()`` for the event loop: sync recorders run in threads.

    The body of ``PixelTracker.adispatch()``.
    """
    inline = [
        e
        for e in entries
        if _takes(e, event)
        and not (e.recorder.background and (_gathered(e, event) or await _aenqueued(e, event)))
    ]
    runs: dict[asyncio.Future[None], _Entry] = {}
    for entry in inline:
        run: asyncio.Future[None] | None
        if entry.is_async:
            run = _started(_aguarded(entry, event))
            if run is None:  # finished without waiting for anything
                continue
        else:
            run = lanes.recorders.run(_guarded, entry, event)
        runs[run] = entry
    if not runs:
        return
    timeout = conf.RECORDER_TIMEOUT
    try:
        if timeout is None:
            for run in runs:
                # Django cancels an async view whose client went away. That
                # cancels a lane's future but not its thread, and a recorder's
                # task is shielded: the recording carries on either way.
                await (asyncio.shield(run) if isinstance(run, asyncio.Task) else run)
            return
        _done, late = await asyncio.wait(runs, timeout=timeout)
    except asyncio.CancelledError:
        _keep(runs)
        raise
    for future in late:
        _log_late(runs[future], event, timeout)
    _keep(late)


def flush() -> None:
    """Enqueue the background events gathered so far; the body of ``PixelTracker.flush()``."""
    _batches.flush()


def _takes(entry: _Entry, event: PixelEvent) -> bool:
    return admitted(entry.recorder.kinds, event.classification)


def _started(coro: Coroutine[Any, Any, None]) -> asyncio.Task[None] | None:
    """Run ``coro`` here until it first waits, then in a task; None if it finished.

    A recorder that awaits nothing slow finishes in this loop iteration, with no
    task and no trip round the loop (Python 3.12's eager tasks, for 3.10 up).
    """
    try:
        waiting_for = coro.send(None)
    except StopIteration:
        return None
    return asyncio.ensure_future(_resumed(coro, waiting_for))


async def _resumed(coro: Coroutine[Any, Any, None], waiting_for: Any) -> None:
    await _Resume(coro, waiting_for)


class _Resume:
    """Hands on to a task what a started coroutine waits for, and resumes it after."""

    __slots__ = ("_coro", "_waiting_for")

    def __init__(self, coro: Coroutine[Any, Any, None], waiting_for: Any) -> None:
        self._coro = coro
        self._waiting_for = waiting_for

    def __await__(self) -> Generator[Any, Any, None]:
        coro, waiting_for = self._coro, self._waiting_for
        while True:
            try:
                sent = yield waiting_for
            except BaseException as e:  # thrown in by the task: pass it on
                try:
                    waiting_for = coro.throw(e)
                except StopIteration:
                    return
                continue
            try:
                waiting_for = coro.send(sent)
            except StopIteration:
                return


def _keep(runs: Iterable[asyncio.Future[None]]) -> None:
    # The loop holds only weak references to tasks: these finish unawaited.
    for run in runs:
        if not run.done():
            _late.add(run)
            run.add_done_callback(_late.discard)


def _run_in_pool(entry: _Entry, event: PixelEvent) -> None:
    close_old_connections()
    try:
        _guarded(entry, event)
    finally:
        close_old_connections()


def _guarded(entry: _Entry, event: PixelEvent) -> None:
    try:
        entry.run(event)
    except Exception:
        _log_failure(entry, event)


async def _aguarded(entry: _Entry, event: PixelEvent) -> None:
    try:
        await entry.call(event)
    except Exception:
        _log_failure(entry, event)


def _log_failure(entry: _Entry, event: PixelEvent) -> None:
    logger.exception("Recorder %s failed on pixel event %r", entry.name, event.to_dict())


def _log_late(entry: _Entry, event: PixelEvent, timeout: float) -> None:
    logger.warning(
        "Recorder %s is still running %ss after pixel event %r; the response went out "
        "without waiting, and it carries on in the background.",
        entry.name,
        timeout,
        event.to_dict(),
    )


def _enqueued(entry: _Entry, event: PixelEvent) -> bool:
    try:
        from ptrack import tasks

        tasks.task_for(entry.recorder).enqueue(entry.name, event.to_dict())
    except Exception:
        _log_enqueue_failure(entry, event)
        return False
    return True


async def _aenqueued(entry: _Entry, event: PixelEvent) -> bool:
    try:
        from ptrack import tasks

        await tasks.task_for(entry.recorder).aenqueue(entry.name, event.to_dict())
    except Exception:
        _log_enqueue_failure(entry, event)
        return False
    return True


def _log_enqueue_failure(entry: _Entry, event: PixelEvent) -> None:
    logger.warning(
        "Could not enqueue background recorder %s; running it inline so that pixel "
        "event %r is not lost.",
        entry.name,
        event.to_dict(),
        exc_info=True,
    )


def _send_batch(entry: _Entry, events: Sequence[PixelEvent]) -> None:
    """Enqueue one task for ``events``, or run the recorder on each here if that fails."""
    close_old_connections()  # this thread serves no request: keep its connections fresh
    try:
        try:
            from ptrack import tasks

            tasks.task_for(entry.recorder, batch=True).enqueue(
                entry.name, [event.to_dict() for event in events]
            )
        except Exception:
            logger.warning(
                "Could not enqueue a batch of %d events for background recorder %s; "
                "running it here so that none is lost.",
                len(events),
                entry.name,
                exc_info=True,
            )
            for event in events:
                _guarded(entry, event)
    finally:
        close_old_connections()


# Background events wait here when PTRACK_BATCH_SIZE is above 1.
_batches = batches.Batches(_send_batch, name="ptrack-batches")


def _gathered(entry: _Entry, event: PixelEvent) -> bool:
    """Gather a background event for a batch; False when each load enqueues its own."""
    if conf.BATCH_SIZE > 1:
        _batches.add(entry, event)
        return True
    return False


registry._bind_engine(dispatch, adispatch, flush)
