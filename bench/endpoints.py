"""The endpoints served for real and loaded by wrk: pixel and click, view and fast path.

Each is measured against its bare counterpart (a constant-GIF or constant-302
view, a raw WSGI/ASGI callable) under gunicorn and uvicorn, in pairs of runs
made back to back, with each worker's memory read along the way.
"""

from __future__ import annotations

import statistics
import tempfile
from pathlib import Path
from typing import Any

from bench.counter import total as counted
from bench.load import Target, summarise, write_header_sets, write_paths, wrk
from bench.servers import Server, start, stop, wait_ready, worker_rss

# The ratios the targets are about, each measured as a pair of back-to-back runs.
PAIRS = {
    "gunicorn": [
        ("view", "bare view"),
        ("view, no middleware", "bare view, no middleware"),
        ("fast path", "raw callable"),
        ("fast path, no request signals", "raw callable"),
        ("click view", "bare 302 view"),
        ("click fast path", "raw 302 callable"),
        ("view", "view, constant classifier"),
        ("fast path", "fast path, constant classifier"),
    ],
    "uvicorn": [
        ("view", "bare view"),
        ("view, no middleware", "bare view, no middleware"),
        ("fast path", "raw callable"),
        ("fast path, async recorder", "raw callable"),
        ("click view", "bare 302 view"),
        ("click fast path", "raw 302 callable"),
        ("view", "view, constant classifier"),
        ("fast path", "fast path, constant classifier"),
    ],
}
LATENCY_PAIRS = [("view", "bare view"), ("fast path", "raw callable")]


def _servers_and_targets() -> tuple[list[Server], dict[str, list[Target]]]:
    """The servers to start and, per server kind, the cases loaded on them."""
    servers: list[Server] = []
    targets: dict[str, list[Target]] = {}
    for kind in ("gunicorn", "uvicorn"):
        mw = Server(kind, "django", True)
        nomw = Server(kind, "django", False)
        fast = Server(kind, "fast", True)
        raw = Server(kind, "raw", False)
        mw_constant = Server(kind, "django", True, classifier=False)
        fast_constant = Server(kind, "fast", True, classifier=False)
        servers += [mw, nomw, fast, raw, mw_constant, fast_constant]
        targets[kind] = [
            Target("view", mw, "/ptrack/", True),
            Target("bare view", mw, "/bare/", False),
            Target("view, no middleware", nomw, "/ptrack/", True),
            Target("bare view, no middleware", nomw, "/bare/", False),
            Target("fast path", fast, "/ptrack/", True),
            Target("raw callable", raw, "/bare/", False),
            Target("click view", mw, "/ptrack/c/", True),
            Target("bare 302 view", mw, "/bare302/", False),
            Target("click fast path", fast, "/ptrack/c/", True),
            Target("raw 302 callable", raw, "/bare302/", False),
            Target("view, constant classifier", mw_constant, "/ptrack/", True),
            Target("fast path, constant classifier", fast_constant, "/ptrack/", True),
        ]
        if kind == "gunicorn":  # the ASGI fast path sends no request signals anyway
            quiet = Server(kind, "fast", True, signals=False)
            servers.append(quiet)
            targets[kind].append(Target("fast path, no request signals", quiet, "/ptrack/", True))
        else:  # an async def recorder is awaited in the event loop, with no thread hand-off
            awaited = Server(kind, "fast", True, recorder="async")
            servers.append(awaited)
            targets[kind].append(Target("fast path, async recorder", awaited, "/ptrack/", True))
    return servers, targets


def http_bench(
    rounds: int,
    seconds: int,
    latency_seconds: int,
    workers: int,
    tokens: list[str],
    click_tokens: list[str],
) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="ptrack-bench-"))
    paths = {
        prefix: write_paths(workdir / f"{name}.paths", prefix, prefix_tokens)
        for prefix, name, prefix_tokens in (
            ("/ptrack/", "pixel", tokens),
            ("/bare/", "bare", tokens),
            ("/ptrack/c/", "click", click_tokens),
            ("/bare302/", "bare302", click_tokens),
        )
    }

    headers_file = workdir / "headers"
    results: dict[str, Any] = {
        "workers_per_server": workers,
        "workdir": str(workdir),
        "header_sets": write_header_sets(headers_file),
    }

    servers, targets = _servers_and_targets()
    try:
        for server in servers:
            start(server, workdir, workers)
        for server in servers:
            wait_ready(server)
        everything = [t for kind in targets for t in targets[kind]]
        for target in everything:  # warm-up: imports, caches, connections
            wrk(target, paths[target.path_prefix], 16, 1, headers_file)
        for server in servers:
            server.rss_before = worker_rss(server)
        runs: dict[str, list[dict[str, Any]]] = {}
        latency_runs: dict[str, list[dict[str, Any]]] = {}
        # (numerator, denominator): ratio -> per-round values, each from two runs
        # made back to back, in ABBA order across rounds, so that a shared
        # machine's drift hits both sides of every ratio alike.
        paired: dict[str, list[float]] = {}
        by_label = {kind: {t.label: t for t in targets[kind]} for kind in targets}
        for round_ in range(rounds):
            for kind in targets:
                pairs = PAIRS[kind]
                shift = round_ % len(pairs)
                for i, (a, b) in enumerate(pairs[shift:] + pairs[:shift]):
                    order = (a, b) if (round_ + i) % 2 == 0 else (b, a)
                    result = {}
                    for label in order:
                        target = by_label[kind][label]
                        result[label] = wrk(
                            target, paths[target.path_prefix], 64, seconds, headers_file
                        )
                        runs.setdefault(f"{kind}: {label}", []).append(result[label])
                    for metric, suffix in (("rps", "rps"), ("p99_us", "p99, 64 conn")):
                        paired.setdefault(f"{kind}: {a} / {b} ({suffix})", []).append(
                            result[a][metric] / result[b][metric]
                        )
                for i, (a, b) in enumerate(LATENCY_PAIRS):
                    order = (a, b) if (round_ + i) % 2 == 0 else (b, a)
                    for label in order:
                        target = by_label[kind][label]
                        latency_runs.setdefault(f"{kind}: {label}", []).append(
                            wrk(target, paths[target.path_prefix], 4, latency_seconds, headers_file)
                        )
            if round_ == 0:  # growth after the first round would be a leak, not warm-up
                for server in servers:
                    server.rss_mid = worker_rss(server)
        for server in servers:
            server.rss_after = worker_rss(server)
    finally:
        for server in servers:
            stop(server)
    results["c64"] = summarise(runs)
    results["c4"] = summarise(latency_runs)
    results["ratios"] = {}
    results["ratio_rounds"] = {}
    for kind in targets:
        r = results["ratios"][kind] = {}
        for key, values in paired.items():
            if key.startswith(f"{kind}: "):
                name = key.split(": ", 1)[1]
                r[name] = statistics.median(values)
                results["ratio_rounds"].setdefault(kind, {})[name] = values
        c64 = results["c64"]
        # Across pairs: the ratio of the two cases' medians over the whole run.
        for a, b in (
            ("fast path", "bare view"),
            ("raw callable", "bare view"),
            ("raw callable", "bare view, no middleware"),
        ):
            r[f"{a} / {b} (rps)"] = c64[f"{kind}: {a}"]["rps"] / c64[f"{kind}: {b}"]["rps"]
    results["memory"] = {server.name: _memory(server) for server in servers}
    return results


def _memory(server: Server) -> dict[str, Any]:
    """A server's worker RSS over the run, and how much it grew."""

    def growth(since: dict[int, int]) -> float:
        after = server.rss_after
        return round(
            max((after[pid] - since.get(pid, 0)) / 2**20 for pid in after) if after else 0.0, 2
        )

    return {
        "workers": len(server.rss_after),
        "rss_before_mib": [round(v / 2**20, 1) for v in server.rss_before.values()],
        "rss_after_round_1_mib": [round(v / 2**20, 1) for v in server.rss_mid.values()],
        "rss_after_mib": [round(v / 2**20, 1) for v in server.rss_after.values()],
        "max_growth_mib": growth(server.rss_before),
        "growth_after_round_1_mib": growth(server.rss_mid),
        "requests": counted(server.counter) if server.app != "raw" else None,
    }
