"""The store's recorder: loads and clicks written per message, link and campaign, a batch
in one transaction.

Each event gets a key, a digest of the whole event, which the ``Event`` table
holds unique: a batch recorded again (a task retried, a worker restarted) finds
its keys there and adds nothing, and two workers recording the same batch at
once cannot both commit. Counters change in the same transaction as the rows,
so they always agree with them.

People and machines: a load counts as a person's open when its classification
``counts_as_open`` (a person, or their provider's image proxy); every other
load is a machine's, counted by kind (``"unknown"`` when unclassified). A
person's click on a message with no open recorded also records its open.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

from django.db import connections, router, transaction

from ptrack.conf import conf
from ptrack.consent import Consent
from ptrack.events import EventType, PixelEvent
from ptrack.registry import TrackingPixel
from ptrack.store import counters, statements
from ptrack.store.models import Event, Link, Message, MessageLink, RecipientDay

UNKNOWN_KIND = "unknown"


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


def _is_person(event: PixelEvent) -> bool:
    classification = event.classification
    return classification is not None and classification.counts_as_open


def _kind(event: PixelEvent) -> str:
    classification = event.classification
    return UNKNOWN_KIND if classification is None else classification.kind.value


def _last_open_days(events: Sequence[PixelEvent], using: str) -> None:
    """A deliverability level keeps the day of a recipient's last open, and nothing else."""
    latest: dict[str, date] = {}
    for event in events:
        if _is_person(event) and event.recipient:
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


# What a batch changes in a message's row.
_WRITTEN = ("opens", "first_open_at", "last_open_at", "clicks", "first_click_at", "machine_loads")

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


# What a batch reads of a message's row.
_MESSAGE_COLUMNS = ("id", "message_id", "campaign_id", *_WRITTEN)


class _Message:
    """A message's row as a batch reads it (locked) and writes it back."""

    __slots__ = ("pk", "message_id", "campaign_id", *_WRITTEN)

    def __init__(self, row: Sequence[Any], aware: Callable[[Any], datetime | None]) -> None:
        self.pk: int = row[0]
        self.message_id: str = row[1]
        self.campaign_id: int = row[2]
        self.opens: int = row[3]
        self.first_open_at = aware(row[4])
        self.last_open_at = aware(row[5])
        self.clicks: int = row[6]
        self.first_click_at = aware(row[7])
        self.machine_loads: Any = row[8]  # as read (JSON text) until a machine's load

    def machine_loads_now(self) -> dict[str, int]:
        """Its loads by machines, per kind, read to be added to."""
        loads = self.machine_loads
        if not isinstance(loads, dict):
            self.machine_loads = loads = json.loads(loads) if loads else {}
        return loads  # type: ignore[no-any-return]

    def machine_loads_db(self) -> str:
        loads = self.machine_loads
        return loads if isinstance(loads, str) else json.dumps(loads or {})


class _Batch:
    """One batch of events on its way into the store, in a handful of statements:
    read its messages (locked) and links, insert its events (those already there are
    skipped), then write what the new ones changed, one statement per table."""

    def __init__(self, events: Sequence[PixelEvent], using: str) -> None:
        self.using = using
        self.connection = connections[using]
        self.to_db, self.from_db = statements.datetimes(self.connection)
        self.events = {event_key(e): e for e in events}
        self.deltas = counters.Deltas()
        self.changed: dict[int, _Message] = {}
        # (message pk, link id) -> [clicks, first click], a person's clicks in this batch
        self.pairs: dict[tuple[int, int], list[Any]] = {}
        # (message pk, link id) a person had clicked before this batch
        self.clicked: set[tuple[int, int]] = set()

    def record(self) -> None:
        using = self.using
        messages = self._messages({e.message for e in self.events.values() if e.message})
        campaigns = counters.campaign_ids(
            {e.campaign or "" for e in self.events.values() if e.message not in messages}, using
        )
        placed: list[tuple[str, PixelEvent, int, _Message | None, tuple[int, str] | None]] = []
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
        self.clicked = self._clicked_pairs(
            [m.pk for _k, e, _c, m, link in fresh if m is not None and link and _is_person(e)]
        )
        for _key, event, campaign_id, message, link in fresh:
            if link is None:
                self._load(event, campaign_id, message)
            else:
                name, destination = wanted[link]
                self._click(event, campaign_id, message, link, links[link], name, destination)
        self._write()

    def _messages(self, ids: set[str]) -> dict[str, _Message]:
        """The messages named in the batch, locked until it commits, in id order so that
        batches sharing messages wait rather than deadlock."""
        quote = self.connection.ops.quote_name
        columns = ", ".join(map(quote, _MESSAGE_COLUMNS))
        sql = (
            f"SELECT {columns} "
            f"FROM {quote(Message._meta.db_table)} WHERE message_id IN ({{in}}) ORDER BY id"
        )
        if self.connection.features.has_select_for_update:
            sql += " FOR UPDATE"
        found: dict[str, _Message] = {}
        for row in statements.select_in(self.using, sql, sorted(ids)):
            message = _Message(row, self.from_db)
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
            f"AND {quote('key')} IN ({{in}})"
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
        placed: list[tuple[str, PixelEvent, int, _Message | None, tuple[int, str] | None]],
        links: dict[tuple[int, str], int],
    ) -> list[tuple[str, PixelEvent, int, _Message | None, tuple[int, str] | None]]:
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
                _kind(e),
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
            f"WHERE message_id IN ({{in}})"
        )
        return set(statements.select_in(self.using, sql, sorted(set(message_pks))))

    def _write(self) -> None:
        using = self.using
        adapt = self.to_db
        statements.update(
            using,
            Message,
            _WRITTEN,
            [
                (
                    m.pk,
                    m.opens,
                    adapt(m.first_open_at),
                    adapt(m.last_open_at),
                    m.clicks,
                    adapt(m.first_click_at),
                    m.machine_loads_db(),
                )
                for _pk, m in sorted(self.changed.items())
            ],
        )
        statements.insert(
            using,
            MessageLink,
            ("message_id", "link_id", "clicks", "first_at"),
            [(m, link, n, adapt(at)) for (m, link), (n, at) in sorted(self.pairs.items())],
            conflict=("message_id", "link_id"),
            merge={"clicks": "add", "first_at": "earliest"},
        )
        self.deltas.save(using)

    def _changed(self, message: _Message) -> _Message:
        self.changed[message.pk] = message
        return message

    def _opened(self, message: _Message | None, campaign_id: int, at: datetime) -> None:
        """A person's open of ``message`` (``None``: of a message the store does not know)."""
        self.deltas.add(campaign_id, at, "opens")
        if message is None:
            return
        self._changed(message)
        message.opens += 1
        if message.first_open_at is None:
            self.deltas.add(campaign_id, at, "unique_opens")
            message.first_open_at = at
        else:
            message.first_open_at = min(message.first_open_at, at)
        message.last_open_at = max(message.last_open_at or at, at)

    def _load(self, event: PixelEvent, campaign_id: int, message: _Message | None) -> None:
        at = event.timestamp
        if _is_person(event):
            self._opened(message, campaign_id, at)
            return
        kind = _kind(event)
        self.deltas.add(campaign_id, at, f"machine_loads:{kind}")
        if message is not None:
            loads = self._changed(message).machine_loads_now()
            loads[kind] = loads.get(kind, 0) + 1

    def _click(
        self,
        event: PixelEvent,
        campaign_id: int,
        message: _Message | None,
        link: tuple[int, str],
        link_id: int,
        name: str,
        destination: str,
    ) -> None:
        at = event.timestamp
        _c, key = link
        if not _is_person(event):
            self.deltas.add(campaign_id, at, f"machine_clicks:{_kind(event)}")
            self.deltas.add_link(campaign_id, key, name, destination, machine=1)
            return
        self.deltas.add(campaign_id, at, "clicks")
        self.deltas.add_link(campaign_id, key, name, destination, clicks=1)
        if message is None:
            return
        if message.first_open_at is None:
            # Images blocked, or the pixel's load still on its way: the click shows it was read.
            self.deltas.add(campaign_id, at, "implied_opens")
            self._opened(message, campaign_id, at)
        self._changed(message)
        message.clicks += 1
        if message.first_click_at is None:
            self.deltas.add(campaign_id, at, "unique_clicks")
            message.first_click_at = at
        else:
            message.first_click_at = min(message.first_click_at, at)
        pair = (message.pk, link_id)
        clicks = self.pairs.get(pair)
        if clicks is None:
            self.pairs[pair] = [1, at]
            if pair not in self.clicked:
                self.deltas.add_link(campaign_id, key, name, destination, unique=1)
        else:
            clicks[0] += 1
