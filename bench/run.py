"""ptrack's benchmark: ``python -m bench.run`` from the repository root (``make bench``).

Measures, in one run, with every pair of compared cases measured alternately:

1. token work in process: links minted and pixels verified per second against
   plain itsdangerous on the same payload, the URL length, and ``{% ptrack %}``
   renders per second in a realistic email;
2. the endpoint served for real by gunicorn (WSGI) and uvicorn (ASGI) on
   127.0.0.1 and loaded by wrk over many distinct valid tokens: the pixel view,
   a bare constant-GIF view in the same project (with and without Django's
   startproject middleware; sync under WSGI and async under ASGI, as the pixel
   view is), the fast path, and a raw WSGI/ASGI callable; and the same for
   click links: the click view against a bare view answering a constant 302,
   the fast path against a raw callable answering a constant 302;
3. each worker's resident memory after warm-up and at the end.

``--background`` measures instead, in one run, a 20 ms recorder inline and in
the background (RQ on a redis-server started on a free loopback port, with
django-rq's default and a pooled connection, and django-tasks-db on SQLite)
beside the bare view under gunicorn, then real task workers draining the
queues, with every enqueued event counted (``make bench-background``,
``bench/results-background.json``).

It prints a table and writes JSON (``bench/results.json`` by default). Every
load loop is bounded in time; only loopback is loaded.

This module is the command line; the parts live beside it: the token work in
``bench/tokens.py``, the endpoint cases in ``bench/endpoints.py``, the slow
recorders and the drain in ``bench/background.py``, starting and stopping the
servers in ``bench/servers.py``, wrk and its request headers in
``bench/load.py``, the machine's description in ``bench/machine.py``, and the
tables, as text or as Markdown, in ``bench/report.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from bench import report
from bench.background import BACKENDS, background_bench
from bench.endpoints import http_bench
from bench.machine import machine
from bench.servers import ROOT
from bench.tokens import click_tokens, pixel_tokens, token_bench

BENCH = ROOT / "bench"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, help="alternating rounds (6; 4 with --background)")
    parser.add_argument("--duration", type=int, help="seconds per 64-conn run (2)")
    parser.add_argument(
        "--latency-duration", type=int, help="per 4-conn run (2; 1 with --background)"
    )
    parser.add_argument("--token-rounds", type=int, default=9, help="token rounds (9)")
    parser.add_argument("--token-seconds", type=float, default=0.2, help="per token case (0.2)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--quick", action="store_true", help="one short round, to try it out")
    parser.add_argument("--no-http", action="store_true", help="token work only")
    parser.add_argument(
        "--background",
        action="store_true",
        help="only the slow-recorder scenario: inline vs background, then the task worker's drain",
    )
    parser.add_argument(
        "--backends",
        default="rq,rq-pooled,rq-batched,db",
        help="task backends for --background: rq, rq-pooled, rq-batched, db (all four)",
    )
    parser.add_argument(
        "--drain-sample", type=int, default=100, help="events per sampled drain phase (100)"
    )
    parser.add_argument(
        "--drain-timeout", type=float, default=120, help="seconds per drain worker (120)"
    )
    parser.add_argument(
        "--json", type=Path, help="bench/results.json (bench/results-background.json)"
    )
    parser.add_argument(
        "--markdown", type=Path, help="print a results JSON as the tables of docs/performance.md"
    )
    options = parser.parse_args(argv)
    if options.markdown:
        print(report.render(json.loads(options.markdown.read_text()), markdown=True))
        return 0
    if options.quick:
        options.rounds, options.duration, options.latency_duration = 1, 2, 1
        options.drain_sample = min(options.drain_sample, 50)
        options.token_rounds, options.token_seconds = 3, 0.1
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    results: dict[str, Any] = {"machine": machine(), "command": " ".join(sys.argv)}
    if options.background:
        options.json = options.json or BENCH / "results-background.json"
        backends = [b for b in options.backends.split(",") if b]
        unknown = set(backends) - set(BACKENDS)
        if unknown or not backends:
            parser.error(
                f"--backends takes some of {', '.join(BACKENDS)}, not {options.backends!r}"
            )
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
        import django

        django.setup()
        results["background"] = background_bench(
            options.rounds or 4, options.duration or 2, options.latency_duration or 1,
            options.workers,
            pixel_tokens(2000), backends, options.drain_sample, options.drain_timeout,
        )  # fmt: skip
    else:
        options.json = options.json or BENCH / "results.json"
        results["tokens"] = token_bench(options.token_rounds, options.token_seconds)
    if options.no_http or options.background:
        pass
    elif shutil.which("wrk") is None:
        results["http"] = None
        print("wrk is not installed: `apt-get install wrk` (Debian), then run again.")
    else:
        results["http"] = http_bench(
            options.rounds or 6,
            options.duration or 2,
            options.latency_duration or 2,
            options.workers,
            pixel_tokens(2000),
            click_tokens(2000),
        )
    results["machine"]["load_average_at_end"] = os.getloadavg()
    options.json.write_text(json.dumps(results, indent=2) + "\n")
    print(report.render(results, markdown=False))
    print(f"\nWrote {options.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
