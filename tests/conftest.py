from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

import ptrack
from tests.testapp import pixels


class Recorded:
    """Collects what a registered test recorder receives."""

    def __init__(self) -> None:
        self.events: list[ptrack.PixelEvent] = []

    @property
    def calls(self) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
        return [(event.args, dict(event.kwargs)) for event in self.events]


@pytest.fixture
def recorded() -> Iterator[Recorded]:
    """A recorder registered for the test's duration, unregistered after."""
    result = Recorded()

    class TestRecorder(ptrack.TrackingPixel):
        def record_event(self, event: ptrack.PixelEvent) -> None:
            result.events.append(event)

    ptrack.tracker.register(TestRecorder)
    yield result
    ptrack.tracker.unregister(TestRecorder)


@pytest.fixture
def register() -> Iterator[Any]:
    """Registers recorder classes for the test's duration: ``register(cls)``."""
    registered: list[type[ptrack.TrackingPixel]] = []

    def add(cls: type[ptrack.TrackingPixel]) -> type[ptrack.TrackingPixel]:
        ptrack.tracker.register(cls)
        registered.append(cls)
        return cls

    yield add
    for cls in registered:
        ptrack.tracker.unregister(cls)


@pytest.fixture(autouse=True)
def _isolate() -> Iterator[None]:
    pixels.calls.clear()
    yield
    ptrack.ptrack_encoder = None


def pixel_path(*args: Any, **kwargs: Any) -> str:
    """The path of a freshly built pixel URL, for the test client."""
    return urlsplit(ptrack.Pixel(*args, **kwargs).url()).path
