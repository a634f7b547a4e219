"""Campaign counters, added to in bulk: one upsert per table for a whole batch.

Each counter is kept twice, as a total and in its hour (UTC), so that numbers
are read from a few rows whatever the campaign's size. ``INSERT ... ON
CONFLICT DO UPDATE SET value = value + excluded.value`` adds in the database,
so concurrent batches never overwrite each other's counts; SQLite (3.24+) and
PostgreSQL spell it the same.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from typing import Any

from django.db import connections
from django.utils.timezone import now as _now

from ptrack.store.models import Campaign, CampaignHour, CampaignTotal, Link

# Rows per INSERT: well under SQLite's limit on bound parameters.
_ROWS_PER_STATEMENT = 200


def campaign_ids(names: Iterable[str], using: str) -> dict[str, int]:
    """The id of each campaign named, made if new."""
    wanted = set(names)
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
        # link id -> [clicks, unique_clicks, machine_clicks]
        self.links: dict[int, list[int]] = {}

    def add(self, campaign_id: int, at: datetime, metric: str, count: int = 1) -> None:
        self.totals[campaign_id, metric] += count
        self.hours[campaign_id, hour_of(at), metric] += count

    def add_link(self, link_id: int, clicks: int = 0, unique: int = 0, machine: int = 0) -> None:
        counts = self.links.setdefault(link_id, [0, 0, 0])
        counts[0] += clicks
        counts[1] += unique
        counts[2] += machine

    def save(self, using: str) -> None:
        """Add everything to the database ``using``, inside the caller's transaction."""
        connection = connections[using]
        adapt = connection.ops.adapt_datetimefield_value
        _upsert(
            using,
            CampaignTotal._meta.db_table,
            ("campaign_id", "metric", "value"),
            ("campaign_id", "metric"),
            ("value",),
            [(c, m, n) for (c, m), n in sorted(self.totals.items()) if n],
        )
        _upsert(
            using,
            CampaignHour._meta.db_table,
            ("campaign_id", "hour", "metric", "value"),
            ("campaign_id", "hour", "metric"),
            ("value",),
            [(c, adapt(h), m, n) for (c, h, m), n in sorted(self.hours.items()) if n],
        )
        if self.links:
            table = connection.ops.quote_name(Link._meta.db_table)
            with connection.cursor() as cursor:
                # Every link exists by now (recording made them): plain updates, in id order.
                for link_id, (clicks, unique, machine) in sorted(self.links.items()):
                    cursor.execute(
                        f"UPDATE {table} SET clicks = clicks + %s, "
                        f"unique_clicks = unique_clicks + %s, "
                        f"machine_clicks = machine_clicks + %s WHERE id = %s",
                        [clicks, unique, machine, link_id],
                    )


def _upsert(
    using: str,
    table: str,
    columns: Sequence[str],
    unique: Sequence[str],
    added: Sequence[str],
    rows: Iterable[Sequence[Any]],
) -> None:
    rows = list(rows)
    if not rows:
        return
    connection = connections[using]
    quote = connection.ops.quote_name
    row_sql = "(" + ", ".join(["%s"] * len(columns)) + ")"
    head = f"INSERT INTO {quote(table)} ({', '.join(map(quote, columns))}) VALUES "
    tail = f" ON CONFLICT ({', '.join(map(quote, unique))}) DO UPDATE SET " + ", ".join(
        f"{quote(c)} = {quote(table)}.{quote(c)} + excluded.{quote(c)}" for c in added
    )
    with connection.cursor() as cursor:
        for start in range(0, len(rows), _ROWS_PER_STATEMENT):
            chunk = rows[start : start + _ROWS_PER_STATEMENT]
            params = [value for row in chunk for value in row]
            cursor.execute(head + ", ".join([row_sql] * len(chunk)) + tail, params)
