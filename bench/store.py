"""ptrack.store's ingestion rate and the cost of stats(), on SQLite and on PostgreSQL.

    python -m bench.store [--messages 2000] [--events 20000] [--batch 100] [--db sqlite|postgres]

Builds a campaign of ``--messages`` messages in a fresh database (a SQLite file in a
temporary directory, or the throwaway PostgreSQL cluster of tests/postgres.py), makes
``--events`` verified events (people's opens and clicks, machine loads) through ptrack's own
``tracking.verify()``, then times the store's recorder taking them ``--batch`` at a time, as a
task worker does with ``PTRACK_BATCH_SIZE``: events per second, writes included. Then times
``stats()`` of the campaign (median of 20). The events are made before the clock starts; the
task queue itself is not part of the figure.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import random
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
SCANNER = "Mozilla/5.0 (compatible; Barracuda Sentinel (EE))"


@contextlib.contextmanager
def _database(kind: str) -> Iterator[dict[str, Any]]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as directory:
            yield {"ENGINE": "django.db.backends.sqlite3", "NAME": str(Path(directory) / "db")}
        return
    from tests import postgres

    with postgres.running():
        yield {**postgres.settings(), "NAME": "postgres"}


def _setup(database: dict[str, Any]) -> None:
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
        DATABASES={"default": database},
        ROOT_URLCONF="tests.urls",
        PTRACK_APP_URL="https://track.example.com",
        PTRACK_STORE_BACKGROUND=False,
    )
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _token(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def run(messages: int, events: int, batch: int) -> dict[str, float]:
    from datetime import timedelta

    from django.utils import timezone
    from freezegun import freeze_time

    import ptrack
    from ptrack import tracking
    from ptrack.events import PixelEvent
    from ptrack.store import sending, stats
    from ptrack.store.recording import StoreRecorder

    sent_at = timezone.now() - timedelta(days=2)
    ids = [f"m{n:07d}" for n in range(messages)]
    sending.record([sending.Sent("bench", f"sub-{n}", ids[n], sent_at) for n in range(messages)])
    rng = random.Random(1)
    person = tracking.request_context({"HTTP_USER_AGENT": BROWSER, "REMOTE_ADDR": "203.0.113.9"})
    machine = tracking.request_context({"HTTP_USER_AGENT": SCANNER, "REMOTE_ADDR": "192.0.2.1"})
    # One frozen clock, moved rather than restarted: starting freezegun costs milliseconds.
    with freeze_time(sent_at) as clock:
        pixels = [_token(ptrack.Pixel("n").url(campaign="bench", message=i)) for i in ids]
        links = [
            _token(
                ptrack.Pixel("n").link(
                    f"https://example.com/{n % 5}", name=str(n % 5), campaign="bench", message=i
                )
            )
            for n, i in enumerate(ids)
        ]
        clock.move_to(sent_at + timedelta(hours=1))
        made = []
        for n in range(events):
            m = rng.randrange(messages)
            roll = rng.random()
            if roll < 0.6:
                event = tracking.verify(pixels[m], person)
            elif roll < 0.8:
                event = tracking.verify_click(links[m], person)[1]
            else:
                event = tracking.verify(pixels[m], machine)
            assert event is not None
            made.append(
                dataclasses.replace(event, timestamp=event.timestamp + timedelta(seconds=n))
            )
    # As a task worker receives them: through to_dict(), and with real datetimes, not
    # freezegun's, whose every method runs in Python.
    made = [PixelEvent.from_dict(event.to_dict()) for event in made]
    recorder = StoreRecorder()
    began = time.perf_counter()
    for first in range(0, len(made), batch):
        recorder.record_events(made[first : first + batch])
    elapsed = time.perf_counter() - began
    timings = []
    for _ in range(20):
        t = time.perf_counter()
        stats("bench")
        timings.append(time.perf_counter() - t)
    numbers = stats("bench", period=None)
    print(
        f"  counted: opens {numbers.opens}, clicks {numbers.clicks}, "
        f"machine loads {numbers.machine_loads}"
    )
    return {
        "events_per_second": len(made) / elapsed,
        "stats_ms_median": statistics.median(timings) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    options = parser.parse_args()
    with _database(options.db) as database:
        _setup(database)
        result = run(options.messages, options.events, options.batch)
    print(
        f"{options.db}: {options.events} events over {options.messages} messages, "
        f"batches of {options.batch}: {result['events_per_second']:,.0f} events/s; "
        f"stats() median {result['stats_ms_median']:.2f} ms"
    )


if __name__ == "__main__":
    main()
