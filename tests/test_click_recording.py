"""Clicks take the path loads take: background tasks, batches, timeouts and async
recorders, through the views."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client, override_settings

import ptrack
from ptrack import tasks
from ptrack.events import EventType
from tests.helpers import aget
from tests.recorders import make_recorders
from tests.task_backends import DUMMY, IMMEDIATE, SHARED, dummy_results

if tasks.FRAMEWORK is None:
    pytest.skip("needs django.tasks or the django-tasks package", allow_module_level=True)

DEST = "https://www.example.com/welcome"
BOTH = frozenset({EventType.LOADED, EventType.CLICKED})


def click_path(*args: Any, **kwargs: Any) -> str:
    return urlsplit(ptrack.Pixel(*args, **kwargs).link(DEST)).path


@override_settings(TASKS=IMMEDIATE)
@pytest.mark.parametrize("server", ["wsgi", "asgi"])
def test_a_background_recorder_gets_the_click_through_a_task(
    client: Client, register: Any, server: str
) -> None:
    inline, background = make_recorders(register, background=True, event_types=BOTH)
    response = (client.get if server == "wsgi" else aget)(click_path("bg", n=1))
    assert response.status_code == 302
    assert len(background.events) == 1
    assert background.events == inline.events
    assert background.events[0].destination == DEST


@override_settings(TASKS=DUMMY)
def test_a_click_is_enqueued_as_json_with_its_destination(client: Client, register: Any) -> None:
    from importlib import import_module

    backend = import_module(str(tasks.FRAMEWORK)).default_task_backend
    inline, background = make_recorders(register, background=True, event_types=BOTH)
    backend.clear()  # type: ignore[attr-defined]
    client.get(click_path("queued"))
    assert background.events == []
    [result] = backend.results  # type: ignore[attr-defined]
    name, data = result.args
    assert (data["event_type"], data["destination"]) == (EventType.CLICKED, DEST)
    tasks.record_in_background.call(name, data)  # what a worker does
    assert background.events == inline.events


@override_settings(TASKS=SHARED, PTRACK_BATCH_SIZE=10, PTRACK_BATCH_SECONDS=60)
def test_clicks_and_loads_are_batched_together(client: Client, register: Any) -> None:
    backend = dummy_results()
    inline, background = make_recorders(register, background=True, event_types=BOTH)
    backend.clear()
    client.get(click_path("batched", n=0))
    client.get(urlsplit(ptrack.Pixel("batched", n=1).url()).path)
    assert backend.results == []  # gathered, not enqueued during the requests
    ptrack.tracker.flush()
    [result] = backend.results
    tasks.record_batch_in_background.call(*result.args)  # what a worker does
    assert background.events == inline.events
    assert [(e.event_type, e.destination) for e in background.events] == [
        (EventType.CLICKED, DEST),
        (EventType.LOADED, ""),
    ]


@override_settings(PTRACK_RECORDER_TIMEOUT=0.05)
@pytest.mark.parametrize("server", ["wsgi", "asgi"])
def test_a_hanging_click_recorder_does_not_hold_the_redirect(
    client: Client, register: Any, server: str, caplog: pytest.LogCaptureFixture
) -> None:
    release, finished = threading.Event(), threading.Event()
    seen: list[ptrack.PixelEvent] = []

    class Hangs(ptrack.TrackingPixel):
        event_types = BOTH

        def record_event(self, event: ptrack.PixelEvent) -> None:
            release.wait(10)
            seen.append(event)
            finished.set()

    register(Hangs)
    try:
        with caplog.at_level(logging.WARNING, "ptrack"):
            response = (client.get if server == "wsgi" else aget)(click_path("slow"))
        # The redirect went out while the recorder was still held.
        assert (response.status_code, response["Location"]) == (302, DEST)
        assert seen == []
        assert "Hangs is still running 0.05s after pixel event" in caplog.text
    finally:
        release.set()
    assert finished.wait(10)
    assert [e.destination for e in seen] == [DEST]


def test_async_recorders_get_clicks_under_wsgi_and_asgi(client: Client, register: Any) -> None:
    seen: list[tuple[Any, ...]] = []

    class AsyncEvent(ptrack.TrackingPixel):
        event_types = BOTH

        async def record_event(self, event: ptrack.PixelEvent) -> None:  # type: ignore[override]
            await asyncio.sleep(0)
            seen.append((event.event_type, event.args, event.destination))

    class AsyncRecord(ptrack.TrackingPixel):
        event_types = frozenset({EventType.CLICKED})

        async def record(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
            seen.append((args, kwargs))

    register(AsyncEvent)
    register(AsyncRecord)
    client.get(click_path("wsgi", k=1))
    aget(click_path("asgi", k=2))
    assert sorted(map(repr, seen)) == sorted(
        map(
            repr,
            [
                (EventType.CLICKED, ("wsgi",), DEST),
                (("wsgi",), {"k": 1}),
                (EventType.CLICKED, ("asgi",), DEST),
                (("asgi",), {"k": 2}),
            ],
        )
    )
