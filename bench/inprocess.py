"""What a load costs in process, paired with a bare view, through Django's ``WSGIHandler``.

A served benchmark (``bench/endpoints.py``) measures what users see, but a few
microseconds a request disappear in the noise of the server, the kernel and wrk
sharing two cores. Here every request is a whole one, in this process: a WSGI
environ through ``WSGIHandler`` (URL resolution, the middleware, the view, the
response's ``close()`` and ``request_finished``), without a socket.

``python -m bench.inprocess`` (``make bench-inprocess``; ``make bench`` adds
``--peer``) compares, with Django's ``startproject`` middleware and without:

- the pixel view, over 1,000 distinct valid tokens, with the bare view that
  answers the same GIF with no token and no recorder;
- with ``--peer``, django-ptrack 3.0.0's view with the same bare view, in its
  own environment (``nox -s ptrack3_inprocess``, ``bench/ptrack3_inprocess.py``);
- the pixel view over links naming a recipient, with no consent source, and with
  ``PTRACK_CONSENT`` answering from memory (``bench.tokens.memory_consent``):
  what turning consent checks on costs a load;
- both views again over the labelled request shapes' header sets
  (``bench.load.request_header_sets()``), which exercise every rule;
- the click view against a bare view answering the same constant 302.

Every other request carries the same Chrome User-Agent; all come from one
client address. Cases run in ABBA order round after round, so that the drift
of a shared machine hits each pair alike. Each batch is timed in this
process's CPU time, so that time another process holds the CPU is not
counted, with the garbage collector on, so that a collection is charged to the
batch whose garbage caused it; after each settings switch (which clears
ptrack's memos) a case warms up before it is timed. Rounds in which another
process still slowed this one (caches, a shared core) are slower for every
case: only the fastest half of the rounds, by the bare view's time, is kept.
The figures are medians over the kept rounds of per-round differences and
ratios, with their range.
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import os
import statistics
import subprocess
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

ENVIRON = {
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
    environs: list[dict[str, Any]] = field(default_factory=lambda: [ENVIRON])  # cycled

    def requests(self, count: int) -> None:
        """Make ``count`` requests, each a fresh environ, as a server would."""
        paths, handler, status, environs = self.paths, self.handler, self.status, self.environs
        size, kinds = len(paths), len(environs)

        def start_response(got: str, headers: Any, exc_info: Any = None) -> None:
            if got != status:
                raise AssertionError(f"{self.name}: {got}, expected {status}")

        for n in range(count):
            environ = {
                **environs[n % kinds],
                "PATH_INFO": paths[n % size],
                "wsgi.input": io.BytesIO(),
            }
            result = handler(environ, start_response)
            b"".join(result)
            result.close()


def labelled_environs() -> list[dict[str, Any]]:
    """``ENVIRON`` with the headers of each labelled request shape, as ``make bench`` sends
    them to the servers (``bench.load.request_header_sets()``), in place of Chrome's."""
    from bench.load import request_header_sets

    sets, _skipped = request_header_sets()
    base = {k: v for k, v in ENVIRON.items() if not k.startswith("HTTP_") or k == "HTTP_HOST"}
    return [
        {**base, **{"HTTP_" + n.upper().replace("-", "_"): v for n, v in headers.items()}}
        for headers in sets
    ]


def paired(cases: list[Case], rounds: int, number: int, warm_up: int) -> dict[str, list[float]]:
    """Seconds per request of each case in each round, the cases in ABBA order."""
    from django.test import override_settings

    times: dict[str, list[float]] = {case.name: [] for case in cases}
    for round_ in range(rounds):
        for case in cases if round_ % 2 == 0 else reversed(cases):
            with override_settings(**case.settings):
                case.requests(warm_up)
                gc.collect()
                start = time.process_time()
                case.requests(number)
                times[case.name].append((time.process_time() - start) / number)
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


# What each comparison reads, case over baseline.
COMPARISONS = [
    ("pixel view", "bare view"),
    ("pixel view, naming a recipient, memory consent source", "pixel view"),
    ("pixel view, naming a recipient", "pixel view"),
    ("pixel view, naming a recipient, memory consent source", "pixel view, naming a recipient"),
    ("pixel view, labelled request shapes", "bare view, labelled request shapes"),
    ("click view", "bare redirect view"),
]


def cases_for(handler: Any) -> list[Case]:
    """The requests compared, in the order they run in a round."""
    from bench.tokens import click_tokens, pixel_tokens, recipient_tokens

    plain, named = pixel_tokens(1000), recipient_tokens(1000)
    shapes = labelled_environs()
    return [
        Case("bare view", handler, [f"/bare/{t}/" for t in plain], records=False),
        Case("pixel view", handler, [f"/ptrack/{t}/" for t in plain]),
        Case("pixel view, naming a recipient", handler, [f"/ptrack/{t}/" for t in named]),
        Case(
            "pixel view, naming a recipient, memory consent source",
            handler,
            [f"/ptrack/{t}/" for t in named],
            settings={"PTRACK_CONSENT": CONSENT_SOURCE},
        ),
        Case(
            "bare view, labelled request shapes",
            handler,
            [f"/bare/{t}/" for t in plain],
            records=False,
            environs=shapes,
        ),
        Case(
            "pixel view, labelled request shapes",
            handler,
            [f"/ptrack/{t}/" for t in plain],
            environs=shapes,
        ),
        Case(
            "bare redirect view",
            handler,
            [f"/bare302/{t}/" for t in plain],
            status="302 Found",
            records=False,
        ),
        Case(
            "click view",
            handler,
            [f"/ptrack/c/{t}/" for t in click_tokens(1000)],
            status="302 Found",
        ),
    ]


def inprocess_bench(rounds: int, number: int, warm_up: int) -> dict[str, Any]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django

    django.setup()
    from django.core.handlers.wsgi import WSGIHandler
    from django.test import override_settings

    from bench import counter
    from bench.tokens import recipient_tokens
    from ptrack import tracking

    with override_settings(PTRACK_CONSENT=CONSENT_SOURCE):
        event = tracking.track(recipient_tokens(1)[0])
        if event is None or (event.recipient, event.consent) != ("sub-0", "full"):
            raise AssertionError(f"a load naming a recipient at 'full' recorded {event!r}")

    handlers = {"startproject middleware": WSGIHandler()}
    with override_settings(MIDDLEWARE=[]):
        handlers["no middleware"] = WSGIHandler()

    results: dict[str, Any] = {"rounds": rounds, "requests_per_batch": number, "modes": {}}
    for mode, handler in handlers.items():
        results["modes"][mode] = measure(
            mode, cases_for(handler), COMPARISONS, counter, rounds, number, warm_up
        )
    return results


def measure(
    mode: str,
    cases: list[Case],
    comparisons: list[tuple[str, str]],
    counter: Any,
    rounds: int,
    number: int,
    warm_up: int,
) -> dict[str, Any]:
    """``cases`` paired, every recorder call counted by ``counter`` (``bench/counter.py``,
    however it was imported), and the figures of the fastest rounds by the bare view's time."""
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
    return {
        "us_per_request": {
            name: _summary([values[r] * 1e6 for r in kept], 2) for name, values in times.items()
        },
        "kept_rounds": kept,
        "recorder_calls": recorded,
        "comparisons": [compare(times, kept, case, base) for case, base in comparisons],
    }


def peer_bench(rounds: int, number: int, warm_up: int) -> dict[str, Any]:
    """django-ptrack 3.0.0's view against its bare view, run by nox in its own environment."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "peer.json"
        subprocess.run(
            [sys.executable, "-m", "nox", "-s", "ptrack3_inprocess", "--", "--json", str(out),
             "--rounds", str(rounds), "--requests", str(number), "--warm-up", str(warm_up)],
            cwd=ROOT,
            check=True,
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        peer: dict[str, Any] = json.loads(out.read_text())
        return peer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20, help="ABBA rounds (20)")
    parser.add_argument("--requests", type=int, default=1000, help="per case per round (1000)")
    parser.add_argument("--warm-up", type=int, default=200, help="after each switch (200)")
    parser.add_argument("--json", type=Path, default=RESULTS, help=str(RESULTS.relative_to(ROOT)))
    parser.add_argument(
        "--peer", action="store_true", help="also django-ptrack 3.0.0's view (nox, PyPI)"
    )
    options = parser.parse_args(argv)
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    from bench import report
    from bench.machine import machine

    results: dict[str, Any] = {"machine": machine(), "command": " ".join(sys.argv)}
    started = time.monotonic()
    peer = None
    if options.peer:  # first: its environment is built while the machine is still quiet
        peer = peer_bench(options.rounds, options.requests, options.warm_up)
    results["inprocess"] = inprocess_bench(options.rounds, options.requests, options.warm_up)
    if peer is not None:
        results["inprocess"]["peer"] = peer
    results["inprocess"]["seconds"] = round(time.monotonic() - started)
    results["machine"]["load_average_at_end"] = os.getloadavg()
    options.json.write_text(json.dumps(results, indent=2) + "\n")
    print(report.render(results, markdown=False))
    print(f"\nWrote {options.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
