"""ptrack.store's ingestion rate and the cost of stats(), on SQLite and on PostgreSQL.

    python -m bench.store [--messages 2000] [--events 20000] [--batch 100 500] [--rounds 3]
                          [--workers 1 2] [--db sqlite sqlite-wal postgres]
                          [--json bench/results-store.json]
    python -m bench.store --markdown bench/results-store.json

Each database is fresh: a SQLite file in a temporary directory with Django's defaults (a
rollback journal, synced at every commit), another in WAL mode with ``synchronous=NORMAL``
(``OPTIONS["init_command"]``), and the throwaway PostgreSQL cluster of tests/postgres.py
(left out when its server is not installed). For every round and batch size, a campaign
of ``--messages`` messages is sent into each database and ``--events`` verified events are
made through ptrack's own ``tracking.verify()`` (people's opens and clicks, machine loads),
passed through ``to_dict()`` as a task worker receives them. Then the store's recorder
takes them ``--batch`` at a time, as a worker does with ``PTRACK_BATCH_SIZE``: events per
second, writes and commits included; the events are made before the clock starts. On
PostgreSQL the same is also done by ``--workers`` processes at once, each taking every
n-th batch, as several task workers share a queue (SQLite takes one writer at a time, so
its cases have one). Then
``stats()`` of the campaign is timed (median of 20). The databases take turns within each
round, so that a shared machine's drift hits them alike; the table gives the median round.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import random
import sqlite3
import statistics
import tempfile
import time
from datetime import timedelta
from importlib import metadata
from typing import Any

from bench import report
from bench.machine import machine

BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
SCANNER = "Mozilla/5.0 (compatible; Barracuda Sentinel (EE))"
# The databases, as the table names them.
LABELS = {
    "sqlite": "SQLite, Django's defaults",
    "sqlite-wal": "SQLite, WAL and synchronous=NORMAL",
    "postgres": "PostgreSQL",
}
WAL = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"


class _Router:
    """Sends the store's models to the database being measured."""

    alias = "sqlite"

    def db_for_read(self, model: Any, **hints: Any) -> str | None:
        return _Router.alias if model._meta.app_label == "ptrack_store" else None

    def db_for_write(self, model: Any, **hints: Any) -> str | None:
        return _Router.alias if model._meta.app_label == "ptrack_store" else None

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return True


def _setup(databases: dict[str, dict[str, Any]]) -> None:
    import django
    from django.conf import settings

    settings.configure(
        SECRET_KEY="bench-" + "k" * 50,
        USE_TZ=True,
        INSTALLED_APPS=[
            "django.contrib.admin",
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "django.contrib.messages",
            "ptrack",
            "ptrack.store",
        ],
        DATABASES=databases,
        DATABASE_ROUTERS=[_Router()],  # an instance: `python -m` runs this module as __main__
        ROOT_URLCONF="tests.urls",
        PTRACK_APP_URL="https://track.example.com",
        PTRACK_STORE_BACKGROUND=False,
    )
    django.setup()
    from django.core.management import call_command

    for alias in databases:
        if alias != "default":
            call_command("migrate", database=alias, verbosity=0)


def _token(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def _events(prefix: str, messages: int, events: int, seed: int) -> tuple[list[str], list[Any]]:
    """Message ids and the events of one campaign, made as the endpoint makes them."""
    from django.utils import timezone
    from freezegun import freeze_time

    import ptrack
    from ptrack import tracking
    from ptrack.events import PixelEvent

    sent_at = timezone.now() - timedelta(days=2)
    ids = [f"{prefix}{n:07d}" for n in range(messages)]
    rng = random.Random(seed)
    person = tracking.request_context({"HTTP_USER_AGENT": BROWSER, "REMOTE_ADDR": "203.0.113.9"})
    machine_ = tracking.request_context({"HTTP_USER_AGENT": SCANNER, "REMOTE_ADDR": "192.0.2.1"})
    made = []
    # One frozen clock, moved rather than restarted: starting freezegun costs milliseconds.
    with freeze_time(sent_at) as clock:
        pixels = [_token(ptrack.Pixel("n").url(campaign=prefix, message=i)) for i in ids]
        links = [
            _token(
                ptrack.Pixel("n").link(
                    f"https://example.com/{n % 5}", name=str(n % 5), campaign=prefix, message=i
                )
            )
            for n, i in enumerate(ids)
        ]
        clock.move_to(sent_at + timedelta(hours=1))
        for n in range(events):
            m = rng.randrange(messages)
            roll = rng.random()
            if roll < 0.6:
                event = tracking.verify(pixels[m], person)
            elif roll < 0.8:
                event = tracking.verify_click(links[m], person)[1]
            else:
                event = tracking.verify(pixels[m], machine_)
            assert event is not None
            made.append(
                dataclasses.replace(event, timestamp=event.timestamp + timedelta(seconds=n))
            )
    # As a task worker receives them: through to_dict(), and with real datetimes, not
    # freezegun's, whose every method runs in Python.
    return ids, [PixelEvent.from_dict(event.to_dict()) for event in made]


def _record(events: list[Any], batch: int, worker: int, workers: int) -> None:
    """What one worker records: every ``workers``-th batch, from its ``worker``-th."""
    from ptrack.store.recording import StoreRecorder

    recorder = StoreRecorder()
    for first in range(worker * batch, len(events), workers * batch):
        recorder.record_events(events[first : first + batch])


def _in_processes(events: list[Any], batch: int, workers: int) -> float:
    """Seconds for ``workers`` processes to record ``events`` together, from a common start."""
    import multiprocessing

    from django.db import connections

    # Each process opens its own connections: none may share the parent's socket.
    connections.close_all()
    context = multiprocessing.get_context("fork")
    start = context.Barrier(workers + 1)

    def work(worker: int) -> None:
        start.wait()
        _record(events, batch, worker, workers)
        connections.close_all()

    processes = [context.Process(target=work, args=(w,)) for w in range(workers)]
    for process in processes:
        process.start()
    start.wait()
    began = time.perf_counter()
    for process in processes:
        process.join()
    elapsed = time.perf_counter() - began
    failed = [p.exitcode for p in processes if p.exitcode]
    if failed:
        raise SystemExit(f"A recording process failed (exit codes {failed}).")
    return elapsed


def _measure(
    alias: str, campaign: str, ids: list[str], events: list[Any], batch: int, workers: int
) -> dict[str, Any]:
    from django.utils import timezone

    from ptrack.store import sending, stats

    _Router.alias = alias
    sent_at = timezone.now() - timedelta(days=2)
    sending.record([sending.Sent(campaign, f"sub-{n}", i, sent_at) for n, i in enumerate(ids)])
    if workers == 1:
        began = time.perf_counter()
        _record(events, batch, 0, 1)
        elapsed = time.perf_counter() - began
    else:
        elapsed = _in_processes(events, batch, workers)
    timings = []
    for _ in range(20):
        t = time.perf_counter()
        stats(campaign)
        timings.append(time.perf_counter() - t)
    numbers = stats(campaign, period=None)
    return {
        "events_per_second": len(events) / elapsed,
        "stats_ms": statistics.median(timings) * 1000,
        "counted": [numbers.opens, numbers.clicks, sum(numbers.machine_loads.values())],
    }


def _versions(aliases: list[str]) -> dict[str, Any]:
    from django.db import connections

    found: dict[str, Any] = {"sqlite": sqlite3.sqlite_version}
    if "postgres" in aliases:
        with connections["postgres"].cursor() as cursor:
            cursor.execute("SHOW server_version")
            found["postgresql"] = cursor.fetchone()[0].split()[0]
        found["psycopg"] = metadata.version("psycopg")
    return found


def run(options: argparse.Namespace) -> dict[str, Any]:
    from tests import postgres

    wanted = list(options.db)
    if "postgres" in wanted and not postgres.available():
        print("PostgreSQL's server or psycopg is not installed: measuring SQLite only.")
        wanted.remove("postgres")
    results: dict[str, Any] = {"machine": machine()}
    with tempfile.TemporaryDirectory() as directory:
        databases: dict[str, dict[str, Any]] = {
            "sqlite": {"ENGINE": "django.db.backends.sqlite3", "NAME": f"{directory}/plain"},
            "sqlite-wal": {
                "ENGINE": "django.db.backends.sqlite3",
                "NAME": f"{directory}/wal",
                "OPTIONS": {"init_command": WAL},
            },
        }
        cluster = postgres.running() if "postgres" in wanted else None
        if cluster is not None:
            cluster.__enter__()
            databases["postgres"] = {**postgres.settings(), "NAME": "postgres"}
        try:
            _setup({"default": databases["sqlite"], **{a: databases[a] for a in wanted}})
            cases: dict[tuple[str, int, int], list[dict[str, Any]]] = {
                (alias, batch, workers): []
                for alias in wanted
                for batch in options.batch
                for workers in (options.workers if alias == "postgres" else [1])
            }
            for round_ in range(options.rounds):
                for b, batch in enumerate(options.batch):
                    for alias, batch_, workers in cases:
                        if batch_ != batch:
                            continue
                        prefix = f"r{round_}b{b}w{workers}m"
                        ids, events = _events(prefix, options.messages, options.events, round_)
                        measured = _measure(alias, prefix, ids, events, batch, workers)
                        cases[alias, batch, workers].append(measured)
                        print(
                            f"  round {round_ + 1}, {LABELS[alias]}, batches of {batch}, "
                            f"{workers} worker(s): {measured['events_per_second']:,.0f} events/s, "
                            f"stats() {measured['stats_ms']:.2f} ms"
                        )
            for round_ in range(options.rounds):
                for batch in options.batch:
                    counted = {
                        str(found[round_]["counted"])
                        for (_a, b, _w), found in cases.items()
                        if b == batch
                    }
                    if len(counted) > 1:
                        raise SystemExit(f"The databases counted differently: {counted}")
            results["store"] = {
                "messages": options.messages,
                "events": options.events,
                "rounds": options.rounds,
                "versions": _versions(wanted),
                "cases": [
                    {
                        "database": LABELS[alias],
                        "batch": batch,
                        "workers": workers,
                        "events_per_second": [m["events_per_second"] for m in measured],
                        "stats_ms": [m["stats_ms"] for m in measured],
                        "counted": measured[0]["counted"],
                    }
                    for (alias, batch, workers), measured in cases.items()
                ],
            }
        finally:
            if cluster is not None:
                cluster.__exit__(None, None, None)
    results["machine"]["load_average_at_end"] = os.getloadavg()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--batch", type=int, nargs="+", default=[100, 500])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--workers", type=int, nargs="+", default=[1, 2], help="recording processes (PostgreSQL)"
    )
    parser.add_argument("--db", nargs="+", choices=list(LABELS), default=list(LABELS))
    report.main(parser, run)


if __name__ == "__main__":
    main()
