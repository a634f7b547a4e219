"""What a load costs in process, paired with a bare view, through Django's ``WSGIHandler``.

A served benchmark (``bench/endpoints.py``) measures what users see, but a few
microseconds a request disappear in the noise of the server, the kernel and wrk
sharing two cores. Here every request is a whole one, in this process: a WSGI
environ through ``WSGIHandler`` (URL resolution, the middleware, the view, the
response's ``close()`` and ``request_finished``), without a socket.

``python -m bench.inprocess`` (part of ``make bench``) compares, with Django's
``startproject`` middleware and without:

- the bare view that answers the same GIF with no token and no recorder;
- the pixel view, over 1,000 distinct valid tokens;
- the pixel view over links naming a recipient, with no consent source, and with
  ``PTRACK_CONSENT`` answering from memory (``bench.tokens.memory_consent``):
  what turning consent checks on costs a load.

Every request carries the same Chrome User-Agent and comes from one client
address, so that each load is classified the same way. Cases run in ABBA order
round after round, so that the drift of a shared machine hits each pair alike.
Each batch is timed with the garbage collector on, so that a collection is
charged to the batch whose garbage caused it, and after each settings switch
(which clears ptrack's memos) a case warms up before it is timed. Rounds in
which another process took the CPU are slower for every case: only the fastest
half of the rounds, by the bare view's time, is kept. The figures are medians
over the kept rounds of per-round differences and ratios, with their range.
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results-inprocess.json"

CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36"
)
CLIENT_IP = "198.51.100.23"
CONSENT_SOURCE = "bench.tokens.memory_consent"

_ENVIRON = {
    "REQUEST_METHOD": "GET",
    "SCRIPT_NAME": "",
    "QUERY_STRING": "",
    "SERVER_NAME": "127.0.0.1",
    "SERVER_PORT": "80",
    "SERVER_PROTOCOL": "HTTP/1.1",
    "HTTP_HOST": "127.0.0.1",
    "HTTP_ACCEPT": "image/avif,image/webp,image/apng,image/*,*/*;q=0.8",
    "REMOTE_ADDR": CLIENT_IP,
    "HTTP_USER_AGENT": CHROME,
    "wsgi.errors": sys.stderr,
    "wsgi.url_scheme": "http",
    "wsgi.version": (1, 0),
    "wsgi.multithread": False,
    "wsgi.multiprocess": True,
    "wsgi.run_once": False,
}


@dataclass
class Case:
    """One kind of request: a handler, the paths it cycles over, the settings it runs under."""

    name: str
    handler: Any
    paths: list[str]
    status: str = "200 OK"
    settings: dict[str, Any] = field(default_factory=dict)
    records: bool = True  # whether each request calls the benchmark's recorder

    def requests(self, count: int) -> None:
        """Make ``count`` requests, each a fresh environ, as a server would."""
        paths, handler, status = self.paths, self.handler, self.status
        size = len(paths)

        def start_response(got: str, headers: Any, exc_info: Any = None) -> None:
            if got != status:
                raise AssertionError(f"{self.name}: {got}, expected {status}")

        for n in range(count):
            environ = {**_ENVIRON, "PATH_INFO": paths[n % size], "wsgi.input": io.BytesIO()}
            result = handler(environ, start_response)
            b"".join(result)
            result.close()


def paired(cases: list[Case], rounds: int, number: int, warm_up: int) -> dict[str, list[float]]:
    """Seconds per request of each case in each round, the cases in ABBA order."""
    from django.test import override_settings

    times: dict[str, list[float]] = {case.name: [] for case in cases}
    for round_ in range(rounds):
        for case in cases if round_ % 2 == 0 else reversed(cases):
            with override_settings(**case.settings):
                case.requests(warm_up)
                gc.collect()
                start = time.perf_counter()
                case.requests(number)
                times[case.name].append((time.perf_counter() - start) / number)
    return times


def fast_rounds(times: dict[str, list[float]], reference: str) -> list[int]:
    """The rounds kept: the fastest half by the reference case's time."""
    reference_times = times[reference]
    order = sorted(range(len(reference_times)), key=reference_times.__getitem__)
    return sorted(order[: max(1, (len(order) + 1) // 2)])


def _summary(values: list[float], digits: int) -> dict[str, float]:
    return {
        "median": round(statistics.median(values), digits),
        "low": round(min(values), digits),
        "high": round(max(values), digits),
    }


def compare(
    times: dict[str, list[float]], kept: list[int], case: str, baseline: str
) -> dict[str, Any]:
    """``case`` against ``baseline`` over the kept rounds: extra µs per request, and extra
    over the baseline's own time."""
    extra = [(times[case][r] - times[baseline][r]) * 1e6 for r in kept]
    ratio = [(times[case][r] - times[baseline][r]) / times[baseline][r] for r in kept]
    return {
        "case": case,
        "baseline": baseline,
        "extra_us": _summary(extra, 2),
        "extra_over_baseline": _summary(ratio, 3),
    }


def inprocess_bench(rounds: int, number: int, warm_up: int) -> dict[str, Any]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django

    django.setup()
    from django.core.handlers.wsgi import WSGIHandler
    from django.test import override_settings

    from bench import counter
    from bench.tokens import pixel_tokens, recipient_tokens
    from ptrack import tracking

    plain = pixel_tokens(1000)
    named = recipient_tokens(1000)
    with override_settings(PTRACK_CONSENT=CONSENT_SOURCE):
        event = tracking.track(named[0])
        if event is None or (event.recipient, event.consent) != ("sub-0", "full"):
            raise AssertionError(f"a load naming a recipient at 'full' recorded {event!r}")

    handlers = {"startproject middleware": WSGIHandler()}
    with override_settings(MIDDLEWARE=[]):
        handlers["no middleware"] = WSGIHandler()

    results: dict[str, Any] = {"rounds": rounds, "requests_per_batch": number, "modes": {}}
    for mode, handler in handlers.items():
        cases = [
            Case("bare view", handler, [f"/bare/{t}/" for t in plain], records=False),
            Case("pixel view", handler, [f"/ptrack/{t}/" for t in plain]),
            Case("pixel view, naming a recipient", handler, [f"/ptrack/{t}/" for t in named]),
            Case(
                "pixel view, naming a recipient, memory consent source",
                handler,
                [f"/ptrack/{t}/" for t in named],
                settings={"PTRACK_CONSENT": CONSENT_SOURCE},
            ),
        ]
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "count"
            os.environ["BENCH_COUNTER"] = str(path)
            counter._counter = None
            times = paired(cases, rounds, number, warm_up)
            recorded = counter.total(path)
            counter._counter = None
        expected = sum(rounds * (number + warm_up) for case in cases if case.records)
        if recorded != expected:
            raise AssertionError(f"{mode}: {recorded} recorder calls for {expected} loads")
        kept = fast_rounds(times, "bare view")
        results["modes"][mode] = {
            "us_per_request": {
                name: _summary([values[r] * 1e6 for r in kept], 2) for name, values in times.items()
            },
            "kept_rounds": kept,
            "recorder_calls": recorded,
            "comparisons": [compare(times, kept, case.name, "bare view") for case in cases[1:]]
            + [
                compare(times, kept, cases[3].name, "pixel view"),
                compare(times, kept, cases[3].name, cases[2].name),
                compare(times, kept, cases[2].name, "pixel view"),
            ],
        }
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20, help="ABBA rounds (20)")
    parser.add_argument("--requests", type=int, default=1000, help="per case per round (1000)")
    parser.add_argument("--warm-up", type=int, default=200, help="after each switch (200)")
    parser.add_argument("--json", type=Path, default=RESULTS, help=str(RESULTS.relative_to(ROOT)))
    options = parser.parse_args(argv)
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    from bench import report
    from bench.machine import machine

    results: dict[str, Any] = {"machine": machine(), "command": " ".join(sys.argv)}
    started = time.monotonic()
    results["inprocess"] = inprocess_bench(options.rounds, options.requests, options.warm_up)
    results["inprocess"]["seconds"] = round(time.monotonic() - started)
    results["machine"]["load_average_at_end"] = os.getloadavg()
    options.json.write_text(json.dumps(results, indent=2) + "\n")
    print(report.render(results, markdown=False))
    print(f"\nWrote {options.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
