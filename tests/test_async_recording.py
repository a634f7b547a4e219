"""Sync recorders under an event loop: off the loop, side by side when slow, none lost."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import django
import pytest
from django.test import override_settings

import ptrack
from ptrack import lanes, tracking
from tests.conftest import pixel_path
from tests.waiting import PATIENCE, await_until


def token(*args: Any, **kwargs: Any) -> str:
    return pixel_path(*args, **kwargs).split("/")[2]


class Calls:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.args: list[tuple[Any, ...]] = []
        self.threads: set[str] = set()

    def add(self, args: tuple[Any, ...]) -> None:
        with self.lock:
            self.args.append(args)
            self.threads.add(threading.current_thread().name)


@pytest.fixture
def sync_recorder() -> Iterator[Calls]:
    """A sync recorder that records the arguments and its thread."""
    calls = Calls()

    class Sync(ptrack.TrackingPixel):
        def record(self, *args: Any, **kwargs: Any) -> None:
            calls.add(args)

    ptrack.tracker.register(Sync)
    yield calls
    ptrack.tracker.unregister(Sync)


def load_all(tokens: list[str]) -> float:
    """Load every token concurrently in one event loop; the seconds it took."""

    async def main() -> float:
        started = time.monotonic()
        events = await asyncio.gather(
            *(tracking.atrack(t, tracking.RequestContext(ip="192.0.2.1")) for t in tokens)
        )
        assert all(event is not None for event in events)
        return time.monotonic() - started

    return asyncio.run(main())


def test_many_quick_loads_are_each_recorded_once_off_the_loop(sync_recorder: Calls) -> None:
    tokens = [token("n", i) for i in range(300)]
    load_all(tokens)
    assert sorted(sync_recorder.args) == sorted(("n", i) for i in range(300))
    assert sync_recorder.threads
    assert all(name.startswith("ptrack-recorder") for name in sync_recorder.threads)


@pytest.fixture
def gated_recorder() -> Iterator[tuple[Calls, threading.Event]]:
    """A sync recorder that records only once the test sets the event."""
    calls, gate = Calls(), threading.Event()

    class Gated(ptrack.TrackingPixel):
        def record(self, *args: Any, **kwargs: Any) -> None:
            if gate.wait(PATIENCE):
                calls.add(args)

    ptrack.tracker.register(Gated)
    yield calls, gate
    ptrack.tracker.unregister(Gated)


def test_slow_recorders_run_side_by_side() -> None:
    # Eight recorder calls that each wait for all the others: they finish only
    # if more threads join while the first ones are stuck.
    together = threading.Barrier(8, timeout=PATIENCE)
    calls = Calls()

    class Meets(ptrack.TrackingPixel):
        def record(self, *args: Any, **kwargs: Any) -> None:
            together.wait()
            calls.add(args)

    ptrack.tracker.register(Meets)
    try:
        load_all([token("slow", i) for i in range(8)])
    finally:
        ptrack.tracker.unregister(Meets)
    assert sorted(calls.args) == [("slow", i) for i in range(8)]
    assert len(calls.threads) == 8


@override_settings(PTRACK_RECORDER_TIMEOUT=0.05)
def test_a_recorder_outliving_its_event_loop_finishes_and_the_next_loop_is_served(
    gated_recorder: tuple[Calls, threading.Event],
) -> None:
    calls, gate = gated_recorder
    load_all([token("late")])  # answers after 0.05 s; asyncio.run then closes the loop
    assert calls.args == []  # the recorder is still waiting for the gate
    gate.set()
    assert lanes.recorders.wait_idle(PATIENCE)
    assert calls.args == [("late",)]
    with override_settings(PTRACK_RECORDER_TIMEOUT=None):
        load_all([token("next")])
    assert calls.args == [("late",), ("next",)]


def test_recorders_still_running_at_exit_finish_before_the_process_ends(tmp_path: Path) -> None:
    out = tmp_path / "recorded.txt"
    script = textwrap.dedent(
        f"""
        import asyncio, time
        import django
        from django.conf import settings

        settings.configure(
            SECRET_KEY="x" * 50, INSTALLED_APPS=["ptrack.apps.SimplePtrackConfig"],
            PTRACK_APP_URL="https://t.example", ROOT_URLCONF="ptrack.urls",
            PTRACK_RECORDER_TIMEOUT=0.01,
        )
        django.setup()
        import ptrack
        from ptrack import encoders, tracking

        @ptrack.tracker.register
        class Slow(ptrack.TrackingPixel):
            def record(self, *args, **kwargs):
                time.sleep(0.5)
                with open({str(out)!r}, "a") as f:
                    f.write(repr(args))

        asyncio.run(tracking.atrack(encoders.encode(["exit"], {{}})))
        print("answered", flush=True)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "answered\n"
    assert "still running 0.01s" in result.stderr
    assert out.read_text() == "('exit',)"


@pytest.fixture
def only_recorder() -> Iterator[list[ptrack.PixelEvent]]:
    """One async recorder registered alone, the others put back after."""
    others = [type(recorder) for recorder in ptrack.tracker.recorders]
    for cls in others:
        ptrack.tracker.unregister(cls)
    seen: list[ptrack.PixelEvent] = []

    class Alone(ptrack.TrackingPixel):
        async def record_event(self, event: ptrack.PixelEvent) -> None:
            await asyncio.sleep(0)
            seen.append(event)

    ptrack.tracker.register(Alone)
    yield seen
    ptrack.tracker.unregister(Alone)
    for cls in others:
        ptrack.tracker.register(cls)


def test_a_lone_async_recorder_is_awaited(only_recorder: list[ptrack.PixelEvent]) -> None:
    load_all([token("alone", 1), token("alone", 2)])
    assert sorted(event.args for event in only_recorder) == [("alone", 1), ("alone", 2)]


def test_no_recorders_at_all_under_an_event_loop(only_recorder: list[ptrack.PixelEvent]) -> None:
    [alone] = [type(r) for r in ptrack.tracker.recorders]
    ptrack.tracker.unregister(alone)
    try:
        load_all([token("nobody")])
    finally:
        ptrack.tracker.register(alone)
    assert only_recorder == []


@pytest.fixture
def held_recorder() -> Iterator[tuple[asyncio.Event, asyncio.Event, list[Any]]]:
    """An async recorder, registered alone, that waits for ``release`` once ``started``."""
    others = [type(recorder) for recorder in ptrack.tracker.recorders]
    for cls in others:
        ptrack.tracker.unregister(cls)
    started, release = asyncio.Event(), asyncio.Event()
    seen: list[Any] = []

    class Held(ptrack.TrackingPixel):
        async def record(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
            started.set()
            await release.wait()
            seen.append(args)

    ptrack.tracker.register(Held)
    yield started, release, seen
    ptrack.tracker.unregister(Held)
    for cls in others:
        ptrack.tracker.register(cls)


@pytest.mark.parametrize("with_sync_recorder", [False, True])
def test_a_client_gone_mid_recording_loses_nothing(
    held_recorder: tuple[asyncio.Event, asyncio.Event, list[Any]],
    with_sync_recorder: bool,
    request: pytest.FixtureRequest,
) -> None:
    """Django cancels an async view when its client disconnects; recording carries on."""
    from django.core.asgi import get_asgi_application

    started, release, seen = held_recorder
    sync_calls = request.getfixturevalue("sync_recorder") if with_sync_recorder else None
    path = pixel_path("gone", 1)
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "headers": [(b"host", b"testserver")], "client": ("192.0.2.1", 1),
        "server": ("testserver", 80),
    }  # fmt: skip

    async def main() -> None:
        messages = iter([{"type": "http.request", "body": b"", "more_body": False}])

        async def receive() -> dict[str, Any]:
            try:
                return next(messages)
            except StopIteration:
                await started.wait()  # the client goes while the recorder works
                return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            pass

        request = asyncio.ensure_future(get_asgi_application()(scope, receive, send))
        await started.wait()
        if django.VERSION >= (5, 0):  # Django cancels the view; the recorder waits on
            await asyncio.wait([request], timeout=PATIENCE)
            assert request.done()
        release.set()
        await asyncio.wait([request], timeout=PATIENCE)
        await await_until(lambda: seen)

    asyncio.run(main())
    assert seen == [("gone", 1)]
    if sync_calls is not None:
        assert lanes.recorders.wait_idle(PATIENCE)
        assert sync_calls.args == [("gone", 1)]


def test_a_recorder_still_waiting_when_its_loop_ends_is_cancelled_like_any_task(
    held_recorder: tuple[asyncio.Event, asyncio.Event, list[Any]],
) -> None:
    started, _release, seen = held_recorder
    outcome: list[str] = []

    class Watches(ptrack.TrackingPixel):
        async def record(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                outcome.append("cancelled")
                raise

    class Swallows(ptrack.TrackingPixel):
        async def record(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                outcome.append("returned")  # and ends as if it had finished

    ptrack.tracker.register(Watches)
    ptrack.tracker.register(Swallows)
    try:

        async def main() -> None:
            request = asyncio.ensure_future(tracking.atrack(token("ends", 1)))
            await started.wait()
            request.cancel()  # the request goes; its recorders wait on

        asyncio.run(main())  # and are cancelled as the loop closes
    finally:
        ptrack.tracker.unregister(Watches)
        ptrack.tracker.unregister(Swallows)
    assert sorted(outcome) == ["cancelled", "returned"]
    assert seen == []
