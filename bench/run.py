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
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.counter import total as counted

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"

ARGS = ("campaign-42",)
KWARGS = {"user_id": 123456, "email": "someone@example.com", "variant": "b"}
CLICK_DESTINATION = "https://www.example.com/pricing?plan=pro&utm_source=newsletter"


# --- the machine -------------------------------------------------------------


def machine() -> dict[str, Any]:
    model = platform.processor() or platform.machine()
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        found = re.search(r"^Model name:\s*(.+)$", lscpu, re.MULTILINE)
        if found:
            model = found.group(1).strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    versions = {}
    for package in (
        "django", "itsdangerous", "gunicorn", "uvicorn", "uvloop", "httptools",
        "django-tasks", "django-tasks-db", "django-tasks-rq", "django-rq", "rq", "redis",
        "django-redis",
    ):  # fmt: skip
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    wrk = shutil.which("wrk")
    if wrk:
        out = subprocess.run([wrk, "--version"], capture_output=True, text=True)
        versions["wrk"] = (out.stdout + out.stderr).split()[1] if out.stdout + out.stderr else "?"
    return {
        "cpu": model,
        "nproc": len(os.sched_getaffinity(0)),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_at_start": os.getloadavg(),
        "versions": versions,
    }


# --- 1. token work -------------------------------------------------------------


def _median_ratio(numerators: list[float], denominators: list[float]) -> float:
    return statistics.median(n / d for n, d in zip(numerators, denominators, strict=True))


def token_bench(rounds: int, seconds: float) -> dict[str, Any]:
    import hashlib

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    django.setup()
    from django.conf import settings
    from django.template import Context, Engine
    from itsdangerous import URLSafeTimedSerializer

    import ptrack
    from bench.classifier import cycling_classify
    from ptrack import encoders, tracking

    plain = URLSafeTimedSerializer(
        settings.SECRET_KEY,
        salt="ptrack.pixel",
        signer_kwargs={"key_derivation": "hmac", "digest_method": hashlib.sha256},
    )
    payload = [list(ARGS), dict(KWARGS)]
    # Many distinct valid tokens, verified in turn by both sides.
    tokens = [encoders.encode(ARGS, {**KWARGS, "user_id": n}) for n in range(1000)]
    assert all(plain.loads(token)[1]["user_id"] == n for n, token in enumerate(tokens))
    plain_tokens = [plain.dumps([list(ARGS), {**KWARGS, "user_id": n}]) for n in range(1000)]
    assert all(
        encoders.decode(token).kwargs["user_id"] == n for n, token in enumerate(plain_tokens)
    )
    pixel = ptrack.Pixel(*ARGS, **KWARGS)

    source = Path(BENCH / "templates" / "email.html").read_text()
    engine = Engine.get_default()
    template = engine.from_string(source)
    without_tag = engine.from_string(
        "\n".join(line for line in source.splitlines() if "{% ptrack " not in line)
    )
    assert "track.example.com/ptrack/" in template.render(Context({"user_id": 1}))
    context = {
        "subject": "This week",
        "first_name": "Sam",
        "site_name": "Example",
        "user_id": 123456,
        "email": "someone@example.com",
        "cta_url": "https://example.com/weekly",
        "unsubscribe_url": "https://example.com/unsubscribe/abc",
        "items": [
            {
                "title": f"Story {n}",
                "url": f"https://example.com/s/{n}",
                "image": f"https://cdn.example.com/{n}.jpg",
                "summary": "A short summary of the story that runs for a few lines. " * 3,
            }
            for n in range(5)
        ],
    }

    def cycling(func: Callable[[str], Any], items: list[str]) -> Callable[[], Any]:
        it: Iterator[str] = itertools.cycle(items)
        return lambda: func(next(it))

    cases: dict[str, Callable[[], Any]] = {
        "itsdangerous dumps": lambda: plain.dumps(payload),
        "ptrack mint token": lambda: encoders.encode(ARGS, KWARGS),
        "ptrack mint URL": pixel.url,
        "itsdangerous loads": cycling(plain.loads, plain_tokens),
        "ptrack verify": cycling(encoders.decode, tokens),
        "ptrack track()": cycling(tracking.track, tokens),
        "ptrack classify()": cycling_classify(),
        "email render, with {% ptrack %}": lambda: template.render(Context(context)),
        "email render, without it": lambda: without_tag.render(Context(context)),
    }
    numbers = {}
    for name, func in cases.items():  # calibrate: about `seconds` per measurement
        n, elapsed = 1, 0.0
        while elapsed < 0.05:
            n *= 2
            elapsed = timeit.timeit(func, number=n)
        numbers[name] = max(1, int(n * seconds / elapsed))
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(rounds):
        for name, func in cases.items():
            times[name].append(timeit.timeit(func, number=numbers[name]) / numbers[name])
    per_second = {name: 1 / statistics.median(values) for name, values in times.items()}
    return {
        "rounds": rounds,
        "median_us": {name: statistics.median(v) * 1e6 for name, v in times.items()},
        "per_second": per_second,
        "ratios": {
            "mint token vs itsdangerous dumps": _median_ratio(
                times["itsdangerous dumps"], times["ptrack mint token"]
            ),
            "mint URL vs itsdangerous dumps": _median_ratio(
                times["itsdangerous dumps"], times["ptrack mint URL"]
            ),
            "verify vs itsdangerous loads": _median_ratio(
                times["itsdangerous loads"], times["ptrack verify"]
            ),
        },
        "token_length": len(encoders.encode(ARGS, KWARGS)),
        "url_length": len(pixel.url()),
        "url_example": pixel.url(),
        "plain_token_length": len(plain.dumps(payload)),
    }


# --- 2. the endpoint -----------------------------------------------------------


@dataclass
class Server:
    kind: str  # gunicorn or uvicorn
    app: str  # django, fast or raw
    middleware: bool
    signals: bool = True  # the WSGI fast path's request_signals
    recorder: str = "count"  # bench/pixels.py's BENCH_RECORDER
    classifier: bool = True  # False: PTRACK_CLASSIFIER answers a constant, for its cost
    env: dict[str, str] = field(default_factory=dict)  # e.g. the task backend's
    port: int = 0
    counter: Path = Path(os.devnull)
    process: subprocess.Popen[bytes] | None = None
    rss_before: dict[int, int] = field(default_factory=dict)
    rss_mid: dict[int, int] = field(default_factory=dict)
    rss_after: dict[int, int] = field(default_factory=dict)

    @property
    def name(self) -> str:
        suffix = "" if self.app == "raw" else ("+mw" if self.middleware else "-mw")
        recorder = "" if self.recorder == "count" else f",{self.recorder}"
        tasks = f"-{self.env['BENCH_TASKS']}" if "BENCH_TASKS" in self.env else ""
        classifier = "" if self.classifier else ",constant-classifier"
        return (
            f"{self.kind}:{self.app}{suffix}{'' if self.signals else ',no-signals'}"
            f"{recorder}{tasks}{classifier}"
        )


@dataclass
class Target:
    label: str  # what the table calls it
    server: Server
    path_prefix: str  # /ptrack/, /bare/, /ptrack/c/ or /bare302/
    records: bool  # whether every 200 must reach the recorder


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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(server: Server, workdir: Path, workers: int) -> None:
    server.port = _free_port()
    server.counter = workdir / f"{server.name.replace(':', '-')}.count"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "BENCH_APP": server.app,
        "BENCH_MIDDLEWARE": "1" if server.middleware else "0",
        "BENCH_COUNTER": str(server.counter),
        "BENCH_SIGNALS": "1" if server.signals else "0",
        "BENCH_RECORDER": server.recorder,
        "BENCH_CLASSIFIER": "1" if server.classifier else "0",
        "PYTHONPATH": str(ROOT),
        **server.env,
    }
    bind = f"127.0.0.1:{server.port}"
    if server.kind == "gunicorn":
        cmd = [
            sys.executable, "-m", "gunicorn", "bench.wsgi:application",
            "--bind", bind, "--workers", str(workers), "--log-level", "warning",
        ]  # fmt: skip
    else:
        cmd = [
            sys.executable, "-m", "uvicorn", "bench.asgi:application",
            "--host", "127.0.0.1", "--port", str(server.port), "--workers", str(workers),
            "--log-level", "warning", "--no-access-log", "--lifespan", "off",
        ]  # fmt: skip
    log = open(workdir / f"{server.name.replace(':', '-')}.log", "wb")  # noqa: SIM115
    server.process = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )


def wait_ready(server: Server, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    url = f"http://127.0.0.1:{server.port}/bare/ready/"
    while True:
        assert server.process is not None
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited; see its log in the work directory.")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{server.name} did not answer on {url} in {timeout}s.")
        time.sleep(0.2)


def stop(server: Server) -> None:
    process = server.process
    if process is None or process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)  # the session started for this server only
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


def worker_rss(server: Server) -> dict[int, int]:
    import psutil

    assert server.process is not None
    parent = psutil.Process(server.process.pid)
    rss = {}
    for child in parent.children(recursive=True):
        try:
            if "resource_tracker" in " ".join(child.cmdline()):
                continue
            rss[child.pid] = child.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return rss


def wrk(
    target: Target,
    paths_file: Path,
    connections: int,
    seconds: int,
    headers_file: Path | None = None,
) -> dict[str, Any]:
    url = f"http://127.0.0.1:{target.server.port}"
    cmd = [
        "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s",
        "-s", str(BENCH / "wrk.lua"), url, "--", str(paths_file),
    ]  # fmt: skip
    if headers_file is not None:
        cmd.append(str(headers_file))
    before = counted(target.server.counter)
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30, check=True)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    errors = sum(result[k] for k in ("connect", "read", "write", "status", "timeout"))
    ok = result["requests"] - result["status"]
    result["errors"] = errors
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    if target.records:
        time.sleep(0.3)  # requests in flight when wrk stopped still reach the recorder
        calls = counted(target.server.counter) - before
        result["recorder_calls"] = calls
        # wrk stops counting with up to `connections` requests still being answered.
        result["lost"] = max(0, ok - calls)
    return result


# Sent with every image request a mail client or browser makes, beside its User-Agent.
IMAGE_REQUEST_HEADERS = {
    "Accept": "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8",
    "Accept-Encoding": "gzip, deflate, br",
    "Accept-Language": "en-US,en;q=0.9",
}


def request_header_sets() -> tuple[list[dict[str, str]], int]:
    """One header set per labelled request shape in tests/data, and how many were skipped.

    Real loads carry a User-Agent and the headers the classifier reads; loads
    without them would leave the classifier nothing to do. Shapes whose headers
    are not printable ASCII are skipped, to keep the load to what every server parses.
    """
    from bench.score_classifier import load_shapes

    sets, skipped = [], 0
    for shape in load_shapes():
        headers = dict(IMAGE_REQUEST_HEADERS)
        if shape.user_agent:
            headers["User-Agent"] = shape.user_agent
        headers.update(shape.headers)
        if all(f"{n}: {v}".isascii() and f"{n}: {v}".isprintable() for n, v in headers.items()):
            sets.append(headers)
        else:
            skipped += 1
    return sets, skipped


def write_header_sets(path: Path) -> dict[str, Any]:
    """Write ``request_header_sets()`` for wrk to cycle, and say what was written.

    Every case, the bare ones too, gets the same sets, so both sides of a ratio
    parse the same headers. The client address stays 127.0.0.1: the network
    lists are searched all the same.
    """
    sets, skipped = request_header_sets()
    path.write_text(
        "".join("".join(f"{n}: {v}\n" for n, v in headers.items()) + "\n" for headers in sets)
    )
    return {
        "count": len(sets),
        "skipped_not_printable_ascii": skipped,
        "distinct_user_agents": len({headers.get("User-Agent", "") for headers in sets}),
    }


def http_bench(
    rounds: int,
    seconds: int,
    latency_seconds: int,
    workers: int,
    tokens: list[str],
    click_tokens: list[str],
) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="ptrack-bench-"))
    paths = {}
    for prefix, name, prefix_tokens in (
        ("/ptrack/", "pixel", tokens),
        ("/bare/", "bare", tokens),
        ("/ptrack/c/", "click", click_tokens),
        ("/bare302/", "bare302", click_tokens),
    ):
        paths[prefix] = workdir / f"{name}.paths"
        paths[prefix].write_text("".join(f"{prefix}{token}/\n" for token in prefix_tokens))

    headers_file = workdir / "headers"
    results: dict[str, Any] = {
        "workers_per_server": workers,
        "workdir": str(workdir),
        "header_sets": write_header_sets(headers_file),
    }

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
    results["c64"] = _summarise(runs)
    results["c4"] = _summarise(latency_runs)
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
    results["memory"] = {
        server.name: {
            "workers": len(server.rss_after),
            "rss_before_mib": [round(v / 2**20, 1) for v in server.rss_before.values()],
            "rss_after_round_1_mib": [round(v / 2**20, 1) for v in server.rss_mid.values()],
            "rss_after_mib": [round(v / 2**20, 1) for v in server.rss_after.values()],
            "max_growth_mib": round(
                max(
                    (server.rss_after[pid] - server.rss_before.get(pid, 0)) / 2**20
                    for pid in server.rss_after
                )
                if server.rss_after
                else 0.0,
                2,
            ),
            "growth_after_round_1_mib": round(
                max(
                    (server.rss_after[pid] - server.rss_mid.get(pid, 0)) / 2**20
                    for pid in server.rss_after
                )
                if server.rss_after
                else 0.0,
                2,
            ),
            "requests": counted(server.counter) if server.app != "raw" else None,
        }
        for server in servers
    }
    return results


def _summarise(runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    summary = {}
    for key, values in runs.items():
        entry: dict[str, Any] = {
            "rps": statistics.median(v["rps"] for v in values),
            "p50_ms": statistics.median(v["p50_us"] for v in values) / 1000,
            "p99_ms": statistics.median(v["p99_us"] for v in values) / 1000,
            "errors": sum(v["errors"] for v in values),
            "requests": sum(v["requests"] for v in values),
            "runs": values,
        }
        if "lost" in values[0]:
            entry["recorder_calls"] = sum(v["recorder_calls"] for v in values)
            entry["lost"] = sum(v["lost"] for v in values)
        summary[key] = entry
    return summary


# --- 3. slow recorders: inline vs background -----------------------------------

SLOW_SECONDS = 0.02  # bench/pixels.py's SlowRecorder, the default of BENCH_SLOW_SECONDS
BACKENDS = {
    "rq": "RQ on Redis",
    "rq-pooled": "RQ on Redis, pooled connection",
    "rq-batched": "RQ on Redis, pooled, PTRACK_BATCH_SIZE=100",
    "db": "django-tasks-db on SQLite",
}
BATCH_SIZE = 100  # PTRACK_BATCH_SIZE of the rq-batched case


def _manage_env(extra: dict[str, str]) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "PYTHONPATH": str(ROOT),
        "BENCH_RECORDER": "background",
        **extra,
    }


def start_redis(workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    """A throwaway redis-server on a free 127.0.0.1 port, without persistence."""
    server_bin = shutil.which("redis-server")
    if server_bin is None:
        raise RuntimeError("redis-server is missing: `apt-get install redis-server` (Debian).")
    port = _free_port()
    log = open(workdir / "redis.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(
        [
            server_bin, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", str(workdir),
        ],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process, port
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start; see {workdir}/redis.log") from None
            time.sleep(0.05)


def _stop_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)  # its own session, started here
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


def task_counts(backend: str, env: dict[str, str]) -> dict[str, int]:
    """Tasks waiting in the queue and tasks that failed, read from the backend's store."""
    if backend.startswith("rq"):
        import redis

        client = redis.Redis(
            host="127.0.0.1", port=int(env["BENCH_REDIS_PORT"]), db=int(env["BENCH_REDIS_DB"])
        )
        try:
            queued = int(client.llen("rq:queue:default"))
            failed = sum(int(client.zcard(key)) for key in client.keys("rq:*failed*default*"))
        finally:
            client.close()
        return {"queued": queued, "failed": failed}
    import sqlite3

    with closing(sqlite3.connect(env["BENCH_DB"], timeout=20)) as db:
        rows = dict(
            db.execute(
                "SELECT status, COUNT(*) FROM django_tasks_database_dbtaskresult GROUP BY status"
            ).fetchall()
        )
    return {"queued": rows.get("READY", 0), "failed": rows.get("FAILED", 0)}


def drain(
    backend: str,
    env: dict[str, str],
    counter: Path,
    workdir: Path,
    slow_seconds: float,
    max_tasks: int | None,
    timeout: float,
    simple: bool = False,
    processes: int = 1,
) -> dict[str, Any]:
    """Run real task workers until each has run ``max_tasks`` tasks or the queue is empty.

    The rate counts from the first recorded event to the last, so the
    workers' start-up is left out of it and reported on its own. ``simple``
    runs RQ's ``SimpleWorker``, which runs jobs in its own process instead of
    forking one per job.
    """
    if backend.startswith("rq"):
        cmd = ["rqworker", "default", "--burst", "--job-class", "django_tasks_rq.backend.Job"]
        if simple:
            cmd += ["--worker-class", "rq.worker.SimpleWorker"]
        if max_tasks:
            cmd += ["--max-jobs", str(max_tasks)]
    else:
        cmd = ["db_worker", "--batch", "--no-startup-delay", "--interval", "0.05"]
        if max_tasks:
            cmd += ["--max-tasks", str(max_tasks)]
    extra = {**env, "BENCH_COUNTER": str(counter), "BENCH_SLOW_SECONDS": str(slow_seconds)}
    log = open(workdir / f"worker-{backend}-{slow_seconds}.log", "ab")  # noqa: SIM115
    before = counted(counter)
    launched = time.monotonic()
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "django", *cmd],
            cwd=ROOT,
            env=_manage_env(extra),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        for _ in range(processes)
    ]
    first: tuple[float, int] | None = None
    last: tuple[float, int] | None = None
    size, timed_out = before, False
    try:
        while True:
            finished = all(worker.poll() is not None for worker in workers)
            now, new_size = time.monotonic(), counted(counter)
            if new_size > size:
                first = first or (now, new_size)
                last = (now, new_size)
                size = new_size
            if finished:
                break
            if now - launched > timeout:
                timed_out = True
                break
            time.sleep(0.01)
    finally:
        for worker in workers:
            _stop_process(worker)
    events = counted(counter) - before
    rate = None
    if first and last and last[0] > first[0]:
        rate = (last[1] - first[1]) / (last[0] - first[0])
    return {
        "command": f"manage.py {' '.join(cmd)}",
        "processes": processes,
        "recorder_seconds": slow_seconds,
        "events": events,
        "per_second": rate,
        "startup_s": None if first is None else first[0] - launched,
        "seconds": time.monotonic() - launched,
        "timed_out": timed_out,
        "returncodes": [worker.returncode for worker in workers],
    }


def background_bench(
    rounds: int,
    seconds: int,
    latency_seconds: int,
    workers: int,
    tokens: list[str],
    backends: list[str],
    drain_sample: int,
    drain_timeout: float,
) -> dict[str, Any]:
    """A 20 ms recorder inline and in the background, beside the bare view; then the drain."""
    workdir = Path(tempfile.mkdtemp(prefix="ptrack-bench-background-"))
    pixel_paths = workdir / "pixel.paths"
    bare_paths = workdir / "bare.paths"
    pixel_paths.write_text("".join(f"/ptrack/{token}/\n" for token in tokens))
    bare_paths.write_text("".join(f"/bare/{token}/\n" for token in tokens))
    paths = {"/ptrack/": pixel_paths, "/bare/": bare_paths}

    results: dict[str, Any] = {
        "workers_per_server": workers,
        "recorder_seconds": SLOW_SECONDS,
        "connections": 64,
        "seconds_per_run": seconds,
        "seconds_per_latency_run": latency_seconds,
        "rounds": rounds,
        "workdir": str(workdir),
    }
    redis: subprocess.Popen[bytes] | None = None
    servers: list[Server] = []
    try:
        task_env: dict[str, dict[str, str]] = {}
        rq_backends = [b for b in backends if b.startswith("rq")]
        if rq_backends:  # one server, a database each: their queues stay apart
            redis, redis_port = start_redis(workdir)
            for number, backend in enumerate(rq_backends):
                task_env[backend] = {
                    "BENCH_TASKS": backend.replace("-batched", "-pooled"),
                    "BENCH_REDIS_PORT": str(redis_port),
                    "BENCH_REDIS_DB": str(number),
                }
                if backend.endswith("-batched"):
                    task_env[backend]["BENCH_BATCH_SIZE"] = str(BATCH_SIZE)
            results["redis"] = (
                subprocess.run(["redis-server", "--version"], capture_output=True, text=True)
                .stdout.split()[2]
                .removeprefix("v=")
            )
        if "db" in backends:
            task_env["db"] = {"BENCH_TASKS": "db", "BENCH_DB": str(workdir / "tasks.sqlite3")}
            subprocess.run(
                [sys.executable, "-m", "django", "migrate", "--verbosity", "0"],
                cwd=ROOT,
                env=_manage_env(task_env["db"]),
                check=True,
            )
        bare = Server("gunicorn", "django", True, recorder="none")
        inline = Server("gunicorn", "django", True, recorder="slow")
        queued = {
            b: Server("gunicorn", "django", True, recorder="background", env=task_env[b])
            for b in backends
        }
        labels = {b: f"background, {BACKENDS[b]}" for b in backends}
        targets = [
            Target("bare view", bare, "/bare/", False),
            Target("inline recorder", inline, "/ptrack/", True),
            *(Target(labels[b], queued[b], "/ptrack/", False) for b in backends),
        ]
        servers = [bare, inline, *queued.values()]
        for server in servers:
            start(server, workdir, workers)
        for server in servers:
            wait_ready(server)

        # Every successful pixel response of a background server must become one event.
        answered = dict.fromkeys(backends, 0)

        def load(target: Target, connections: int, duration: int) -> dict[str, Any]:
            result = wrk(target, paths[target.path_prefix], connections, duration)
            for backend, server in queued.items():
                if target.server is server:
                    answered[backend] += result["requests"] - result["status"]
            return result

        for target in targets:  # warm-up: imports, caches, connections to Redis/SQLite
            load(target, 16, 1)
        runs: dict[str, list[dict[str, Any]]] = {}
        latency_runs: dict[str, list[dict[str, Any]]] = {}
        # Each case runs back to back with the bare view, in ABBA order across
        # rounds, so that a shared machine's drift hits both sides of its ratios.
        paired: dict[str, list[float]] = {}
        bare_target, cases = targets[0], targets[1:]
        for round_ in range(rounds):
            shift = round_ % len(cases)
            for i, target in enumerate(cases[shift:] + cases[:shift]):
                pair = [target, bare_target]
                if (round_ + i) % 2:
                    pair.reverse()
                result = {}
                for t in pair:
                    result[t.label] = load(t, 64, seconds)
                    runs.setdefault(t.label, []).append(result[t.label])
                for metric, name in (("rps", "req/s"), ("p99_us", "p99")):
                    paired.setdefault(f"{target.label} / bare view ({name})", []).append(
                        result[target.label][metric] / result[bare_target.label][metric]
                    )
            order = targets[shift:] + targets[:shift]
            for target in order:  # unsaturated: what one load waits for
                latency_runs.setdefault(target.label, []).append(load(target, 4, latency_seconds))
        time.sleep(0.5)  # requests still in flight when wrk stopped reach the queue
    finally:
        for server in servers:
            stop(server)

    try:
        results["endpoint"] = _summarise(runs)
        results["endpoint_c4"] = _summarise(latency_runs)
        results["ratios"] = {key: statistics.median(values) for key, values in paired.items()}
        results["ratio_rounds"] = paired
        results["drain"] = {}
        for backend in backends:
            env = task_env[backend]
            counts = task_counts(backend, env)
            counter = workdir / f"worker-{backend}.count"
            # The worker command the docs give, one process: with the 20 ms
            # recorder, then with its sleep off (the framework's own cost per
            # event), a sample each. Then, to check that every event arrives in
            # bounded time, one worker per CPU empties the queue, for RQ with
            # SimpleWorker, which does not fork per job (the default's cost).
            sample = max(1, min(drain_sample, counts["queued"] // 3))
            if backend.endswith("-batched"):
                # A task carries up to 100 events: only the emptying, with the sleep off.
                phases = {
                    "until_empty": drain(
                        backend, env, counter, workdir, 0.0, None, drain_timeout,
                        simple=True, processes=os.cpu_count() or 2,
                    ),
                }  # fmt: skip
            else:
                phases = {
                    "with_recorder": drain(
                        backend, env, counter, workdir, SLOW_SECONDS, sample, drain_timeout
                    ),
                    "without_sleep": drain(
                        backend, env, counter, workdir, 0.0, sample, drain_timeout
                    ),
                    "until_empty": drain(
                        backend, env, counter, workdir, 0.0, None, drain_timeout,
                        simple=backend.startswith("rq"), processes=os.cpu_count() or 2,
                    ),
                }  # fmt: skip
            after = task_counts(backend, env)
            recorded = counted(counter)
            ran_inline = counted(queued[backend].counter)  # enqueue failed: ran in the view
            # A batched task carries many events: count events, not tasks, as the
            # worker recorded them; every successful response must be among them.
            events = recorded if backend.endswith("-batched") else counts["queued"]
            results["drain"][backend] = {
                "label": labels[backend],
                "pixel_responses": answered[backend],
                "tasks_enqueued": counts["queued"],
                "enqueued": events,
                "ran_inline": ran_inline,
                "recorded": recorded,
                "left_in_queue": after["queued"],
                "failed": after["failed"],
                # An event lost is one enqueued and never recorded, or a successful
                # response whose event was neither enqueued nor recorded inline.
                "lost": max(0, events - recorded) + max(0, answered[backend] - events - ran_inline),
                "duplicated": max(0, recorded - events),
                "answered_after_wrk_stopped": events + ran_inline - answered[backend],
                **phases,
            }
        # After the accounting: these loads stay in the queues, which are thrown away.
        results["track_us"] = {}
        for name, extra in {"inline counting recorder": {"BENCH_RECORDER": "count"}}.items():
            results["track_us"][name] = _track_cost(extra)
        for backend in backends:
            results["track_us"][labels[backend]] = _track_cost(task_env[backend])
    finally:
        if redis is not None:
            _stop_process(redis)
    return results


def _track_cost(extra: dict[str, str]) -> float:
    """Microseconds per ``track()`` in process, from ``bench/enqueue.py``."""
    out = subprocess.run(
        [sys.executable, "-m", "bench.enqueue", "200"],
        cwd=ROOT,
        env={**_manage_env(extra), "BENCH_COUNTER": os.devnull},
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return float(json.loads(out.stdout.strip().splitlines()[-1])["us_per_call"])


# --- report ----------------------------------------------------------------------


def background_report(b: dict[str, Any]) -> list[str]:
    lines = [
        "",
        f"Slow recorder ({b['recorder_seconds'] * 1000:.0f} ms), gunicorn, "
        f"{b['workers_per_server']} workers per server, {b['connections']} connections "
        f"(medians of {b['rounds']} alternating runs of {b['seconds_per_run']} s)",
        f"| {'case':<38} | {'req/s':>8} | {'p50 ms':>7} | {'p99 ms':>7} | {'errors':>6} |",
        f"|{'-' * 40}|{'-' * 9}:|{'-' * 8}:|{'-' * 8}:|{'-' * 7}:|",
    ]
    for name, e in sorted(b["endpoint"].items(), key=lambda item: item[0] != "bare view"):
        lines.append(
            f"| {name:<38} | {e['rps']:>8,.0f} | {e['p50_ms']:>7.2f} | "
            f"{e['p99_ms']:>7.2f} | {e['errors']:>6} |"
        )
    lines.append("")
    lines.append(f"The same at 4 connections ({b['seconds_per_latency_run']} s runs)")
    for name, e in b["endpoint_c4"].items():
        lines.append(
            f"| {name:<38} | {e['rps']:>8,.0f} | {e['p50_ms']:>7.2f} | "
            f"{e['p99_ms']:>7.2f} | {e['errors']:>6} |"
        )
    lines.append("")
    for name, value in b["ratios"].items():
        lines.append(f"{name} = {value:.3f}")
    lines.append("")
    for name, us in b.get("track_us", {}).items():
        lines.append(f"track() in process, {name}: {us:,.0f} µs per pixel load")
    for d in b["drain"].values():
        lines.append("")
        lines.append(
            f"{d['label']}: {d['pixel_responses']:,} pixel responses (wrk), "
            f"{d['enqueued']:,} enqueued ({d.get('tasks_enqueued', d['enqueued']):,} tasks), "
            f"{d['ran_inline']} ran inline, "
            f"{d['recorded']:,} recorded by the worker, {d['left_in_queue']} left, "
            f"{d['failed']} failed, {d['lost']} lost, {d['duplicated']} duplicated"
        )
        for key in ("with_recorder", "without_sleep", "until_empty"):
            if key not in d:
                continue
            w = d[key]
            rate = "-" if w["per_second"] is None else f"{w['per_second']:,.1f}"
            lines.append(
                f"  {w['processes']} worker(s), recorder sleeping "
                f"{w['recorder_seconds'] * 1000:.0f} ms: "
                f"{w['events']:,} events at {rate}/s (start-up {w['startup_s'] or 0:.1f} s"
                f"{', TIMED OUT' if w['timed_out'] else ''}): {w['command']}"
            )
    return lines


def report(results: dict[str, Any]) -> str:
    lines = []
    m = results["machine"]
    lines.append(
        f"Machine: {m['cpu']}, {m['nproc']} CPUs, {m['memory_gib']} GiB, Python {m['python']}, "
        f"Django {m['versions']['django']}, itsdangerous {m['versions']['itsdangerous']}"
    )
    t = results.get("tokens")
    if t:
        lines.append("")
        lines.append(f"Token work, in process (median of {t['rounds']} alternating rounds)")
        lines.append(f"| {'case':<34} | {'per second':>11} | {'median µs':>9} |")
        lines.append(f"|{'-' * 36}|{'-' * 13}:|{'-' * 10}:|")
        for name, value in t["per_second"].items():
            lines.append(f"| {name:<34} | {value:>11,.0f} | {t['median_us'][name]:>9.1f} |")
        for name, value in t["ratios"].items():
            lines.append(f"{name}: {value:.2f}x")
        lines.append(
            f"token length {t['token_length']} (plain itsdangerous {t['plain_token_length']}), "
            f"URL length {t['url_length']}"
        )
    h = results.get("http")
    if h:
        for conns, key in ((64, "c64"), (4, "c4")):
            lines.append("")
            lines.append(
                f"Endpoint, {conns} connections, {h['workers_per_server']} workers per server "
                f"(medians of alternating runs)"
            )
            lines.append(
                f"| {'server: case':<38} | {'req/s':>8} | {'p50 ms':>7} | {'p99 ms':>7} "
                f"| {'errors':>6} | {'recorded / lost':>17} |"
            )
            lines.append(f"|{'-' * 40}|{'-' * 9}:|{'-' * 8}:|{'-' * 8}:|{'-' * 7}:|{'-' * 18}:|")
            for name, e in h[key].items():
                rec = f"{e['recorder_calls']} / {e['lost']}" if "lost" in e else "-"
                lines.append(
                    f"| {name:<38} | {e['rps']:>8,.0f} | {e['p50_ms']:>7.2f} | "
                    f"{e['p99_ms']:>7.2f} | {e['errors']:>6} | {rec:>17} |"
                )
        lines.append("")
        for kind, ratios in h["ratios"].items():
            for name, value in ratios.items():
                lines.append(f"{kind}: {name} = {value:.3f}")
        lines.append("")
        for name, mem in h["memory"].items():
            lines.append(
                f"{name}: worker RSS {mem['rss_before_mib']} -> {mem['rss_after_round_1_mib']} "
                f"-> {mem['rss_after_mib']} MiB (growth {mem['max_growth_mib']} MiB, "
                f"{mem['growth_after_round_1_mib']} after round 1; "
                f"{mem['requests'] or 0:,} recorded)"
            )
    if results.get("background"):
        lines += background_report(results["background"])
    return "\n".join(lines)


def background_markdown(b: dict[str, Any], versions: dict[str, Any]) -> list[str]:
    """The slow-recorder tables of docs/performance.md, from a ``--background`` results JSON."""
    ms = b["recorder_seconds"] * 1000
    packages = ("django-tasks", "django-tasks-db", "django-tasks-rq", "django-rq", "rq", "redis")
    out = [
        "",
        "Task backends: "
        + ", ".join(f"{name} {versions.get(name)}" for name in packages)
        + f" (redis-py), redis-server {b.get('redis')}.",
        "",
        f"| Endpoint, {ms:.0f} ms recorder | req/s, {b['connections']} connections | p50 ms "
        "| p99 ms | req/s / bare | p99 / bare | p50 ms, 4 connections | p99 ms |",
        "|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    # The bare view first, then the cases in the order they were set up.
    for label, e in sorted(b["endpoint"].items(), key=lambda item: item[0] != "bare view"):
        rps = b["ratios"].get(f"{label} / bare view (req/s)", 1.0)
        p99 = b["ratios"].get(f"{label} / bare view (p99)", 1.0)
        c4 = b["endpoint_c4"][label]
        out.append(
            f"| {label} | {e['rps']:,.0f} | {e['p50_ms']:.1f} | {e['p99_ms']:.1f} "
            f"| {rps:.2f} | {p99:.2f} | {c4['p50_ms']:.1f} | {c4['p99_ms']:.1f} |"
        )
    tables = (b["endpoint"], b["endpoint_c4"])
    errors = sum(e["errors"] for table in tables for e in table.values())
    requests = sum(e["requests"] for table in tables for e in table.values())
    out.append("")
    out.append(
        f"gunicorn with {b['workers_per_server']} sync workers per server, "
        f"{b['rounds']} rounds of {b['seconds_per_run']} s runs, each case back to back with "
        f"the bare view in ABBA order ({b['seconds_per_latency_run']} s at 4 connections); "
        f"{requests:,} requests, {errors} errors. Ratios are medians of per-round ratios"
        + (
            ", req/s lowest to highest round: "
            + "; ".join(
                f"{key.split(' / ')[0]} {min(v):.2f} to {max(v):.2f}"
                for key, v in b["ratio_rounds"].items()
                if key.endswith("(req/s)")
            )
            if b.get("ratio_rounds")
            else ""
        )
        + "."
    )
    if b.get("track_us"):
        out.append("")
        out.append("| `ptrack.tracking.track()` in process, one recorder | µs per pixel load |")
        out.append("|---|--:|")
        for name, us in b["track_us"].items():
            out.append(f"| {name} | {us:,.0f} |")
    out.append("")
    cleanup = next(iter(b["drain"].values()))["until_empty"]["processes"]
    out.append(
        f"| Task workers, events/s (events) | one, {ms:.0f} ms recorder | one, no sleep "
        f"| {cleanup}, no sleep, until empty | pixel responses | enqueued | recorded | lost |"
    )
    out.append("|---|--:|--:|--:|--:|--:|--:|--:|")
    for d in b["drain"].values():
        rates = [
            "-"
            if w is None or w["per_second"] is None
            else f"{w['per_second']:,.0f} ({w['events']:,})"
            for w in (d.get("with_recorder"), d.get("without_sleep"), d["until_empty"])
        ]
        out.append(
            f"| {d['label']} | {' | '.join(rates)} | {d['pixel_responses']:,} "
            f"| {d['enqueued'] + d['ran_inline']:,} | {d['recorded'] + d['ran_inline']:,} "
            f"| {d['lost']} |"
        )
    return out


def markdown(results: dict[str, Any]) -> str:
    """The tables of docs/performance.md, from a results JSON."""
    out = []
    m = results["machine"]
    v = m["versions"]
    out.append(
        f"Measured on {m['cpu']} ({m['nproc']} CPUs, {m['memory_gib']} GiB), "
        f"{m['platform']}, Python {m['python']}, Django {v['django']}, "
        f"itsdangerous {v['itsdangerous']}, gunicorn {v['gunicorn']}, uvicorn {v['uvicorn']} "
        f"(uvloop {v['uvloop']}, httptools {v['httptools']}), wrk {v.get('wrk')}; "
        f"load average {m['load_average_at_start'][0]:.1f} at the start and "
        f"{m['load_average_at_end'][0]:.1f} at the end (a shared machine)."
    )
    if "background" in results:  # a --background run: that scenario only
        return "\n".join(out + background_markdown(results["background"], v))
    t = results["tokens"]
    ps, us, r = t["per_second"], t["median_us"], t["ratios"]
    rows = [
        ("Mint a token: `ptrack.encoders.encode()`", "ptrack mint token",
         f"**{r['mint token vs itsdangerous dumps']:.2f}x**"),
        ("Mint a URL: `ptrack.Pixel(...).url()`", "ptrack mint URL",
         f"{r['mint URL vs itsdangerous dumps']:.2f}x"),
        ("plain itsdangerous `dumps()`", "itsdangerous dumps", "1x"),
        ("Verify a token: `ptrack.encoders.decode()`", "ptrack verify",
         f"**{r['verify vs itsdangerous loads']:.2f}x**"),
        ("plain itsdangerous `loads()`", "itsdangerous loads", "1x"),
        ("`ptrack.tracking.track()`: verify, event, one recorder", "ptrack track()", ""),
        ("`ptrack.classify()`, cycling the labelled request shapes", "ptrack classify()", ""),
        ("Render a 5-story email with `{% ptrack %}`", "email render, with {% ptrack %}", ""),
        ("The same email without the tag", "email render, without it", ""),
    ]  # fmt: skip
    out.append("")
    out.append("| Token work, in process | per second | µs, median | vs itsdangerous |")
    out.append("|---|--:|--:|--:|")
    for label, key, ratio in rows:
        out.append(f"| {label} | {ps[key]:,.0f} | {us[key]:.1f} | {ratio} |")
    out.append("")
    out.append(
        f"Token {t['token_length']} characters (plain itsdangerous: {t['plain_token_length']}), "
        f"URL {t['url_length']} characters, for `'campaign-42', user_id=123456, "
        f"email='someone@example.com', variant='b'`."
    )
    h = results.get("http")
    if not h:
        return "\n".join(out)
    out.append("")
    out.append(
        "| Endpoint, 64 connections | gunicorn req/s | p50 ms | p99 ms "
        "| uvicorn req/s | p50 ms | p99 ms |"
    )
    out.append("|---|--:|--:|--:|--:|--:|--:|")
    labels = list(dict.fromkeys(k.split(": ", 1)[1] for k in h["c64"]))
    for label in labels:
        cells = []
        for kind in ("gunicorn", "uvicorn"):
            e = h["c64"].get(f"{kind}: {label}")
            cells += (
                [f"{e['rps']:,.0f}", f"{e['p50_ms']:.1f}", f"{e['p99_ms']:.1f}"]
                if e
                else ["", "", ""]
            )
        out.append(f"| {label} | " + " | ".join(cells) + " |")
    out.append("")
    out.append("| Endpoint, 4 connections | gunicorn p50 ms | p99 ms | uvicorn p50 ms | p99 ms |")
    out.append("|---|--:|--:|--:|--:|")
    for label in [k.split(": ", 1)[1] for k in h["c4"] if k.startswith("gunicorn: ")]:
        g, u = h["c4"][f"gunicorn: {label}"], h["c4"][f"uvicorn: {label}"]
        out.append(
            f"| {label} | {g['p50_ms']:.2f} | {g['p99_ms']:.2f} | "
            f"{u['p50_ms']:.2f} | {u['p99_ms']:.2f} |"
        )
    errors = sum(e["errors"] for table in ("c64", "c4") for e in h[table].values())
    requests = sum(e["requests"] for table in ("c64", "c4") for e in h[table].values())
    recorded = sum(e.get("recorder_calls", 0) for table in ("c64", "c4") for e in h[table].values())
    lost = sum(e.get("lost", 0) for table in ("c64", "c4") for e in h[table].values())
    out.append("")
    out.append(
        f"{requests:,} requests, {errors} errors; {recorded:,} recorder calls for the pixel "
        f"runs, {lost} successful pixel responses without one."
    )
    out.append("")
    out.append(
        "| Ratio: median over rounds (lowest to highest round) | target | gunicorn | uvicorn |"
    )
    out.append("|---|--:|--:|--:|")
    targets = [
        ("view / bare view, req/s", "view / bare view (rps)", "≥ 0.95"),
        (
            "view / bare view, req/s, no middleware",
            "view, no middleware / bare view, no middleware (rps)",
            "",
        ),
        ("view / bare view, p99 at 64 connections", "view / bare view (p99, 64 conn)", "≤ 1.10"),
        ("fast path / raw callable, req/s", "fast path / raw callable (rps)", "≥ 0.9"),
        (
            "fast path without request signals / raw callable, req/s",
            "fast path, no request signals / raw callable (rps)",
            "",
        ),
        (
            "fast path with an async recorder / raw callable, req/s",
            "fast path, async recorder / raw callable (rps)",
            "",
        ),
        (
            "view / the same view with a constant classifier, req/s",
            "view / view, constant classifier (rps)",
            "",
        ),
        (
            "fast path / the same fast path with a constant classifier, req/s",
            "fast path / fast path, constant classifier (rps)",
            "",
        ),
        ("fast path / bare view, req/s", "fast path / bare view (rps)", ""),
        ("raw callable / bare view, req/s", "raw callable / bare view (rps)", ""),
        (
            "raw callable / bare view, no middleware, req/s",
            "raw callable / bare view, no middleware (rps)",
            "",
        ),
    ]

    def cell(kind: str, key: str) -> str:
        value = h["ratios"][kind].get(key)
        if value is None:
            return ""
        spread = h.get("ratio_rounds", {}).get(kind, {}).get(key)
        return f"{value:.2f} ({min(spread):.2f} to {max(spread):.2f})" if spread else f"{value:.2f}"

    for label, key, target in targets:
        out.append(f"| {label} | {target} | {cell('gunicorn', key)} | {cell('uvicorn', key)} |")
    out.append("")
    out.append("| Worker RSS, MiB | after warm-up | after round 1 | at the end |")
    out.append("|---|--:|--:|--:|")
    for name, mem in h["memory"].items():
        out.append(
            f"| {name} | {', '.join(map(str, mem['rss_before_mib']))} | "
            f"{', '.join(map(str, mem['rss_after_round_1_mib']))} | "
            f"{', '.join(map(str, mem['rss_after_mib']))} |"
        )
    return "\n".join(out)


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
        print(markdown(json.loads(options.markdown.read_text())))
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
        from ptrack import encoders

        tokens = [encoders.encode(ARGS, {**KWARGS, "user_id": n}) for n in range(2000)]
        results["background"] = background_bench(
            options.rounds or 4, options.duration or 2, options.latency_duration or 1,
            options.workers,
            tokens, backends, options.drain_sample, options.drain_timeout,
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
        from ptrack import clicks, encoders

        tokens = [encoders.encode(ARGS, {**KWARGS, "user_id": n}) for n in range(2000)]
        # What Pixel(*ARGS, **KWARGS).link(CLICK_DESTINATION) signs, for each user.
        click_tokens = [
            encoders.encode(clicks.click_args(CLICK_DESTINATION, ARGS), {**KWARGS, "user_id": n})
            for n in range(2000)
        ]
        results["http"] = http_bench(
            options.rounds or 6,
            options.duration or 2,
            options.latency_duration or 2,
            options.workers,
            tokens,
            click_tokens,
        )
    results["machine"]["load_average_at_end"] = os.getloadavg()
    options.json.write_text(json.dumps(results, indent=2) + "\n")
    print(report(results))
    print(f"\nWrote {options.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
