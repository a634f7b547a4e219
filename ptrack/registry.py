"""Recorders: the site's code that runs when a pixel loads or a link is clicked, and
their registry.

This module says who is registered; ``ptrack.dispatch`` runs them, and hands
the tracker the functions that do so when it loads (see ``_bind_engine()``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from asgiref.sync import async_to_sync, iscoroutinefunction
from django.utils.module_loading import autodiscover_modules

from ptrack.classifier import KINDS
from ptrack.events import EventType, PixelEvent
from ptrack.exceptions import PtrackRegistrationError


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

    def record_events(self, events: Sequence[PixelEvent]) -> None:
        """Record a batch of background events at once (``PTRACK_BATCH_SIZE`` above 1).

        The task worker calls this instead of ``record_event()`` once per event
        when a (sync) recorder overrides it, e.g. to write a batch in a few
        statements. Make it idempotent: if it raises, each event of the batch is
        enqueued again on its own and given to ``record_event()``.
        """
        for event in events:
            self.record_event(event)


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


# The bodies of PixelTracker's dispatch(), adispatch() and flush(), from
# ptrack.dispatch; see _bind_engine().
_dispatch: Callable[[Sequence[_Entry], PixelEvent], None]
_adispatch: Callable[[Sequence[_Entry], PixelEvent], Coroutine[Any, Any, None]]
_flush: Callable[[], None]


def _bind_engine(
    dispatch: Callable[[Sequence[_Entry], PixelEvent], None],
    adispatch: Callable[[Sequence[_Entry], PixelEvent], Coroutine[Any, Any, None]],
    flush: Callable[[], None],
) -> None:
    """Take the functions that run recorders; ptrack.dispatch calls this when it loads.

    It imports this module, and ptrack.tasks, which looks recorders up here, so
    this module cannot import it; the ptrack package imports it, so this is done
    before anything can dispatch.
    """
    global _dispatch, _adispatch, _flush
    _dispatch, _adispatch, _flush = dispatch, adispatch, flush


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
        _dispatch(self._by_type.get(event.event_type, ()), event)

    async def adispatch(self, event: PixelEvent) -> None:
        """``dispatch()`` for the event loop: sync recorders run in threads."""
        await _adispatch(self._by_type.get(event.event_type, ()), event)

    def flush(self) -> None:
        """Enqueue the background events gathered so far (``PTRACK_BATCH_SIZE`` > 1).

        A thread does this within ``PTRACK_BATCH_SECONDS``, and at exit; call it
        to hand them on now, e.g. at the end of a script or a test.
        """
        _flush()

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
