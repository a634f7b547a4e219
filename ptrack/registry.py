"""Recorders: the site's code that runs when a pixel loads or a link is clicked, and
their registry."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import (
    Awaitable,
    Callable,
    Collection,
    Coroutine,
    Generator,
    Iterable,
    Mapping,
    Sequence,
)
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from asgiref.sync import async_to_sync, iscoroutinefunction
from django.db import close_old_connections
from django.utils.module_loading import autodiscover_modules

from ptrack import batches, lanes
from ptrack.classifier import KINDS, admitted
from ptrack.conf import conf
from ptrack.events import EventType, PixelEvent
from ptrack.exceptions import PtrackRegistrationError

logger = logging.getLogger("ptrack")


class TrackingPixel:
    """Base class of recorders.

    Override ``record(*args, **kwargs)`` to receive the arguments the link was
    made with, or ``record_event(event)`` to receive the whole
    ``PixelEvent`` (load time, issue time, IP, User-Agent, referer); either may
    be ``async def``. One instance serves every request, possibly from several
    threads at once: keep per-request state in locals, not on ``self``.

    ``event_types`` names the events the recorder receives: loads only by
    default, so a recorder written for pixels never sees a click; set
    ``{EventType.LOADED, EventType.CLICKED}`` for both and branch on
    ``event.event_type``.

    Set ``background = True`` to run the recorder in a task worker through
    Django's task framework instead of during the request; ``task_options``
    are passed to the task's ``using()`` (``backend``, ``queue_name``,
    ``priority``). Set ``kinds`` to the kinds of load (``ptrack.Kind``) it
    takes, e.g. ``{"human", "mail_proxy"}``; ``None`` takes every kind that
    ``PTRACK_RECORD_KINDS`` lets through.
    """

    event_types: ClassVar[Collection[str]] = frozenset({EventType.LOADED})
    background: ClassVar[bool] = False
    task_options: ClassVar[Mapping[str, Any]] = {}
    kinds: ClassVar[Collection[str] | None] = None

    def record(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError

    def record_event(self, event: PixelEvent) -> None:
        self.record(*event.args, **event.kwargs)


_R = TypeVar("_R", bound=type[TrackingPixel])


@dataclass(frozen=True, slots=True)
class _Entry:
    recorder: TrackingPixel
    call: Callable[[PixelEvent], Any]  # returns an awaitable when is_async
    is_async: bool
    # Runs the recorder to completion in this thread, whatever its kind.
    run: Callable[[PixelEvent], None]

    @property
    def name(self) -> str:
        cls = type(self.recorder)
        return f"{cls.__module__}.{cls.__qualname__}"


def _takes(entry: _Entry, event: PixelEvent) -> bool:
    return admitted(entry.recorder.kinds, event.classification)


def _entry(recorder: TrackingPixel) -> _Entry:
    cls = type(recorder)
    acall: Callable[[PixelEvent], Awaitable[Any]]
    if cls.record_event is not TrackingPixel.record_event:
        if not iscoroutinefunction(cls.record_event):
            return _Entry(recorder, recorder.record_event, False, recorder.record_event)
        acall = recorder.record_event  # type: ignore[assignment]
    elif iscoroutinefunction(cls.record):
        record: Any = recorder.record  # an async def overriding the sync signature

        def acall(event: PixelEvent) -> Awaitable[Any]:
            return record(*event.args, **event.kwargs)  # type: ignore[no-any-return]

    else:

        def call(event: PixelEvent) -> None:
            recorder.record(*event.args, **event.kwargs)

        return _Entry(recorder, call, False, call)

    async def awaited(event: PixelEvent) -> None:
        await acall(event)

    def run(event: PixelEvent) -> None:
        # A new bridge per call, made in the calling thread, as async_to_sync expects.
        async_to_sync(awaited)(event)

    return _Entry(recorder, acall, True, run)


# Sync recorders run here under WSGI when PTRACK_RECORDER_TIMEOUT is set; under
# ASGI they run in ptrack.lanes.
_pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="ptrack-recorder")
# Recorders still running under ASGI past the timeout, or after their request
# was cancelled; kept so they finish.
_late: set[asyncio.Future[None]] = set()


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


def _log_failure(entry: _Entry, event: PixelEvent) -> None:
    logger.exception("Recorder %s failed on pixel event %r", entry.name, event.to_dict())


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


def _log_late(entry: _Entry, event: PixelEvent, timeout: float) -> None:
    logger.warning(
        "Recorder %s is still running %ss after pixel event %r; the response went out "
        "without waiting, and it carries on in the background.",
        entry.name,
        timeout,
        event.to_dict(),
    )


class PixelTracker:
    """The registry of recorders, in the manner of Django's admin site."""

    def __init__(self) -> None:
        self._registry: dict[type[TrackingPixel], _Entry] = {}
        # The registry's entries in order, and those of each event type, as
        # each event reads them.
        self._entries: tuple[_Entry, ...] = ()
        self._by_type: dict[str, tuple[_Entry, ...]] = {}

    def register(self, recorder_class: _R) -> _R:
        """Register a ``TrackingPixel`` subclass; usable as a class decorator."""
        if not isinstance(recorder_class, type):
            raise PtrackRegistrationError(
                f"Only classes can be registered as recorders; {recorder_class!r} is a "
                f"{type(recorder_class).__name__}. Register the class, not an instance."
            )
        if not issubclass(recorder_class, TrackingPixel):
            raise PtrackRegistrationError(
                f"{recorder_class.__qualname__} is not a subclass of ptrack.TrackingPixel; "
                f"recorders must derive from it."
            )
        if (
            recorder_class.record is TrackingPixel.record
            and recorder_class.record_event is TrackingPixel.record_event
        ):
            raise PtrackRegistrationError(
                f"{recorder_class.__qualname__} overrides neither record() nor "
                f"record_event(), so it would record nothing."
            )
        kinds = recorder_class.kinds
        if kinds is not None and (isinstance(kinds, str) or not set(kinds) <= KINDS):
            raise PtrackRegistrationError(
                f"{recorder_class.__qualname__}.kinds should be None or a collection of "
                f"{sorted(KINDS)}, not {kinds!r}."
            )
        if recorder_class in self._registry:
            raise PtrackRegistrationError(
                f"{recorder_class.__module__}.{recorder_class.__qualname__} is already "
                f"registered; each recorder is registered once."
            )
        event_types = recorder_class.event_types
        if (
            isinstance(event_types, (str, bytes))
            or not isinstance(event_types, Collection)
            or not event_types
            or not all(isinstance(t, str) and t in EventType.ALL for t in event_types)
        ):
            raise PtrackRegistrationError(
                f"{recorder_class.__qualname__}.event_types should be a non-empty set of "
                f"EventType values ({', '.join(sorted(EventType.ALL))}), not {event_types!r}."
            )
        self._registry[recorder_class] = _entry(recorder_class())
        self._index()
        return recorder_class

    def unregister(self, recorder_class: type[TrackingPixel]) -> None:
        if recorder_class not in self._registry:
            raise PtrackRegistrationError(f"{recorder_class.__qualname__} is not registered.")
        del self._registry[recorder_class]
        self._index()

    def _index(self) -> None:
        self._entries = tuple(self._registry.values())
        self._by_type = {
            event_type: tuple(e for e in self._entries if event_type in e.recorder.event_types)
            for event_type in EventType.ALL
        }

    def is_registered(self, recorder_class: type[TrackingPixel]) -> bool:
        return recorder_class in self._registry

    @property
    def recorders(self) -> tuple[TrackingPixel, ...]:
        """The registered recorder instances, in registration order."""
        return tuple(entry.recorder for entry in self._registry.values())

    def dispatch(self, event: PixelEvent) -> None:
        """Give ``event`` to every recorder of its type; one failing does not stop the others.

        Background recorders are enqueued as tasks, or gathered for batches when
        ``PTRACK_BATCH_SIZE`` is above 1 (run here if enqueueing fails); the
        others run now, in registration order.
        """
        inline = [
            e
            for e in self._by_type.get(event.event_type, ())
            if _takes(e, event)
            and not (e.recorder.background and (_gathered(e, event) or self._enqueued(e, event)))
        ]
        timeout = conf.RECORDER_TIMEOUT
        if timeout is None:
            for entry in inline:
                _guarded(entry, event)
            return
        futures = {_pool.submit(_run_in_pool, entry, event): entry for entry in inline}
        _done, late = wait(futures, timeout=timeout)
        for future in late:
            _log_late(futures[future], event, timeout)

    async def adispatch(self, event: PixelEvent) -> None:
        """``dispatch()`` for the event loop: sync recorders run in threads."""
        inline = [
            e
            for e in self._by_type.get(event.event_type, ())
            if _takes(e, event)
            and not (
                e.recorder.background and (_gathered(e, event) or await self._aenqueued(e, event))
            )
        ]
        runs: dict[asyncio.Future[None], _Entry] = {}
        for entry in inline:
            run: asyncio.Future[None] | None
            if entry.is_async:
                run = _started(self._aguarded(entry, event))
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

    @staticmethod
    async def _aguarded(entry: _Entry, event: PixelEvent) -> None:
        try:
            await entry.call(event)
        except Exception:
            _log_failure(entry, event)

    def flush(self) -> None:
        """Enqueue the background events gathered so far (``PTRACK_BATCH_SIZE`` > 1).

        A thread does this within ``PTRACK_BATCH_SECONDS``, and at exit; call it
        to hand them on now, e.g. at the end of a script or a test.
        """
        _batches.flush()

    @staticmethod
    def _enqueued(entry: _Entry, event: PixelEvent) -> bool:
        try:
            from ptrack import tasks

            tasks.task_for(entry.recorder).enqueue(entry.name, event.to_dict())
        except Exception:
            _log_enqueue_failure(entry, event)
            return False
        return True

    @staticmethod
    async def _aenqueued(entry: _Entry, event: PixelEvent) -> bool:
        try:
            from ptrack import tasks

            await tasks.task_for(entry.recorder).aenqueue(entry.name, event.to_dict())
        except Exception:
            _log_enqueue_failure(entry, event)
            return False
        return True

    def run_recorder(self, name: str, event: PixelEvent) -> None:
        """Run the recorder called ``name`` (module.QualName) on ``event``, here and now.

        The task worker calls this; exceptions propagate so the task framework
        records the failure.
        """
        self._entry_named(name).run(event)

    def recorder_named(self, name: str) -> TrackingPixel:
        """The registered recorder called ``name`` (module.QualName); LookupError if none."""
        return self._entry_named(name).recorder

    def _entry_named(self, name: str) -> _Entry:
        for entry in self._entries:
            if entry.name == name:
                return entry
        raise LookupError(f"No recorder {name!r} is registered in this process.")


tracker = PixelTracker()


def autodiscover() -> None:
    """Import every installed app's ``pixels`` module, where recorders register."""
    autodiscover_modules("pixels", register_to=tracker)
