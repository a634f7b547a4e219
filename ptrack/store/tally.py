"""What each new event of a batch changes: its message's opens and clicks, the clicks of
its link, and its campaign's counters, added up in Python before a batch writes them.

People and machines: a load counts as a person's open when its classification
``counts_as_open`` (a person, or their provider's image proxy); every other
load is a machine's, counted by kind (``"unknown"`` when unclassified). A
person's click on a message with no open recorded also records its open.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from ptrack.events import PixelEvent
from ptrack.store import counters

UNKNOWN_KIND = "unknown"

# What a batch changes in a message's row, and what it reads of it.
WRITTEN = (
    "opens",
    "first_open_at",
    "last_open_at",
    "clicks",
    "first_click_at",
    "machine_loads",
    "implied_open",
)
MESSAGE_COLUMNS = ("id", "message_id", "campaign_id", *WRITTEN)


def is_person(event: PixelEvent) -> bool:
    """Whether ``event`` was a person's (or their provider's proxy's), not a machine's."""
    classification = event.classification
    return classification is not None and classification.counts_as_open


def kind_of(event: PixelEvent) -> str:
    """``event``'s kind of client, ``"unknown"`` when it was not classified."""
    classification = event.classification
    return UNKNOWN_KIND if classification is None else classification.kind.value


class MessageRow:
    """A message's row as a batch reads it (locked) and writes it back."""

    __slots__ = ("pk", "message_id", "campaign_id", *WRITTEN)

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
        self.implied_open = bool(row[9])  # its only open so far is a click's

    def machine_loads_now(self) -> dict[str, int]:
        """Its loads by machines, per kind, read to be added to."""
        loads = self.machine_loads
        if not isinstance(loads, dict):
            self.machine_loads = loads = json.loads(loads) if loads else {}
        return loads  # type: ignore[no-any-return]

    def machine_loads_db(self) -> str:
        loads = self.machine_loads
        return loads if isinstance(loads, str) else json.dumps(loads or {})


class Tally:
    """What a batch's new events add up to; given them oldest first."""

    def __init__(self, clicked: set[tuple[int, int]]) -> None:
        self.deltas = counters.Deltas()
        self.changed: dict[int, MessageRow] = {}  # by message pk
        # (message pk, link id) -> [clicks, first click], a person's clicks in this batch
        self.pairs: dict[tuple[int, int], list[Any]] = {}
        # (message pk, link id) a person had clicked before this batch
        self.clicked = clicked

    def _changed(self, message: MessageRow) -> MessageRow:
        self.changed[message.pk] = message
        return message

    def _opened(
        self, message: MessageRow | None, campaign_id: int, at: datetime, implied: bool = False
    ) -> None:
        """A person's open of ``message`` (``None``: of a message the store does not know),
        a load's or, ``implied``, a click's."""
        if message is not None and message.implied_open and not implied:
            self._unimply(message, campaign_id)
        self.deltas.add(campaign_id, at, "opens")
        if message is None:
            return
        self._changed(message)
        message.implied_open = implied
        message.opens += 1
        self._first(message, "first_open_at", "unique_opens", campaign_id, at)
        message.last_open_at = max(message.last_open_at or at, at)

    def _first(
        self, message: MessageRow, field: str, metric: str, campaign_id: int, at: datetime
    ) -> None:
        """Count ``message`` once in ``metric``, in the hour of its earliest ``field``,
        which an event recorded late may move earlier."""
        first = getattr(message, field)
        if first is None or at < first:
            if first is not None:
                self.deltas.add(campaign_id, first, metric, -1)
            self.deltas.add(campaign_id, at, metric)
            setattr(message, field, at)

    def _unimply(self, message: MessageRow, campaign_id: int) -> None:
        """Take back a click's open, which a load of the message now stands for."""
        at = message.first_open_at
        assert at is not None
        for metric in ("opens", "implied_opens", "unique_opens"):
            self.deltas.add(campaign_id, at, metric, -1)
        message.opens -= 1
        message.first_open_at = message.last_open_at = None
        message.implied_open = False

    def load(self, event: PixelEvent, campaign_id: int, message: MessageRow | None) -> None:
        """A load of ``message``'s pixel (``None``: a message the store does not know)."""
        at = event.timestamp
        if is_person(event):
            self._opened(message, campaign_id, at)
            return
        kind = kind_of(event)
        self.deltas.add(campaign_id, at, f"machine_loads:{kind}")
        if message is not None:
            loads = self._changed(message).machine_loads_now()
            loads[kind] = loads.get(kind, 0) + 1

    def click(
        self,
        event: PixelEvent,
        campaign_id: int,
        message: MessageRow | None,
        link: tuple[int, str],
        link_id: int,
        name: str,
        destination: str,
    ) -> None:
        """A click on ``link`` (campaign id, link key; ``link_id`` its row, ``name`` and
        ``destination`` what it is) of ``message``."""
        at = event.timestamp
        _c, key = link
        if not is_person(event):
            self.deltas.add(campaign_id, at, f"machine_clicks:{kind_of(event)}")
            self.deltas.add_link(campaign_id, key, name, destination, machine=1)
            return
        self.deltas.add(campaign_id, at, "clicks")
        self.deltas.add_link(campaign_id, key, name, destination, clicks=1)
        if message is None:
            return
        if message.first_open_at is None:
            # Images blocked, or the pixel's load still on its way: the click shows it was read.
            self.deltas.add(campaign_id, at, "implied_opens")
            self._opened(message, campaign_id, at, implied=True)
        self._changed(message)
        message.clicks += 1
        self._first(message, "first_click_at", "unique_clicks", campaign_id, at)
        pair = (message.pk, link_id)
        clicks = self.pairs.get(pair)
        if clicks is None:
            self.pairs[pair] = [1, at]
            if pair not in self.clicked:
                self.deltas.add_link(campaign_id, key, name, destination, unique=1)
        else:
            clicks[0] += 1
