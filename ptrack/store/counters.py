"""Campaign counters and links' clicks, added to in bulk: one upsert per table for a batch.

Each counter is kept twice, as a total and in its hour (UTC), so that numbers
are read from a few rows whatever the campaign's size. ``INSERT ... ON
CONFLICT DO UPDATE SET value = value + excluded.value`` adds in the database,
so concurrent batches never overwrite each other's counts (ptrack.store.statements).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

from django.db import connections
from django.utils.timezone import now as _now

from ptrack.store import statements
from ptrack.store.models import Campaign, CampaignHour, CampaignTotal, Link


def campaign_ids(names: Iterable[str], using: str) -> dict[str, int]:
    """The id of each campaign named, made if new."""
    wanted = set(names)
    if not wanted:
        return {}  # a batch whose messages are all known: no query
    found = dict(Campaign.objects.using(using).filter(name__in=wanted).values_list("name", "pk"))
    missing = wanted - found.keys()
    if missing:
        now = _now()
        Campaign.objects.using(using).bulk_create(
            [Campaign(name=name, created_at=now) for name in sorted(missing)],
            ignore_conflicts=True,  # made meanwhile by another process: theirs stands
        )
        found.update(
            Campaign.objects.using(using).filter(name__in=missing).values_list("name", "pk")
        )
    return found


def hour_of(at: datetime) -> datetime:
    """The start of ``at``'s hour, in UTC."""
    return at.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)


class Deltas:
    """What one batch adds to its campaigns' counters and links."""

    def __init__(self) -> None:
        self.totals: Counter[tuple[int, str]] = Counter()
        self.hours: Counter[tuple[int, datetime, str]] = Counter()
        # (campaign id, link key) -> [name, destination, clicks, unique_clicks, machine_clicks]
        self.links: dict[tuple[int, str], list[Any]] = {}

    def add(self, campaign_id: int, at: datetime, metric: str, count: int = 1) -> None:
        self.totals[campaign_id, metric] += count
        self.hours[campaign_id, hour_of(at), metric] += count

    def add_link(
        self,
        campaign_id: int,
        key: str,
        name: str,
        destination: str,
        clicks: int = 0,
        unique: int = 0,
        machine: int = 0,
    ) -> None:
        counts = self.links.setdefault((campaign_id, key), [name, destination, 0, 0, 0])
        counts[2] += clicks
        counts[3] += unique
        counts[4] += machine

    def save(self, using: str) -> None:
        """Add everything to the database ``using``, inside the caller's transaction:
        one statement per table, its rows in key order so that batches wait, not deadlock."""
        adapt, _read = statements.datetimes(connections[using])
        added: dict[str, statements.Merge] = {"value": "add"}
        statements.insert(
            using,
            CampaignTotal,
            ("campaign_id", "metric", "value"),
            [(c, m, n) for (c, m), n in sorted(self.totals.items()) if n],
            conflict=("campaign_id", "metric"),
            merge=added,
        )
        statements.insert(
            using,
            CampaignHour,
            ("campaign_id", "hour", "metric", "value"),
            [(c, adapt(h), m, n) for (c, h, m), n in sorted(self.hours.items()) if n],
            conflict=("campaign_id", "hour", "metric"),
            merge=added,
        )
        statements.insert(
            using,
            Link,
            (
                "campaign_id",
                "key",
                "name",
                "destination",
                "clicks",
                "unique_clicks",
                "machine_clicks",
            ),
            [(c, k, *values) for (c, k), values in sorted(self.links.items())],
            conflict=("campaign_id", "key"),
            merge={"clicks": "add", "unique_clicks": "add", "machine_clicks": "add"},
        )
