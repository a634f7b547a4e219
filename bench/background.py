"""Slow recorders: a 20 ms recorder inline and in the background, then the task workers' drain.

RQ runs on a redis-server started on a free loopback port (django-rq's default
connection, a pooled one, and a pooled one with batches), django-tasks-db on
SQLite; every successful pixel response is counted against the events enqueued
and those against the events the workers record.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path
from typing import Any

from bench.counter import total as counted
from bench.load import Target, summarise, write_paths, wrk
from bench.servers import (
    ROOT,
    Server,
    redis_version,
    start,
    start_redis,
    stop,
    stop_process,
    wait_ready,
)

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
            stop_process(worker)
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
    paths = {
        "/ptrack/": write_paths(workdir / "pixel.paths", "/ptrack/", tokens),
        "/bare/": write_paths(workdir / "bare.paths", "/bare/", tokens),
    }

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
            results["redis"] = redis_version()
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
        results["endpoint"] = summarise(runs)
        results["endpoint_c4"] = summarise(latency_runs)
        results["ratios"] = {key: statistics.median(values) for key, values in paired.items()}
        results["ratio_rounds"] = paired
        results["drain"] = {}
        for backend in backends:
            results["drain"][backend] = _drain_backend(
                backend,
                task_env[backend],
                workdir,
                labels[backend],
                answered[backend],
                queued[backend].counter,
                drain_sample,
                drain_timeout,
            )
        # After the accounting: these loads stay in the queues, which are thrown away.
        results["track_us"] = {}
        for name, extra in {"inline counting recorder": {"BENCH_RECORDER": "count"}}.items():
            results["track_us"][name] = _track_cost(extra)
        for backend in backends:
            results["track_us"][labels[backend]] = _track_cost(task_env[backend])
    finally:
        if redis is not None:
            stop_process(redis)
    return results


def _drain_backend(
    backend: str,
    env: dict[str, str],
    workdir: Path,
    label: str,
    answered: int,
    inline_counter: Path,
    drain_sample: int,
    drain_timeout: float,
) -> dict[str, Any]:
    """Drain one backend's queue with real workers and account for every event."""
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
            "without_sleep": drain(backend, env, counter, workdir, 0.0, sample, drain_timeout),
            "until_empty": drain(
                backend, env, counter, workdir, 0.0, None, drain_timeout,
                simple=backend.startswith("rq"), processes=os.cpu_count() or 2,
            ),
        }  # fmt: skip
    after = task_counts(backend, env)
    recorded = counted(counter)
    ran_inline = counted(inline_counter)  # enqueue failed: ran in the view
    # A batched task carries many events: count events, not tasks, as the
    # worker recorded them; every successful response must be among them.
    events = recorded if backend.endswith("-batched") else counts["queued"]
    return {
        "label": label,
        "pixel_responses": answered,
        "tasks_enqueued": counts["queued"],
        "enqueued": events,
        "ran_inline": ran_inline,
        "recorded": recorded,
        "left_in_queue": after["queued"],
        "failed": after["failed"],
        # An event lost is one enqueued and never recorded, or a successful
        # response whose event was neither enqueued nor recorded inline.
        "lost": max(0, events - recorded) + max(0, answered - events - ran_inline),
        "duplicated": max(0, recorded - events),
        "answered_after_wrk_stopped": events + ran_inline - answered,
        **phases,
    }


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
