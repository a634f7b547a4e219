"""The store's recorder: a batch of loads and clicks read against the store and written in
one transaction, in a handful of statements (what each event changes: ptrack.store.tally).

Each event gets a key (``event_key()``), which the ``Event`` table holds unique.
A batch inserts its events with ``ON CONFLICT DO NOTHING RETURNING`` and counts
only those the database returns: a batch recorded again (a task retried, a
worker restarted) adds nothing, and of two workers recording the same batch at
once, the second waits for the first and then finds its events there. Counters
change in the same transaction as the rows, so they always agree with them.
Every table is written in one order, and its rows sorted, so that concurrent
batches wait for each other rather than deadlock.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import date

from django.db import connections, router, transaction

from ptrack.conf import conf
from ptrack.consent import Consent
from ptrack.events import EventType, PixelEvent
from ptrack.registry import TrackingPixel
from ptrack.store import counters, statements
from ptrack.store.models import Event, Link, Message, MessageLink, RecipientDay
from ptrack.store.tally import MESSAGE_COLUMNS, WRITTEN, MessageRow, Tally, is_person, kind_of

# An event on its way in: its key, itself, its campaign's id, its message's row (None: a
# message the store does not know), and its link's (campaign id, link key) if a click.
_Placed = tuple[str, PixelEvent, int, MessageRow | None, tuple[int, str] | None]


class StoreRecorder(TrackingPixel):
    """Records every load and click whose link names a campaign or a message.

    Registered by ``ptrack.store``'s app config. In the background (batched with
    ``PTRACK_BATCH_SIZE``) unless ``PTRACK_STORE_BACKGROUND = False``.
    """

    event_types = frozenset({EventType.LOADED, EventType.CLICKED})

    @property
    def background(self) -> bool:  # type: ignore[override]
        return bool(conf.STORE_BACKGROUND)

    def record_event(self, event: PixelEvent) -> None:
        ingest([event])

    def record_events(self, events: Sequence[PixelEvent]) -> None:
        ingest(events)


def event_key(event: PixelEvent) -> str:
    """A digest of the event: the same event, recorded again, gives the same key.

    An event read from a token is told apart by its token, its time and its client;
    the rest of what it carries comes from the token or from the request, and is
    added for good measure. An event with no token is digested whole.
    """
    if event.token:
        text = "\0".join(
            (
                event.event_type,
                event.token,
                event.timestamp.isoformat(),
                event.ip or "",
                event.user_agent,
                event.referer,
                event.recipient or "",
                str(getattr(event.consent, "value", event.consent)),
                event.campaign or "",
                event.message or "",
                event.link_name,
                event.destination,
            )
        )
    else:
        text = json.dumps(event.to_dict(), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def link_key(name: str, destination: str) -> str:
    """A link's key within its campaign."""
    return hashlib.sha256(f"{name}\0{destination}".encode()).hexdigest()[:32]


def ingest(events: Sequence[PixelEvent]) -> None:
    """Record ``events`` in one transaction; those already recorded are skipped."""
    counted = [e for e in events if e.campaign is not None or e.message is not None]
    days = [e for e in events if e.consent is Consent.DELIVERABILITY and e.recipient]
    if not counted and not days:
        return  # a pixel of the site's own, naming no campaign
    using = router.db_for_write(Event)
    with transaction.atomic(using=using):
        if days:
            _last_open_days(days, using)
        if counted:
            _Batch(counted, using).record()


def _last_open_days(events: Sequence[PixelEvent], using: str) -> None:
    """A deliverability level keeps the day of a recipient's last open, and nothing else."""
    latest: dict[str, date] = {}
    for event in events:
        if is_person(event) and event.recipient:
            day = event.timestamp.date()
            if event.recipient not in latest or latest[event.recipient] < day:
                latest[event.recipient] = day
    adapt = connections[using].ops.adapt_datefield_value
    statements.insert(
        using,
        RecipientDay,
        ("recipient", "last_open"),
        [(recipient, adapt(day)) for recipient, day in sorted(latest.items())],
        conflict=("recipient",),
        merge={"last_open": "latest"},
    )


_EVENT_COLUMNS = (
    "key",
    "campaign_id",
    "message_id",
    "recipient",
    "event_type",
    "kind",
    "at",
    "link_id",
    "ip",
    "user_agent",
)


class _Batch:
    """One batch of events on its way into the store, in a handful of statements:
    read its messages (locked) and links, insert its events (those already there are
    skipped), then write what the new ones changed, one statement per table."""

    def __init__(self, events: Sequence[PixelEvent], using: str) -> None:
        self.using = using
        self.connection = connections[using]
        self.to_db, self.from_db = statements.datetimes(self.connection)
        self.events = {event_key(e): e for e in events}

    def record(self) -> None:
        using = self.using
        messages = self._messages({e.message for e in self.events.values() if e.message})
        campaigns = counters.campaign_ids(
            {e.campaign or "" for e in self.events.values() if e.message not in messages}, using
        )
        placed: list[_Placed] = []
        wanted: dict[tuple[int, str], tuple[str, str]] = {}
        for key, e in self.events.items():
            message = messages.get(e.message) if e.message else None
            campaign_id = message.campaign_id if message else campaigns[e.campaign or ""]
            link = None
            if e.event_type == EventType.CLICKED:
                link = (campaign_id, link_key(e.link_name, e.destination))
                wanted[link] = (e.link_name[:200], e.destination)
            placed.append((key, e, campaign_id, message, link))
        links = self._link_ids(wanted)
        fresh = self._insert_events(placed, links)
        if not fresh:
            return
        tally = Tally(
            self._clicked_pairs(
                [m.pk for _k, e, _c, m, link in fresh if m is not None and link and is_person(e)]
            )
        )
        for _key, event, campaign_id, message, link in fresh:
            if link is None:
                tally.load(event, campaign_id, message)
            else:
                name, destination = wanted[link]
                tally.click(event, campaign_id, message, link, links[link], name, destination)
        self._write(tally)

    def _messages(self, ids: set[str]) -> dict[str, MessageRow]:
        """The messages named in the batch, locked until it commits, in id order so that
        batches sharing messages wait rather than deadlock."""
        quote = self.connection.ops.quote_name
        # Machine loads as text: parsed only for a message a machine loads in this batch.
        cast = "::text" if self.connection.vendor == "postgresql" else ""
        columns = ", ".join(
            quote(c) + cast if c == "machine_loads" else quote(c) for c in MESSAGE_COLUMNS
        )
        sql = (
            f"SELECT {columns} "
            f"FROM {quote(Message._meta.db_table)} WHERE message_id {{in}} ORDER BY id"
        )
        if self.connection.features.has_select_for_update:
            sql += " FOR UPDATE"
        found: dict[str, MessageRow] = {}
        for row in statements.select_in(self.using, sql, sorted(ids)):
            message = MessageRow(row, self.from_db)
            found[message.message_id] = message
        return found

    def _link_ids(
        self, wanted: dict[tuple[int, str], tuple[str, str]]
    ) -> dict[tuple[int, str], int]:
        """The id of every link clicked in the batch, by (campaign id, link key); made if new."""
        if not wanted:
            return {}
        quote = self.connection.ops.quote_name
        campaigns = sorted({c for c, _k in wanted})
        sql = (
            f"SELECT campaign_id, {quote('key')}, id FROM {quote(Link._meta.db_table)} "
            f"WHERE campaign_id IN ({', '.join(['%s'] * len(campaigns))}) "
            f"AND {quote('key')} {{in}}"
        )
        keys = sorted({k for _c, k in wanted})

        def existing() -> dict[tuple[int, str], int]:
            rows = statements.select_in(self.using, sql, keys, campaigns)
            return {(c, k): pk for c, k, pk in rows if (c, k) in wanted}

        found = existing()
        if len(found) < len(wanted):
            statements.insert(
                self.using,
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
                [(c, k, *wanted[c, k], 0, 0, 0) for c, k in sorted(wanted) if (c, k) not in found],
                conflict=("campaign_id", "key"),  # made meanwhile by another batch: theirs stands
            )
            found = existing()
        return found

    def _insert_events(
        self,
        placed: list[_Placed],
        links: dict[tuple[int, str], int],
    ) -> list[_Placed]:
        """Insert the batch's events; those whose key is there already (a batch recorded
        again, or at once by another worker, which this waits for) are skipped. Returns
        the new ones, oldest first."""
        keep_client = bool(conf.STORE_CLIENT)
        adapt = self.to_db
        rows = [
            (
                key,
                campaign_id,
                None if message is None else message.pk,
                e.recipient or "",
                e.event_type,
                kind_of(e),
                adapt(e.timestamp),
                None if link is None else links[link],
                (e.ip or "") if keep_client else "",
                e.user_agent if keep_client else "",
            )
            for key, e, campaign_id, message, link in sorted(placed, key=lambda p: p[0])
        ]
        inserted = {
            key
            for (key,) in statements.insert(
                self.using, Event, _EVENT_COLUMNS, rows, conflict=("key",), returning=("key",)
            )
        }
        return sorted((p for p in placed if p[0] in inserted), key=lambda p: p[1].timestamp)

    def _clicked_pairs(self, message_pks: list[int]) -> set[tuple[int, int]]:
        """The (message, link) pairs a person had clicked before this batch."""
        quote = self.connection.ops.quote_name
        sql = (
            f"SELECT message_id, link_id FROM {quote(MessageLink._meta.db_table)} "
            f"WHERE message_id {{in}}"
        )
        return set(statements.select_in(self.using, sql, sorted(set(message_pks))))

    def _write(self, tally: Tally) -> None:
        # No statement here waits for another's answer: on PostgreSQL, one round trip.
        with statements.pipelined(self.using):
            self._write_rows(tally)

    def _write_rows(self, tally: Tally) -> None:
        using = self.using
        adapt = self.to_db
        statements.update(
            using,
            Message,
            WRITTEN,
            [
                (
                    m.pk,
                    m.opens,
                    adapt(m.first_open_at),
                    adapt(m.last_open_at),
                    m.clicks,
                    adapt(m.first_click_at),
                    m.machine_loads_db(),
                    m.implied_open,
                )
                for _pk, m in sorted(tally.changed.items())
            ],
        )
        statements.insert(
            using,
            MessageLink,
            ("message_id", "link_id", "clicks", "first_at"),
            [(m, link, n, adapt(at)) for (m, link), (n, at) in sorted(tally.pairs.items())],
            conflict=("message_id", "link_id"),
            merge={"clicks": "add", "first_at": "earliest"},
        )
        tally.deltas.save(using)
