"""The event a recorder receives when a pixel loads or a click link is followed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from types import MappingProxyType
from typing import Any

from ptrack.classifier import Classification
from ptrack.consent import Consent


class EventType:
    """The kinds of event; a string constant each."""

    LOADED = "loaded"  # a client fetched the pixel with a valid token
    CLICKED = "clicked"  # a client followed a click link with a valid token

    ALL = frozenset({LOADED, CLICKED})


_TIMES = ("timestamp", "issued_at", "expires_at")


@dataclass(frozen=True, slots=True, kw_only=True)
class PixelEvent:
    """One pixel load or click: the link's data and the context of the request.

    Immutable and free of request objects, so it is safe to share between
    threads and tasks and survives a round trip through ``to_dict()``.
    """

    event_type: str  # one of the EventType constants
    args: tuple[Any, ...]  # positional arguments the link was made with
    kwargs: Mapping[str, Any] = field(default_factory=dict)  # keyword arguments, read-only
    timestamp: datetime  # aware UTC time the pixel was loaded
    issued_at: datetime | None = None  # aware UTC time the link was signed; None if unknown
    expires_at: datetime | None = None  # aware UTC time the link stops recording; None = never
    ip: str | None = None  # client address as Django sees it (REMOTE_ADDR)
    user_agent: str = ""  # User-Agent header, "" when absent
    referer: str = ""  # Referer header, "" when absent
    token: str = ""  # the token from the URL, enough to replay the event
    legacy: bool = False  # True when the link was made by django-ptrack 3.x (issued_at is None)
    destination: str = ""  # where a click link sends its reader; "" for loads
    link_name: str = ""  # which link of its email was clicked (name or position); "" if untold
    classification: Classification | None = None  # who loaded it; None if not classified
    recipient: str | None = None  # the opaque key of whom the link was for; None if untold
    consent: Consent = Consent.FULL  # the level it was recorded under (ptrack.consent)
    campaign: str | None = None  # the campaign the link named; None if untold
    message: str | None = None  # the id of the message the link was sent in; None if untold

    def __post_init__(self) -> None:
        object.__setattr__(self, "args", tuple(self.args))
        object.__setattr__(self, "kwargs", MappingProxyType(dict(self.kwargs)))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serializable dict; ``PixelEvent.from_dict`` reverses it exactly."""
        data: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in _TIMES:
                value = value and value.isoformat()
            elif f.name == "args":
                value = list(value)
            elif f.name == "kwargs":
                value = dict(value)
            elif f.name == "classification":
                value = value and value.to_dict()
            data[f.name] = value
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PixelEvent:
        values = dict(data)
        for name in _TIMES:
            if values.get(name):
                values[name] = datetime.fromisoformat(values[name])
        if values.get("classification"):
            values["classification"] = Classification.from_dict(values["classification"])
        if "consent" in values:
            values["consent"] = Consent(values["consent"])
        return cls(**values)


# Each pixel load makes one event. It is filled as an instance of _Filling, a
# plain class with PixelEvent's slots (the same layout, so the instance can then
# become a PixelEvent), whose attribute stores Python makes in a few instructions:
# a frozen dataclass's stores each call a slot descriptor's __set__, which made
# building an event cost more than reading its token's JSON.
_new = object.__new__


class _Filling:
    __slots__ = PixelEvent.__slots__

    event_type: str
    args: tuple[Any, ...]
    kwargs: Mapping[str, Any]
    timestamp: datetime
    issued_at: datetime | None
    expires_at: datetime | None
    ip: str | None
    user_agent: str
    referer: str
    token: str
    legacy: bool
    destination: str
    link_name: str
    classification: Classification | None
    recipient: str | None
    consent: Consent
    campaign: str | None
    message: str | None


_FULL = Consent.FULL


def new_event(
    event_type: str,
    args: Sequence[Any],
    kwargs: Mapping[str, Any],
    timestamp: datetime,
    issued_at: datetime | None,
    expires_at: datetime | None,
    ip: str | None,
    user_agent: str,
    referer: str,
    token: str,
    legacy: bool = False,
    destination: str = "",
    link_name: str = "",
    classification: Classification | None = None,
    recipient: str | None = None,
    campaign: str | None = None,
    message: str | None = None,
) -> PixelEvent:
    """``PixelEvent(event_type=event_type, ...)``, made faster."""
    event = _new(_Filling)
    event.event_type = event_type
    event.args = args if args.__class__ is tuple else tuple(args)
    event.kwargs = MappingProxyType(dict(kwargs))
    event.timestamp = timestamp
    event.issued_at = issued_at
    event.expires_at = expires_at
    event.ip = ip
    event.user_agent = user_agent
    event.referer = referer
    event.token = token
    event.legacy = legacy
    event.destination = destination
    event.link_name = link_name
    event.classification = classification
    event.recipient = recipient
    event.consent = _FULL
    event.campaign = campaign
    event.message = message
    event.__class__ = PixelEvent  # type: ignore[assignment]
    return event  # type: ignore[return-value]
