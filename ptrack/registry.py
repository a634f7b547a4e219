"""Recorders: the site's code that runs when a pixel loads, and their registry."""

from __future__ import annotations

import logging
from typing import Any, TypeVar

from django.utils.module_loading import autodiscover_modules

from ptrack.events import PixelEvent
from ptrack.exceptions import PtrackRegistrationError

logger = logging.getLogger("ptrack")


class TrackingPixel:
    """Base class of recorders.

    Override ``record(*args, **kwargs)`` to receive the arguments the link was
    made with, or ``record_event(event)`` to receive the whole
    ``PixelEvent`` (load time, issue time, IP, User-Agent, referer). One
    instance serves every request, possibly from several threads at once:
    keep per-request state in locals, not on ``self``.
    """

    def record(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError

    def record_event(self, event: PixelEvent) -> None:
        self.record(*event.args, **event.kwargs)


_R = TypeVar("_R", bound=type[TrackingPixel])


class PixelTracker:
    """The registry of recorders, in the manner of Django's admin site."""

    def __init__(self) -> None:
        self._registry: dict[type[TrackingPixel], TrackingPixel] = {}

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
        if recorder_class in self._registry:
            raise PtrackRegistrationError(
                f"{recorder_class.__module__}.{recorder_class.__qualname__} is already "
                f"registered; each recorder is registered once."
            )
        self._registry[recorder_class] = recorder_class()
        return recorder_class

    def unregister(self, recorder_class: type[TrackingPixel]) -> None:
        if recorder_class not in self._registry:
            raise PtrackRegistrationError(f"{recorder_class.__qualname__} is not registered.")
        del self._registry[recorder_class]

    def is_registered(self, recorder_class: type[TrackingPixel]) -> bool:
        return recorder_class in self._registry

    @property
    def recorders(self) -> tuple[TrackingPixel, ...]:
        """The registered recorder instances, in registration order."""
        return tuple(self._registry.values())

    def dispatch(self, event: PixelEvent) -> None:
        """Give ``event`` to every recorder; one failing does not stop the others."""
        for recorder in self.recorders:
            try:
                recorder.record_event(event)
            except Exception:
                logger.exception(
                    "Recorder %s.%s failed on pixel event %r",
                    type(recorder).__module__,
                    type(recorder).__qualname__,
                    event.to_dict(),
                )


tracker = PixelTracker()


def autodiscover() -> None:
    """Import every installed app's ``pixels`` module, where recorders register."""
    autodiscover_modules("pixels", register_to=tracker)
