"""ptrack.lanes: the threads that run sync recorders for event loops."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time

import pytest

from ptrack.lanes import Lane


def test_calls_run_in_the_lane_threads_and_futures_finish() -> None:
    lane = Lane(max_threads=4, name="test-lane")
    seen: list[tuple[int, str]] = []

    async def main() -> None:
        await asyncio.gather(
            *(
                lane.run(lambda i: seen.append((i, threading.current_thread().name)), i)
                for i in range(50)
            )
        )

    asyncio.run(main())
    assert sorted(i for i, _ in seen) == list(range(50))
    assert all(name.startswith("test-lane_") for _, name in seen)
    assert lane.wait_idle(timeout=1)


def test_threads_are_added_while_all_are_stuck_up_to_the_limit() -> None:
    lane = Lane(max_threads=2, name="capped")
    release = threading.Event()
    threads: set[str] = set()

    def stuck() -> None:
        threads.add(threading.current_thread().name)
        release.wait(5)

    async def main() -> None:
        futures = [lane.run(stuck) for _ in range(5)]
        await asyncio.sleep(0.2)  # time for the lane to add every thread it may
        assert threads == {"capped_0", "capped_1"}
        assert not any(future.done() for future in futures)
        release.set()
        await asyncio.gather(*futures)

    asyncio.run(main())
    assert threads == {"capped_0", "capped_1"}


def test_an_exception_is_logged_and_the_lane_carries_on(caplog: pytest.LogCaptureFixture) -> None:
    lane = Lane(max_threads=1, name="failing")
    done: list[int] = []

    def fail() -> None:
        raise ValueError("boom")

    async def main() -> None:
        await lane.run(fail)
        await lane.run(done.append, 1)

    with caplog.at_level(logging.ERROR, "ptrack"):
        asyncio.run(main())
    assert done == [1]
    assert "raised in failing_0" in caplog.text
    assert "ValueError: boom" in caplog.text


def test_a_cancelled_wait_does_not_stop_the_call_or_the_lane() -> None:
    lane = Lane(max_threads=1, name="cancelled")
    done: list[str] = []

    def slow(name: str) -> None:
        time.sleep(0.1)
        done.append(name)

    async def main() -> None:
        future = lane.run(slow, "first")
        future.cancel()
        await lane.run(slow, "second")

    asyncio.run(main())
    assert done == ["first", "second"]


def test_wait_idle_waits_for_queued_calls_or_times_out() -> None:
    lane = Lane(max_threads=1, name="idle")
    release = threading.Event()

    async def main() -> None:
        lane.run(release.wait, 5)
        assert lane.wait_idle(timeout=0.05) is False
        release.set()
        assert lane.wait_idle(timeout=5) is True

    asyncio.run(main())


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_a_forked_child_starts_its_own_threads() -> None:
    lane = Lane(max_threads=2, name="forked")

    async def one() -> None:
        await asyncio.wait_for(lane.run(lambda: None), timeout=5)

    asyncio.run(one())  # the parent's thread now exists
    pid = os.fork()
    if pid == 0:  # the child: a lane whose threads stayed in the parent would hang here
        try:
            asyncio.run(one())
        except BaseException:
            os._exit(1)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_between_runs_before_and_after_each_run_of_calls_not_each_call(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log: list[str] = []
    failures = [ValueError("between failed")]

    def between() -> None:
        log.append("between")
        if failures:
            raise failures.pop()

    lane = Lane(max_threads=1, name="between", between=between)
    gate = threading.Event()

    async def main() -> None:
        first = lane.run(gate.wait, 5)  # holds the thread while three more queue up
        rest = [lane.run(log.append, f"call {i}") for i in range(3)]
        gate.set()
        await asyncio.gather(first, *rest)

    with caplog.at_level(logging.ERROR, "ptrack"):
        asyncio.run(main())
        assert lane.wait_idle(timeout=1)
        deadline = time.monotonic() + 5
        while log[-1] != "between" and time.monotonic() < deadline:
            time.sleep(0.01)
    # One run of four calls, with "between" before and after it.
    assert log == ["between", "call 0", "call 1", "call 2", "between"]
    assert "between failed" in caplog.text

    async def again() -> None:
        await lane.run(log.append, "later")

    asyncio.run(again())
    deadline = time.monotonic() + 5
    while log[-1] != "between" and time.monotonic() < deadline:
        time.sleep(0.01)
    assert log[5:] == ["between", "later", "between"]
