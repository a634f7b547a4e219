from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from freezegun import freeze_time

import ptrack
from tests import postgres, store_support
from tests.fronts import FRONTS, SENDERS, Bad, Front, make_front
from tests.helpers import T0
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
def clicked(register: Any) -> Recorded:
    """A recorder of loads and clicks, registered for the test's duration."""
    result = Recorded()

    class OpensAndClicks(ptrack.TrackingPixel):
        # A plain set, as the documentation writes it.
        event_types = {ptrack.EventType.LOADED, ptrack.EventType.CLICKED}  # noqa: RUF012

        def record_event(self, event: ptrack.PixelEvent) -> None:
            result.events.append(event)

    register(OpensAndClicks)
    return result


@pytest.fixture
def clicks_recorded(register: Any) -> list[ptrack.PixelEvent]:
    """The events of a recorder of clicks only, registered for the test's duration."""
    events: list[ptrack.PixelEvent] = []

    class ClickRecorder(ptrack.TrackingPixel):
        event_types = frozenset({ptrack.EventType.CLICKED})

        def record_event(self, event: ptrack.PixelEvent) -> None:
            events.append(event)

    register(ClickRecorder)
    return events


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


@pytest.fixture
def frozen() -> Iterator[None]:
    """One signing second (``T0``) for the whole test: a pixel made twice is the same pixel."""
    with freeze_time(T0):
        yield


@pytest.fixture(autouse=True)
def _isolate() -> Iterator[None]:
    pixels.calls.clear()
    yield
    ptrack.ptrack_encoder = None


def pixel_path(*args: Any, **kwargs: Any) -> str:
    """The path of a freshly built pixel URL, for the test client."""
    return urlsplit(ptrack.Pixel(*args, **kwargs).url()).path


@pytest.fixture(params=FRONTS)
def front(request: pytest.FixtureRequest) -> Front:
    """The view and the fast path, under WSGI and ASGI (``tests.fronts.make_front``)."""
    return make_front(request.param)


@pytest.fixture(params=SENDERS.keys())
def send(request: pytest.FixtureRequest) -> Callable[[Bad, str], Any]:
    """One bad request through Django's handler or the fast path (``tests.fronts.SENDERS``)."""
    return SENDERS[request.param]


@pytest.fixture(scope="session")
def django_db_modify_db_settings(
    request: pytest.FixtureRequest, django_db_modify_db_settings_parallel_suffix: None
) -> Iterator[None]:
    """Starts the throwaway PostgreSQL cluster (tests/postgres.py) before the test databases
    are made, when a collected test uses it; stops it after they are dropped."""
    used = postgres.ALIAS in settings.DATABASES and any(
        postgres.ALIAS in (marker.kwargs.get("databases") or ())
        for item in request.session.items
        for marker in item.iter_markers("django_db")
    )
    if not used:
        yield
        return
    with postgres.running():
        yield


@pytest.fixture(autouse=True, scope="session")
def _store_off() -> None:
    """ptrack.store is installed for its tests, which register its recorder (``store_db``);
    every other test runs as on a site without it."""
    from ptrack.registry import tracker
    from ptrack.store.recording import StoreRecorder

    if tracker.is_registered(StoreRecorder):
        tracker.unregister(StoreRecorder)


@pytest.fixture(params=["default", postgres.ALIAS])
def store_db(request: pytest.FixtureRequest) -> Iterator[str]:
    """ptrack.store recording, on SQLite and then on PostgreSQL: the alias its models use."""
    from django.test import override_settings

    from ptrack.registry import tracker
    from ptrack.store.recording import StoreRecorder

    alias = request.param
    if alias not in settings.DATABASES:
        message = "PostgreSQL is not installed here (tests/postgres.py)"
        if postgres.MODE == "required":
            pytest.fail(message)
        pytest.skip(message)
    with override_settings(DATABASE_ROUTERS=[store_support.ROUTERS[alias]]):
        tracker.register(StoreRecorder)
        try:
            yield alias
        finally:
            tracker.unregister(StoreRecorder)
