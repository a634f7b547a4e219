"""ptrack.store at the size of a large campaign, on PostgreSQL: stats(), the admin's pages,
and a purge while the recorder records.

    python -m bench.store_scale [--messages 1000000] [--events 3000000] [--repeat 15]
                                [--purge-hours 1] [--json bench/results-store-scale.json]
    python -m bench.store_scale --messages 20000 --events 60000   # a quick try
    python -m bench.store_scale --markdown bench/results-store-scale.json

On the throwaway PostgreSQL cluster of tests/postgres.py, migrated:

1. A sample campaign is recorded through the real recorder (bench/store.py's events, a batch
   of 500 at a time) and bench/store_data.py's derivation of counters from rows is checked
   against what the recorder wrote; then the large campaign is made by SQL and its counters
   derived from its rows by that same derivation (see bench/store_data.py).
2. ``ptrack.store.stats()`` of the large campaign, by day and by hour: median and range of
   ``--repeat`` calls, and the queries of one.
3. The admin's pages, through Django's test client as a superuser: the campaign list, the
   campaign page (by day and by hour), its messages (the first page and a later one), the
   page of its most loaded message, and the first rows of its CSV export; median and range
   of ``--repeat`` requests after one to warm up, and the queries of one.
4. A recording worker (another process, as a task worker is) records batches of 100 through
   ``ptrack.store.recording.ingest``, 20 a second: 80 people's loads and clicks of a live
   campaign and 20 security scanners' loads of the large campaign's old messages, the ones
   being purged. After ``--baseline`` seconds alone, ``ptrack.store.purge()`` removes every
   row sent or recorded before ``--purge-hours`` after the large campaign's first message.
   Each batch's time is kept; the table gives them alone and during the purge. PostgreSQL
   logs each of the worker's lock waits over 10 ms with how long it lasted, added up per
   batch; the purge's transactions that lock messages are timed from their locks to their
   commit, what a batch naming one of those messages waits for at most. Then the
   large campaign's totals must be what they were plus the scanners' loads, the live
   campaign's counters must agree with its rows, and no row past retention must be left.
"""

from __future__ import annotations

import argparse
import bisect
import dataclasses
import multiprocessing
import os
import random
import re
import statistics
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from importlib import metadata
from typing import Any

from django.core.paginator import Paginator

from bench import report
from bench.machine import machine

SCANNER = "Mozilla/5.0 (compatible; Barracuda Sentinel (EE))"
T0 = datetime(2025, 6, 2, 8, 0, tzinfo=timezone.utc)  # the large campaign's first message
BATCH = 100
BATCHES_PER_SECOND = 20
OLD_PER_BATCH = 20
LOGGED_WAIT_MS = 10
# A line of PostgreSQL's log (log_line_prefix '%m [%p] ') saying a lock wait ended.
_ACQUIRED = re.compile(
    r"^(?P<at>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+) (?P<zone>\w+) .*"
    r"process (?P<pid>\d+) acquired (?P<lock>\w+ on \w+) .* after (?P<ms>[\d.]+) ms"
)


class _LockedFor:
    """Times the purge's transactions that lock messages, from the end of their ``FOR
    UPDATE`` (the messages locked) to their commit: what a recorder naming one of those
    messages may wait for. Counts those that waited for a recorder (no ``SKIP LOCKED``)."""

    def __init__(self) -> None:
        self.seconds: list[float] = []
        self.waiting = 0

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if "FOR UPDATE" not in sql:
            return execute(sql, params, many, context)
        from django.db import transaction

        self.waiting += "SKIP LOCKED" not in sql
        result = execute(sql, params, many, context)
        start = time.monotonic()
        transaction.on_commit(lambda: self.seconds.append(time.monotonic() - start))
        return result


def _setup(database: dict[str, Any]) -> None:
    import django
    from django.conf import settings

    settings.configure(
        SECRET_KEY="bench-" + "k" * 50,
        USE_TZ=True,
        DEBUG=False,
        ALLOWED_HOSTS=["testserver"],
        INSTALLED_APPS=[
            "django.contrib.admin",
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "django.contrib.messages",
            "ptrack",
            "ptrack.store",
        ],
        MIDDLEWARE=[
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.common.CommonMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
            "django.contrib.messages.middleware.MessageMiddleware",
        ],
        TEMPLATES=[
            {
                "BACKEND": "django.template.backends.django.DjangoTemplates",
                "APP_DIRS": True,
                "OPTIONS": {
                    "context_processors": [
                        "django.template.context_processors.request",
                        "django.contrib.auth.context_processors.auth",
                        "django.contrib.messages.context_processors.messages",
                    ]
                },
            }
        ],
        DATABASES={"default": database},
        ROOT_URLCONF="tests.urls",
        STATIC_URL="static/",
        PTRACK_APP_URL="https://track.example.com",
        PTRACK_STORE_BACKGROUND=False,
        TIME_ZONE="UTC",
    )
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _spread(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "low": min(values), "high": max(values)}


def _sample() -> dict[str, Any]:
    """A campaign recorded through the real recorder; its counters against its rows."""
    from bench.store import _events
    from ptrack.store import sending
    from ptrack.store.models import Campaign
    from ptrack.store.recording import ingest

    from . import store_data

    ids, events = _events("sample", 2000, 6000, 7)
    sent_at = min(e.timestamp for e in events) - timedelta(hours=1)
    sending.record([sending.Sent("sample", f"sub-{n}", i, sent_at) for n, i in enumerate(ids)])
    for first in range(0, len(events), 500):
        ingest(events[first : first + 500])
    campaign = Campaign.objects.get(name="sample").pk
    mismatches = store_data.matches_rows(campaign)
    if any(mismatches.values()):
        raise SystemExit(f"The derivation disagrees with the recorder: {mismatches}")
    return {"messages": len(ids), "events": len(events), "mismatches": mismatches}


def _populate(messages: int, events: int) -> dict[str, Any]:
    from django.db import connection

    from . import store_data

    began = time.perf_counter()
    campaign = store_data.populate("scale", messages, events, T0)
    made = time.perf_counter() - began
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
        rows = {}
        for table in ("message", "event", "messagelink", "campaignhour"):
            cursor.execute(f"SELECT count(*) FROM ptrack_store_{table}")
            rows[table] = cursor.fetchone()[0]
        cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        size = cursor.fetchone()[0]
    print(f"  populated in {made:.0f} s (and vacuumed): {rows}, {size}")
    return {"campaign": campaign, "seconds": made, "rows": rows, "database_size": size}


def _stats(repeat: int) -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from ptrack.store import stats

    found: dict[str, Any] = {}
    for period in ("day", "hour"):
        stats("scale", period=period)  # type: ignore[arg-type]
        timings = []
        for _ in range(repeat):
            t = time.perf_counter()
            stats("scale", period=period)  # type: ignore[arg-type]
            timings.append((time.perf_counter() - t) * 1000)
        with CaptureQueriesContext(connection) as queries:
            numbers = stats("scale", period=period)  # type: ignore[arg-type]
        found[period] = {
            "ms": _spread(timings),
            "queries": len(queries.captured_queries),
            "buckets": len(numbers.over_time),
        }
        print(f"  stats(period={period!r}): {found[period]}")
    numbers = stats("scale", period=None)
    found["numbers"] = {
        "sent": numbers.sent,
        "opens": numbers.opens,
        "unique_opens": numbers.unique_opens,
        "clicks": numbers.clicks,
        "unique_clicks": numbers.unique_clicks,
        "machine_loads": sum(numbers.machine_loads.values()),
        "machine_clicks": sum(numbers.machine_clicks.values()),
    }
    return found


def _pages(campaign: int) -> dict[str, str]:
    from django.db.models import Count

    from ptrack.store.models import Event

    busiest = (
        Event.objects.filter(campaign_id=campaign, message__isnull=False)
        .values("message_id")
        .annotate(n=Count("pk"))
        .order_by("-n")
        .first()
    )
    assert busiest is not None
    messages = f"/admin/ptrack_store/message/?campaign__id__exact={campaign}"
    return {
        "campaign list": "/admin/ptrack_store/campaign/",
        "campaign page, by day": f"/admin/ptrack_store/campaign/{campaign}/change/",
        "campaign page, by hour": f"/admin/ptrack_store/campaign/{campaign}/change/?period=hour",
        "its messages, page 1": messages,
        "its messages, page 100": f"{messages}&p=100",
        f"its most loaded message ({busiest['n']:,} events)": (
            f"/admin/ptrack_store/message/{busiest['message_id']}/change/"
        ),
        "CSV export, first 1,000 rows": f"/admin/ptrack_store/campaign/{campaign}/messages.csv",
    }


def _request(client: Any, url: str) -> tuple[float, int]:
    t = time.perf_counter()
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    if response.streaming:
        lines = 0
        for chunk in response.streaming_content:
            lines += chunk.count(b"\n")
            if lines > 1000:
                break
        response.close()
    else:
        assert b"ptrack" in response.content or b"Campaign" in response.content
    return (time.perf_counter() - t) * 1000, len(getattr(response, "content", b"") or b"")


def _admin(campaign: int, repeat: int, only: str = "") -> dict[str, Any]:
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    user, _new = User.objects.get_or_create(
        username="bench", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(user)
    found = {}
    for label, url in _pages(campaign).items():
        if not label.startswith(only):
            continue
        _request(client, url)
        timings = [_request(client, url)[0] for _ in range(repeat)]
        with CaptureQueriesContext(connection) as queries:
            _request(client, url)
        slowest = max(queries.captured_queries, key=lambda q: float(q["time"]), default=None)
        found[label] = {
            "url": url,
            "ms": _spread(timings),
            "queries": len(queries.captured_queries),
            "slowest_query": slowest and {"sql": slowest["sql"][:300], "s": slowest["time"]},
        }
        print(f"  {label}: {found[label]['ms']}, {found[label]['queries']} queries")
    return found


# The messages' list as first merged: a date hierarchy, the count of every message, and
# Django's paginator, which counts every message listed, 100 of them to a page.
FIRST_MERGED = {
    "date_hierarchy": "sent_at",
    "show_full_result_count": True,
    "paginator": Paginator,
    "list_per_page": 100,
}


def _admin_as_first_merged(campaign: int, repeat: int) -> dict[str, Any]:
    """The messages' pages with the options they had before this benchmark, in the same run."""
    from django.contrib import admin

    from ptrack.store.models import Message

    options = admin.site._registry[Message]
    kept = {name: getattr(options, name) for name in FIRST_MERGED}
    for name, value in FIRST_MERGED.items():
        setattr(options, name, value)
    try:
        return {
            f"{label}, as first merged": figures
            for label, figures in _admin(campaign, repeat, "its messages").items()
        }
    finally:
        for name, value in kept.items():
            setattr(options, name, value)


# --- a purge while a worker records -------------------------------------------------------


def _old_message_ids(before: datetime, count: int, seed: int) -> list[str]:
    """Message ids of the large campaign sent before ``before``, the much opened ones more
    often, as the events were made."""
    from ptrack.store.models import Message

    old = list(
        Message.objects.filter(campaign__name="scale", sent_at__lt=before)
        .order_by("pk")
        .values_list("message_id", flat=True)
    )
    rng = random.Random(seed)
    return [old[int(len(old) * rng.random() ** 2)] for _ in range(count)]


def _worker_events(before: datetime) -> tuple[list[Any], list[Any]]:
    """What the worker records, as templates: the live campaign's people's loads and clicks,
    and scanners' loads of old messages of the large campaign."""
    import ptrack
    from bench.store import _events
    from ptrack import tracking
    from ptrack.store import sending

    ids, live = _events("live", 2000, 4000, 11)
    sent_at = min(e.timestamp for e in live) - timedelta(hours=1)
    sending.record([sending.Sent("live", f"live-{n}", i, sent_at) for n, i in enumerate(ids)])
    context = tracking.request_context({"HTTP_USER_AGENT": SCANNER, "REMOTE_ADDR": "192.0.2.7"})
    old = []
    for message_id in _old_message_ids(before, 1000, 13):
        url = ptrack.Pixel("n").url(campaign="scale", message=message_id)
        event = tracking.verify(url.rstrip("/").rsplit("/", 1)[-1], context)
        assert event is not None
        old.append(event)
    live = [e for e in live if e.classification is not None and e.classification.counts_as_open]
    return live, old


def _record(live: list[Any], old: list[Any], stop: Any, out: Any, backend: Any) -> None:
    """The worker: a batch every 1/BATCHES_PER_SECOND s until ``stop``; each batch's time.
    Its PostgreSQL backend's pid goes in ``backend`` first."""
    from django.db import connections

    from ptrack.store.recording import ingest
    from ptrack.store.tally import kind_of

    connections.close_all()
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    backend.value = pid
    rng = random.Random(17)
    batches: list[tuple[float, float, float]] = []  # monotonic start, seconds, wall clock
    old_kinds: Counter[str] = Counter()
    live_events = 0
    tick = 0
    now = datetime.now(timezone.utc)
    began = time.monotonic()
    while not stop.is_set():
        batch = []
        for n in range(BATCH):
            tick += 1
            template = rng.choice(old if n < OLD_PER_BATCH else live)
            at = now + timedelta(microseconds=tick)
            batch.append(dataclasses.replace(template, timestamp=at))
            if n < OLD_PER_BATCH:
                old_kinds[f"machine_loads:{kind_of(template)}"] += 1
            else:
                live_events += 1
        start, wall = time.monotonic(), time.time()
        ingest(batch)
        batches.append((start, time.monotonic() - start, wall))
        wait = began + len(batches) / BATCHES_PER_SECOND - time.monotonic()
        if wait > 0:
            time.sleep(wait)
    connections.close_all()
    out.put(
        {
            "batches": batches,
            "old_kinds": dict(old_kinds),
            "live_events": live_events,
            "pid": pid,
        }
    )


SAMPLED_EVERY = 0.005


def _watch(backend: Any, stop: Any, out: Any) -> None:
    """What the worker's PostgreSQL backend is doing, every SAMPLED_EVERY s until ``stop``:
    running, waiting (pg_stat_activity's wait event), or between statements."""
    from django.db import connections

    connections.close_all()
    while not backend.value:
        time.sleep(0.01)
    samples: list[tuple[float, str]] = []
    with connections["default"].cursor() as cursor:
        while not stop.is_set():
            cursor.execute(
                "SELECT state, wait_event_type, wait_event FROM pg_stat_activity WHERE pid = %s",
                [backend.value],
            )
            row = cursor.fetchone()
            if row is not None and row[0] != "idle":
                state, kind, event = row
                if state != "active":
                    label = "between statements"
                else:
                    label = f"{kind}: {event}" if kind else "running"
                samples.append((time.monotonic(), label))
            time.sleep(SAMPLED_EVERY)
    connections.close_all()
    out.put(samples)


def _shares(samples: list[tuple[float, str]]) -> dict[str, Any]:
    """Each state's share of the samples of a backend busy with a batch, largest first."""
    counted = Counter(label for _at, label in samples)
    total = sum(counted.values())
    return {
        "samples": total,
        "shares": {label: n / total for label, n in counted.most_common()} if total else {},
    }


def _latencies(values: list[float]) -> dict[str, Any]:
    ms = sorted(v * 1000 for v in values)
    return {
        "batches": len(ms),
        "median_ms": statistics.median(ms),
        "p99_ms": ms[min(len(ms) - 1, int(len(ms) * 0.99))],
        "max_ms": ms[-1],
        "over_100_ms": sum(v > 100 for v in ms),
    }


def _waits_per_batch(found: list[re.Match[str]], batches: list[Any]) -> list[float]:
    """The lock waits of each batch that waited, in ms, added up: a wait is the batch's
    that was running when PostgreSQL logged its end."""
    starts = [wall for _s, _d, wall in batches]
    per: Counter[int] = Counter()
    for match in found:
        assert match["zone"] == "UTC", match[0]
        at = datetime.fromisoformat(match["at"]).replace(tzinfo=timezone.utc)
        n = bisect.bisect_right(starts, at.timestamp()) - 1
        if n >= 0:
            per[n] += float(match["ms"])
    return list(per.values())


def _purge(hours: float, baseline: float) -> dict[str, Any]:
    from django.db import connection, connections

    from ptrack.store import purge
    from ptrack.store.models import Campaign, CampaignTotal, Event, Message
    from tests import postgres

    from . import store_data

    before = T0 + timedelta(hours=hours)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT count(*) FROM ptrack_store_message WHERE sent_at < %s),"
            " (SELECT count(*) FROM ptrack_store_event e LEFT JOIN ptrack_store_message m"
            "   ON m.id = e.message_id WHERE e.at < %s OR m.sent_at < %s),"
            " (SELECT count(*) FROM ptrack_store_messagelink l JOIN ptrack_store_message m"
            "   ON m.id = l.message_id WHERE m.sent_at < %s)",
            [before, before, before, before],
        )
        past = dict(zip(("messages", "events", "message links"), cursor.fetchone(), strict=True))
    print(f"  past retention: {past}")
    live, old = _worker_events(before)
    scale = Campaign.objects.get(name="scale").pk
    totals_before = Counter(
        dict(CampaignTotal.objects.filter(campaign_id=scale).values_list("metric", "value"))
    )
    # PostgreSQL logs every lock wait longer than deadlock_timeout, and how long it lasted.
    with connection.cursor() as cursor:
        cursor.execute("ALTER SYSTEM SET log_lock_waits = on")
        cursor.execute(f"ALTER SYSTEM SET deadlock_timeout = '{LOGGED_WAIT_MS}ms'")
        cursor.execute("ALTER SYSTEM SET log_timezone = 'UTC'")
        cursor.execute("SELECT pg_reload_conf()")
    log = postgres.SOCKET_DIR / "log"
    logged_from = log.stat().st_size
    connections.close_all()
    context = multiprocessing.get_context("fork")
    stop, out, sampled = context.Event(), context.Queue(), context.Queue()
    backend = context.Value("i", 0)
    worker = context.Process(target=_record, args=(live, old, stop, out, backend))
    worker.start()
    sampler = context.Process(target=_watch, args=(backend, stop, sampled))
    sampler.start()
    time.sleep(baseline)
    began = time.monotonic()
    timer = _LockedFor()
    with connection.execute_wrapper(timer):
        removed = purge(before)
    locked = timer.seconds
    ended = time.monotonic()
    time.sleep(min(baseline, 2.0))
    stop.set()
    recorded = out.get(timeout=120)
    samples = sampled.get(timeout=120)
    worker.join(timeout=60)
    sampler.join(timeout=60)
    print(f"  purged {removed} in {ended - began:.1f} s")
    with log.open() as lines:
        lines.seek(logged_from)
        found = [m for m in map(_ACQUIRED.search, lines) if m and int(m["pid"]) == recorded["pid"]]
    waits = [float(m["ms"]) for m in found]
    waited_for = Counter(m["lock"] for m in found)
    per_batch = _waits_per_batch(found, recorded["batches"])
    alone = [d for s, d, _w in recorded["batches"] if s + d < began or s > ended]
    during = [d for s, d, _w in recorded["batches"] if s + d >= began and s <= ended]
    # Totals stay right: the large campaign's are what they were plus the scanners' loads the
    # worker recorded; the live campaign's agree with its rows; nothing past retention is left.
    totals_after = Counter(
        dict(CampaignTotal.objects.filter(campaign_id=scale).values_list("metric", "value"))
    )
    expected = totals_before + Counter(recorded["old_kinds"])
    if totals_after != expected:
        raise SystemExit(f"The large campaign's totals moved: {totals_after} != {expected}")
    live_check = store_data.matches_rows(Campaign.objects.get(name="live").pk)
    if any(live_check.values()):
        raise SystemExit(f"The live campaign's counters disagree with its rows: {live_check}")
    left = (
        Message.objects.filter(sent_at__lt=before).count()
        + Event.objects.filter(at__lt=before).count()
    )
    if left:
        raise SystemExit(f"{left} rows past retention are left")
    return {
        "before": before.isoformat(),
        "past_retention": past,
        "removed": removed,
        "rows_removed": sum(removed.values()),
        "seconds": ended - began,
        "alone": _latencies(alone),
        "during": _latencies(during),
        "lock_waits": {
            "logged_over_ms": LOGGED_WAIT_MS,
            "count": len(waits),
            "longest_ms": max(waits, default=0.0),
            "over_100_ms": sum(w > 100 for w in waits),
            "locks": dict(waited_for),
            # A batch may wait for one lock, then for the next: what it waited in all.
            "batches_waiting": len(per_batch),
            "longest_per_batch_ms": max(per_batch, default=0.0),
        },
        "locking_transactions": {**_latencies(locked), "waited_for_recorder": timer.waiting},
        # The worker's backend while busy with a batch, sampled every SAMPLED_EVERY s.
        "backend": {
            "sampled_every_ms": SAMPLED_EVERY * 1000,
            "alone": _shares([(t, x) for t, x in samples if t < began or t > ended]),
            "during": _shares([(t, x) for t, x in samples if began <= t <= ended]),
        },
        "worker_events": {
            "live": recorded["live_events"],
            "old": sum(recorded["old_kinds"].values()),
        },
        "totals_right": True,
        "live_counters_agree_with_rows": live_check,
    }


def run(options: argparse.Namespace) -> dict[str, Any]:
    from tests import postgres

    if not postgres.available():
        raise SystemExit("PostgreSQL's server or psycopg is not installed (tests/postgres.py).")
    results: dict[str, Any] = {"machine": machine()}
    began = time.perf_counter()
    with postgres.running():
        _setup({**postgres.settings(), "NAME": "postgres"})
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            version = cursor.fetchone()[0].split()[0]
        print("Sample through the recorder, then the large campaign:")
        sample = _sample()
        populated = _populate(options.messages, options.events)
        print("stats():")
        stats_ = _stats(options.repeat)
        print("Admin pages:")
        admin = _admin(populated["campaign"], options.repeat)
        admin.update(_admin_as_first_merged(populated["campaign"], options.repeat))
        print("Purge while recording:")
        purged = _purge(options.purge_hours, options.baseline)
        connection.close()
    results["store_scale"] = {
        "messages": options.messages,
        "events": options.events,
        "repeat": options.repeat,
        "versions": {"postgresql": version, "psycopg": metadata.version("psycopg")},
        "sample": sample,
        "populated": populated,
        "stats": stats_,
        "admin": admin,
        "purge": purged,
        "seconds": round(time.perf_counter() - began),
    }
    results["machine"]["load_average_at_end"] = os.getloadavg()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=3_000_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--purge-hours", type=float, default=1.0)
    parser.add_argument("--baseline", type=float, default=5.0)
    report.main(parser, run)


if __name__ == "__main__":
    main()
