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
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any, cast

from django.db import connections, router, transaction
from django.db.models import Field, Model

from ptrack.conf import conf
from ptrack.consent import Consent
from ptrack.events import EventType, PixelEvent
from ptrack.registry import TrackingPixel
from ptrack.store import counters
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
    """A digest of everything ``event`` carries: the same event gives the same key."""
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
    if not latest:
        return
    connection = connections[using]
    quote = connection.ops.quote_name
    table = quote(RecipientDay._meta.db_table)
    adapt = connection.ops.adapt_datefield_value
    with connection.cursor() as cursor:
        for recipient, day in sorted(latest.items()):
            cursor.execute(
                f"INSERT INTO {table} (recipient, last_open) VALUES (%s, %s) "
                f"ON CONFLICT (recipient) DO UPDATE SET last_open = CASE "
                f"WHEN excluded.last_open > {table}.last_open THEN excluded.last_open "
                f"ELSE {table}.last_open END",
                [recipient, adapt(day)],
            )


_MESSAGE_FIELDS = (
    "opens",
    "first_open_at",
    "last_open_at",
    "clicks",
    "first_click_at",
    "machine_loads",
)


def _update(using: str, model: type[Model], names: Sequence[str], rows: Iterable[Model]) -> None:
    """Write ``names`` of each of ``rows`` back, one prepared UPDATE for them all.

    ``bulk_update()`` builds a CASE expression per field and row, which cost more than
    everything else a batch does.
    """
    rows = list(rows)
    if not rows:
        return
    connection = connections[using]
    quote = connection.ops.quote_name
    fields = [cast("Field[Any, Any]", model._meta.get_field(name)) for name in names]
    assignments = ", ".join(f"{quote(f.column)} = %s" for f in fields)
    sql = f"UPDATE {quote(model._meta.db_table)} SET {assignments} WHERE id = %s"
    params = [
        [*(f.get_db_prep_save(getattr(row, f.attname), connection) for f in fields), row.pk]
        for row in sorted(rows, key=lambda row: row.pk)
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


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


def _insert_events(using: str, rows: Sequence[tuple[Any, ...]]) -> None:
    """``Event`` rows in one prepared INSERT, without a model instance each."""
    connection = connections[using]
    quote = connection.ops.quote_name
    sql = (
        f"INSERT INTO {quote(Event._meta.db_table)} "
        f"({', '.join(map(quote, _EVENT_COLUMNS))}) "
        f"VALUES ({', '.join(['%s'] * len(_EVENT_COLUMNS))})"
    )
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


class _Batch:
    """One batch of events on its way into the store."""

    def __init__(self, events: Sequence[PixelEvent], using: str) -> None:
        self.using = using
        keyed = {event_key(e): e for e in events}
        done = set(Event.objects.using(using).filter(key__in=keyed).values_list("key", flat=True))
        self.events = sorted(
            ((key, e) for key, e in keyed.items() if key not in done),
            key=lambda pair: pair[1].timestamp,
        )
        self.deltas = counters.Deltas()
        self.changed: dict[int, Message] = {}
        self.new_clicks: dict[tuple[int, int], MessageLink] = {}
        self.more_clicks: dict[tuple[int, int], MessageLink] = {}

    def record(self) -> None:
        if not self.events:
            return
        using = self.using
        events = [e for _key, e in self.events]
        # Locked in id order, so that batches sharing messages wait rather than deadlock.
        messages = {
            m.message_id: m
            for m in Message.objects.using(using)
            .select_for_update()
            .filter(message_id__in={e.message for e in events if e.message})
            .order_by("pk")
        }
        campaigns = counters.campaign_ids(
            (e.campaign or "" for e in events if e.message not in messages), using
        )
        links = self._links(events, messages, campaigns)
        clicked = {
            (ml.message_id, ml.link_id): ml
            for ml in MessageLink.objects.using(using).filter(
                message__in=[m.pk for m in messages.values()]
            )
        }
        rows: list[tuple[Any, ...]] = []
        keep_client = bool(conf.STORE_CLIENT)
        adapt = connections[using].ops.adapt_datetimefield_value
        for key, event in self.events:
            message = messages.get(event.message) if event.message else None
            campaign_id = (
                message.campaign_id if message is not None else campaigns[event.campaign or ""]
            )
            link_id = None
            if event.event_type == EventType.CLICKED:
                link_id = links[campaign_id, link_key(event.link_name, event.destination)]
                self._click(event, campaign_id, message, link_id, clicked)
            else:
                self._load(event, campaign_id, message)
            rows.append(
                (
                    key,
                    campaign_id,
                    None if message is None else message.pk,
                    event.recipient or "",
                    event.event_type,
                    _kind(event),
                    adapt(event.timestamp),
                    link_id,
                    (event.ip or "") if keep_client else "",
                    event.user_agent if keep_client else "",
                )
            )
        # First, so that a batch another worker is recording fails here, on its keys.
        _insert_events(using, rows)
        _update(using, Message, _MESSAGE_FIELDS, self.changed.values())
        MessageLink.objects.using(using).bulk_create(list(self.new_clicks.values()))
        _update(using, MessageLink, ("clicks",), self.more_clicks.values())
        self.deltas.save(using)

    def _links(
        self,
        events: Sequence[PixelEvent],
        messages: dict[str, Message],
        campaigns: dict[str, int],
    ) -> dict[tuple[int, str], int]:
        """The id of every link clicked in the batch, by (campaign id, link key); made if new."""
        wanted: dict[tuple[int, str], tuple[str, str]] = {}
        for e in events:
            if e.event_type != EventType.CLICKED:
                continue
            message = messages.get(e.message) if e.message else None
            campaign_id = message.campaign_id if message else campaigns[e.campaign or ""]
            wanted[campaign_id, link_key(e.link_name, e.destination)] = (e.link_name, e.destination)
        if not wanted:
            return {}
        manager = Link.objects.using(self.using)

        def existing() -> dict[tuple[int, str], int]:
            found: dict[tuple[int, str], int] = {}
            for campaign_id in {c for c, _k in wanted}:
                keys = [k for c, k in wanted if c == campaign_id]
                for key, pk in manager.filter(campaign_id=campaign_id, key__in=keys).values_list(
                    "key", "pk"
                ):
                    found[campaign_id, key] = pk
            return found

        found = existing()
        if len(found) < len(wanted):
            manager.bulk_create(
                [
                    Link(campaign_id=c, key=k, name=name[:200], destination=destination)
                    for (c, k), (name, destination) in wanted.items()
                    if (c, k) not in found
                ],
                ignore_conflicts=True,
            )
            found = existing()
        return found

    def _changed(self, message: Message) -> Message:
        self.changed[message.pk] = message
        return message

    def _opened(self, message: Message | None, campaign_id: int, at: datetime) -> None:
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

    def _load(self, event: PixelEvent, campaign_id: int, message: Message | None) -> None:
        at = event.timestamp
        if _is_person(event):
            self._opened(message, campaign_id, at)
            return
        kind = _kind(event)
        self.deltas.add(campaign_id, at, f"machine_loads:{kind}")
        if message is not None:
            loads: dict[str, Any] = dict(self._changed(message).machine_loads or {})
            loads[kind] = loads.get(kind, 0) + 1
            message.machine_loads = loads

    def _click(
        self,
        event: PixelEvent,
        campaign_id: int,
        message: Message | None,
        link_id: int,
        clicked: dict[tuple[int, int], MessageLink],
    ) -> None:
        at = event.timestamp
        if not _is_person(event):
            self.deltas.add(campaign_id, at, f"machine_clicks:{_kind(event)}")
            self.deltas.add_link(link_id, machine=1)
            return
        self.deltas.add(campaign_id, at, "clicks")
        self.deltas.add_link(link_id, clicks=1)
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
        previous = clicked.get(pair)
        if previous is None:
            clicked[pair] = self.new_clicks[pair] = MessageLink(
                message=message, link_id=link_id, clicks=1, first_at=at
            )
            self.deltas.add_link(link_id, unique=1)
        else:
            previous.clicks += 1
            if pair not in self.new_clicks:
                self.more_clicks[pair] = previous
