"""Background, async and time-limited recording, through the view."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from importlib import import_module
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient, Client, override_settings
from django.urls import resolve

import ptrack
from ptrack import tasks, views
from ptrack.answers import PIXEL_GIF
from tests.conftest import pixel_path
from tests.helpers import aget
from tests.recorders import Seen, make_recorders
from tests.task_backends import BROKEN, DUMMY, IMMEDIATE, SHARED, dummy_results
from tests.waiting import PATIENCE, wait_until

if tasks.FRAMEWORK is None:
    pytest.skip("needs django.tasks or the django-tasks package", allow_module_level=True)


@override_settings(TASKS=IMMEDIATE)
def test_background_recorder_gets_the_same_event_through_a_task(
    client: Client, register: Any
) -> None:
    inline, background = make_recorders(register, background=True)
    client.get(pixel_path("bg", n=[1, {"x": None}]), HTTP_USER_AGENT="UA")
    assert len(background.events) == 1
    assert background.events == inline.events
    assert background.events[0].issued_at is not None


@override_settings(TASKS=DUMMY)
def test_background_recorder_is_enqueued_with_the_event_as_json(
    client: Client, register: Any
) -> None:
    default_task_backend = import_module(str(tasks.FRAMEWORK)).default_task_backend
    inline, background = make_recorders(register, background=True)
    default_task_backend.clear()  # type: ignore[attr-defined]
    client.get(pixel_path("queued", n=3))
    assert background.events == []
    [result] = default_task_backend.results  # type: ignore[attr-defined]
    assert result.task.func is tasks.record_in_background.func
    name, data = result.args
    assert name.endswith("make_recorders.<locals>.Other")
    assert ptrack.PixelEvent.from_dict(data) == inline.events[0]
    tasks.record_in_background.call(name, data)  # what a worker does
    assert background.events == inline.events


@pytest.mark.parametrize("tasks_setting", [BROKEN, {"default": {"BACKEND": "nowhere.Backend"}}])
def test_enqueue_failure_runs_inline_and_warns(
    client: Client, register: Any, caplog: pytest.LogCaptureFixture, tasks_setting: Any
) -> None:
    inline, background = make_recorders(register, background=True)
    with override_settings(TASKS=tasks_setting), caplog.at_level(logging.WARNING, "ptrack"):
        response = client.get(pixel_path("fallback"))
    assert response.content == PIXEL_GIF
    assert background.events == inline.events
    assert len(inline.events) == 1
    [record] = caplog.records
    assert "Could not enqueue background recorder" in record.getMessage()
    assert "'fallback'" in record.getMessage()


@override_settings(TASKS=BROKEN)
def test_enqueue_failure_under_asgi_runs_inline(
    register: Any, caplog: pytest.LogCaptureFixture
) -> None:
    inline, background = make_recorders(register, background=True)
    path = pixel_path("async-fallback")
    with caplog.at_level(logging.WARNING, "ptrack"):
        aget(path)
    assert background.events == inline.events
    assert len(inline.events) == 1
    assert "Could not enqueue" in caplog.text


@override_settings(TASKS=IMMEDIATE)
def test_background_recorder_under_asgi(register: Any) -> None:
    inline, background = make_recorders(register, background=True)
    aget(pixel_path("async-bg"))
    assert background.events == inline.events
    assert len(background.events) == 1


def test_run_recorder_of_unknown_name() -> None:
    event = ptrack.PixelEvent(event_type="loaded", args=(), timestamp=datetime.now(timezone.utc))
    with pytest.raises(LookupError, match=r"No recorder 'x\.Y' is registered"):
        tasks.record_in_background.call("x.Y", event.to_dict())


def test_url_resolves_to_the_view_native_to_the_server() -> None:
    path = pixel_path("a")
    assert resolve(path).func is views.pixel

    async def in_loop() -> Any:
        return resolve(path).func

    assert asyncio.run(in_loop()) is views.apixel


def test_async_and_sync_recorders_under_asgi(register: Any) -> None:
    seen = Seen()
    loop_thread: list[str] = []

    class AsyncEvent(ptrack.TrackingPixel):
        async def record_event(self, event: ptrack.PixelEvent) -> None:  # type: ignore[override]
            await asyncio.sleep(0)
            seen.add(event)

    class AsyncRecord(ptrack.TrackingPixel):
        async def record(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
            seen.threads.append(f"record{args}{kwargs}")

    class SyncRecord(ptrack.TrackingPixel):
        def record(self, *args: Any, **kwargs: Any) -> None:
            seen.threads.append(threading.current_thread().name)

    for cls in (AsyncEvent, AsyncRecord, SyncRecord):
        register(cls)

    async def load() -> Any:
        loop_thread.append(threading.current_thread().name)
        return await AsyncClient().get(pixel_path("a", k=1))

    response = async_to_sync(load)()
    assert response.content == PIXEL_GIF
    assert [e.args for e in seen.events] == [("a",)]
    assert "record('a',){'k': 1}" in seen.threads
    sync_thread = [t for t in seen.threads if t.startswith("ptrack-recorder")]
    assert len(sync_thread) == 1
    assert loop_thread[0] not in sync_thread


def test_async_recorders_under_wsgi(client: Client, register: Any) -> None:
    seen = Seen()
    calls: list[tuple[Any, ...]] = []

    class AsyncEvent(ptrack.TrackingPixel):
        async def record_event(self, event: ptrack.PixelEvent) -> None:  # type: ignore[override]
            seen.add(event)

    class AsyncRecord(ptrack.TrackingPixel):
        async def record(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
            await asyncio.sleep(0)
            calls.append((args, kwargs))

    register(AsyncEvent)
    register(AsyncRecord)
    client.get(pixel_path("wsgi-async", k=2))
    assert [e.args for e in seen.events] == [("wsgi-async",)]
    assert calls == [(("wsgi-async",), {"k": 2})]


def test_failing_async_recorder_is_logged(register: Any, caplog: pytest.LogCaptureFixture) -> None:
    inline, _ = make_recorders(register, background=False)

    class Broken(ptrack.TrackingPixel):
        async def record(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
            raise RuntimeError("async failure")

    register(Broken)
    with caplog.at_level(logging.ERROR, "ptrack"):
        response = aget(pixel_path("x"))
    assert response.content == PIXEL_GIF
    assert len(inline.events) == 1
    assert "Broken failed on pixel event" in caplog.text


def test_async_recorder_failing_after_it_waited_is_logged(
    register: Any, caplog: pytest.LogCaptureFixture
) -> None:
    inline, _ = make_recorders(register, background=False)
    finished: list[tuple[Any, ...]] = []

    class WaitsThenBreaks(ptrack.TrackingPixel):
        async def record(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
            await asyncio.sleep(0.01)
            raise RuntimeError("async failure after a wait")

    class WaitsTwice(ptrack.TrackingPixel):
        async def record(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
            await asyncio.sleep(0)
            await asyncio.sleep(0.01)
            finished.append(args)

    register(WaitsThenBreaks)
    register(WaitsTwice)
    with caplog.at_level(logging.ERROR, "ptrack"):
        response = aget(pixel_path("x", 1))
    assert response.content == PIXEL_GIF
    assert [e.args for e in inline.events] == [("x", 1)]
    assert finished == [("x", 1)]
    assert "WaitsThenBreaks failed on pixel event" in caplog.text
    assert "async failure after a wait" in caplog.text


@pytest.fixture
def hanging(register: Any) -> Iterator[tuple[threading.Event, Seen]]:
    release, finished = threading.Event(), Seen()

    class Hangs(ptrack.TrackingPixel):
        def record_event(self, event: ptrack.PixelEvent) -> None:
            release.wait(PATIENCE)
            finished.add(event)

    register(Hangs)
    yield release, finished
    release.set()


# Long enough for the quick recorder to finish on a busy machine; the hanging
# one waits for the test, so the answer can only come from the cut-off.
@override_settings(PTRACK_RECORDER_TIMEOUT=1)
@pytest.mark.parametrize("server", ["wsgi", "asgi"])
def test_hanging_recorder_is_cut_off_logged_and_still_finishes(
    client: Client,
    register: Any,
    hanging: tuple[threading.Event, Seen],
    caplog: pytest.LogCaptureFixture,
    server: str,
) -> None:
    release, finished = hanging
    inline, _ = make_recorders(register, background=False)
    path = pixel_path("slow", n=1)
    with caplog.at_level(logging.WARNING, "ptrack"):
        get = client.get if server == "wsgi" else aget
        response = get(path)
    assert response.content == PIXEL_GIF
    assert len(inline.events) == 1
    assert finished.events == []
    assert "Hangs is still running 1s after pixel event" in caplog.text
    assert "'slow'" in caplog.text
    release.set()
    wait_until(lambda: finished.events)
    assert finished.events == inline.events


@override_settings(PTRACK_RECORDER_TIMEOUT=5)
def test_timeout_does_not_cut_quick_recorders(client: Client, register: Any) -> None:
    inline, other = make_recorders(register, background=False)
    client.get(pixel_path("quick"))
    assert len(inline.events) == len(other.events) == 1
    assert inline.threads[0].startswith("ptrack-recorder")


# --- PTRACK_BATCH_SIZE: background events gathered and enqueued in batches ---

BATCHED = {"PTRACK_BATCH_SIZE": 10, "PTRACK_BATCH_SECONDS": 60}


@override_settings(TASKS=SHARED, **BATCHED)
def test_batched_loads_enqueue_one_task_per_batch_and_none_during_the_request(
    client: Client, register: Any
) -> None:
    backend = dummy_results()
    inline, background = make_recorders(register, background=True)
    backend.clear()
    for n in range(9):
        client.get(pixel_path("batched", n=n))
    assert backend.results == []  # nine gathered, below the batch size: nothing enqueued yet
    for n in range(9, 25):
        client.get(pixel_path("batched", n=n))
    ptrack.tracker.flush()
    wait_until(lambda: sum(len(r.args[1]) for r in backend.results) >= 25)
    sizes = [len(result.args[1]) for result in backend.results]
    assert sorted(sizes) == [5, 10, 10]
    assert all(r.task.func is tasks.record_batch_in_background.func for r in backend.results)
    name = backend.results[0].args[0]
    assert name.endswith("make_recorders.<locals>.Other")
    events = [ptrack.PixelEvent.from_dict(e) for r in backend.results for e in r.args[1]]
    assert sorted(events, key=lambda e: e.kwargs["n"]) == inline.events
    assert background.events == []
    for result in backend.results:  # what a worker does
        tasks.record_batch_in_background.call(*result.args)
    assert sorted(background.events, key=lambda e: e.kwargs["n"]) == inline.events


@override_settings(TASKS=SHARED, PTRACK_BATCH_SIZE=3, PTRACK_BATCH_SECONDS=60)
def test_a_full_batch_is_enqueued_without_waiting(client: Client, register: Any) -> None:
    backend = dummy_results()
    make_recorders(register, background=True)
    backend.clear()
    for n in range(3):
        client.get(pixel_path("full", n=n))
    wait_until(lambda: backend.results)
    [result] = backend.results
    assert [e["kwargs"]["n"] for e in result.args[1]] == [0, 1, 2]


@override_settings(TASKS=SHARED, PTRACK_BATCH_SIZE=100, PTRACK_BATCH_SECONDS=0.05)
def test_a_partial_batch_is_enqueued_within_batch_seconds(register: Any) -> None:
    backend = dummy_results()
    make_recorders(register, background=True)
    backend.clear()
    aget(pixel_path("soon"))  # the ASGI view gathers the same way
    wait_until(lambda: backend.results)
    [result] = backend.results
    assert [e["args"] for e in result.args[1]] == [["soon"]]


@override_settings(TASKS=BROKEN, **BATCHED)
def test_a_batch_that_cannot_be_enqueued_is_recorded_here_and_warned(
    client: Client, register: Any, caplog: pytest.LogCaptureFixture
) -> None:
    inline, background = make_recorders(register, background=True)
    with caplog.at_level(logging.WARNING, "ptrack"):
        for n in range(4):
            client.get(pixel_path("broker-down", n=n))
        ptrack.tracker.flush()
    assert background.events == inline.events
    assert len(background.events) == 4
    assert "Could not enqueue a batch of 4 events for background recorder" in caplog.text


@override_settings(TASKS=SHARED)
def test_an_event_failing_in_a_batch_is_enqueued_again_alone(
    register: Any, caplog: pytest.LogCaptureFixture
) -> None:
    backend = dummy_results()
    seen: list[int] = []

    class Picky(ptrack.TrackingPixel):
        background = True

        def record(self, *args: Any, n: int) -> None:
            if n == 1:
                raise ValueError("not this one")
            seen.append(n)

    register(Picky)
    backend.clear()
    now = datetime.now(timezone.utc)
    events = [
        ptrack.PixelEvent(event_type="loaded", args=(), kwargs={"n": n}, timestamp=now).to_dict()
        for n in range(3)
    ]
    name = f"{Picky.__module__}.{Picky.__qualname__}"
    with caplog.at_level(logging.ERROR, "ptrack"):
        tasks.record_batch_in_background.call(name, events)
    assert seen == [0, 2]
    [again] = backend.results
    assert again.task.func is tasks.record_in_background.func
    assert again.args == [name, events[1]] or again.args == (name, events[1])
    assert "enqueued again on its own" in caplog.text


def test_a_batch_for_an_unknown_recorder_fails_whole() -> None:
    with pytest.raises(LookupError, match=r"No recorder 'x\.Y' is registered"):
        tasks.record_batch_in_background.call("x.Y", [])
