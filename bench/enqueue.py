"""What one pixel load costs in process with the recorder ``bench.settings`` registers.

``python -m bench.enqueue [CALLS]`` with ``BENCH_RECORDER`` and ``BENCH_TASKS``
set as for a server: times ``ptrack.tracking.track()`` (verify, event, and
enqueue or run the recorder) on distinct valid tokens and prints the median
microseconds per call of five batches as JSON. ``bench.run --background`` runs
it for each task backend, so the endpoint's figures can be read against the
enqueue's own cost.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time


def main(calls: int) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django

    django.setup()
    from django.db import close_old_connections

    from bench.tokens import ARGS, KWARGS
    from ptrack import encoders, tracking

    tokens = [encoders.encode(ARGS, {**KWARGS, "user_id": n}) for n in range(calls)]
    for token in tokens[:20]:  # warm-up: imports, connections
        tracking.track(token)
    batches = []
    for _ in range(5):
        started = time.perf_counter()
        for token in tokens:
            tracking.track(token)
            close_old_connections()  # as at the end of each request
        batches.append((time.perf_counter() - started) / calls)
    print(json.dumps({"us_per_call": statistics.median(batches) * 1e6, "calls": 5 * calls}))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
