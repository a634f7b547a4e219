"""The benchmark's recorder: counts each load and click under ``BENCH_COUNTER``.

``bench.counter`` sums the recorder calls of every worker process at the cost
of a memory write; the benchmark compares the sum with the number of
successful responses. ``BENCH_RECORDER=async`` registers it as an
``async def`` recorder instead, which ASGI runs in the event loop.

``BENCH_RECORDER`` picks another recorder for the slow-recorder scenario:
``slow`` sleeps ``BENCH_SLOW_SECONDS`` (0.02) before counting, inline;
``background`` is the same recorder with ``background = True``, so the web
worker enqueues it and a task worker runs it; ``none`` registers nothing.
"""

from __future__ import annotations

import os
import time
from typing import Any

import ptrack
from bench.counter import add

_RECORDER = os.environ.get("BENCH_RECORDER", "count")
_SLOW_SECONDS = float(os.environ.get("BENCH_SLOW_SECONDS", "0.02"))
_BOTH = frozenset({ptrack.EventType.LOADED, ptrack.EventType.CLICKED})


if _RECORDER in ("slow", "background"):

    @ptrack.tracker.register
    class SlowRecorder(ptrack.TrackingPixel):
        background = _RECORDER == "background"

        def record(self, *args: Any, **kwargs: Any) -> None:
            if _SLOW_SECONDS:
                time.sleep(_SLOW_SECONDS)
            add()

elif _RECORDER == "none":
    pass

elif _RECORDER == "async":

    @ptrack.tracker.register
    class AsyncCountingRecorder(ptrack.TrackingPixel):
        event_types = _BOTH

        async def record(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
            add()

else:

    @ptrack.tracker.register
    class CountingRecorder(ptrack.TrackingPixel):
        event_types = _BOTH

        def record(self, *args: Any, **kwargs: Any) -> None:
            add()
