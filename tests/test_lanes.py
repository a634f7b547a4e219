"""ptrack.lanes: the threads that run sync recorders for event loops."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time

import pytest

from ptrack.lanes import Lane
from tests.waiting import PATIENCE, await_until, wait_child, wait_until


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
        release.wait(PATIENCE)

    async def main() -> None:
        futures = [lane.run(stuck) for _ in range(5)]
        await await_until(lambda: threads == {"capped_0", "capped_1"})
        # The lane looks every 2 ms on this loop: after this sleep it has looked
        # again, and a third thread would exist as soon as it was started.
        await asyncio.sleep(0.05)
        assert not [t for t in threading.enumerate() if t.name == "capped_2"]
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
    assert wait_child(pid) == 0


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
        assert lane.wait_idle(timeout=PATIENCE)
        wait_until(lambda: log[-1] == "between")
    # One run of four calls, with "between" before and after it.
    assert log == ["between", "call 0", "call 1", "call 2", "between"]
    assert "between failed" in caplog.text

    async def again() -> None:
        await lane.run(log.append, "later")

    asyncio.run(again())
    wait_until(lambda: log[-1] == "between")
    assert log[5:] == ["between", "later", "between"]


def test_a_loop_that_closes_with_a_check_pending_leaves_the_lane_able_to_add_threads() -> None:
    lane = Lane(max_threads=4, name="closed-loop")
    gate = threading.Event()

    async def busy_then_gone() -> None:
        # Two calls on one thread: the lane schedules a check on this loop,
        # which closes before the check is due.
        lane.run(gate.wait, PATIENCE)
        lane.run(gate.wait, PATIENCE)

    asyncio.run(busy_then_gone())
    gate.set()
    assert lane.wait_idle(timeout=PATIENCE)

    # Four calls that each wait for the other three: they finish only if the
    # lane, in a new loop, adds threads while its first one is stuck.
    together = threading.Barrier(4, timeout=PATIENCE)
    met: list[str] = []

    def meet() -> None:
        together.wait()
        met.append(threading.current_thread().name)

    async def side_by_side() -> None:
        await asyncio.gather(*(lane.run(meet) for _ in range(4)))

    asyncio.run(side_by_side())
    assert len(set(met)) == 4


def test_loops_in_two_threads_each_get_threads_added() -> None:
    lane = Lane(max_threads=4, name="two-loops")
    together = threading.Barrier(4, timeout=PATIENCE)
    met: list[str] = []

    def meet() -> None:
        together.wait()
        met.append(threading.current_thread().name)

    async def two_calls() -> None:
        await asyncio.gather(lane.run(meet), lane.run(meet))

    loops = [threading.Thread(target=asyncio.run, args=(two_calls(),)) for _ in range(2)]
    for thread in loops:
        thread.start()
    for thread in loops:
        thread.join(PATIENCE)
    assert len(met) == 4
