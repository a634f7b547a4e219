"""Recorders that note what they got and on which thread, registered in pairs."""

from __future__ import annotations

import threading
from collections.abc import Collection
from typing import Any

import ptrack


class Seen:
    def __init__(self) -> None:
        self.events: list[ptrack.PixelEvent] = []
        self.threads: list[str] = []

    def add(self, event: ptrack.PixelEvent) -> None:
        self.events.append(event)
        self.threads.append(threading.current_thread().name)


def make_recorders(
    register: Any, *, background: bool, event_types: Collection[str] | None = None
) -> tuple[Seen, Seen]:
    """Two recorders registered with ``register``: what the inline one and the other saw.

    The other runs in the background if ``background``; both take ``event_types``
    if given (loads only otherwise).
    """
    inline_seen, other_seen = Seen(), Seen()

    class Inline(ptrack.TrackingPixel):
        def record_event(self, event: ptrack.PixelEvent) -> None:
            inline_seen.add(event)

    class Other(ptrack.TrackingPixel):
        def record_event(self, event: ptrack.PixelEvent) -> None:
            other_seen.add(event)

    Other.background = background
    if event_types is not None:
        Inline.event_types = Other.event_types = event_types
    register(Inline)
    register(Other)
    return inline_seen, other_seen
