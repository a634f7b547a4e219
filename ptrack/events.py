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


# Each pixel load makes one event; filling the slots directly skips the frozen
# dataclass's per-field object.__setattr__ and keyword parsing, a quarter of
# the cost of verifying the token, for the same immutable result.
_new = object.__new__
_slot = {f.name: PixelEvent.__dict__[f.name].__set__ for f in fields(PixelEvent)}
_set_event_type, _set_args, _set_kwargs, _set_timestamp, _set_issued_at = (
    _slot[name] for name in ("event_type", "args", "kwargs", "timestamp", "issued_at")
)
_set_expires_at, _set_ip, _set_user_agent, _set_referer, _set_token = (
    _slot[name] for name in ("expires_at", "ip", "user_agent", "referer", "token")
)
_set_classification, _set_recipient, _set_consent, _set_campaign, _set_message = (
    _slot[name] for name in ("classification", "recipient", "consent", "campaign", "message")
)
_set_legacy, _set_destination, _set_link_name = (
    _slot[name] for name in ("legacy", "destination", "link_name")
)


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
    event = _new(PixelEvent)
    _set_event_type(event, event_type)
    _set_args(event, args if args.__class__ is tuple else tuple(args))
    _set_kwargs(event, MappingProxyType(dict(kwargs)))
    _set_timestamp(event, timestamp)
    _set_issued_at(event, issued_at)
    _set_expires_at(event, expires_at)
    _set_ip(event, ip)
    _set_user_agent(event, user_agent)
    _set_referer(event, referer)
    _set_token(event, token)
    _set_legacy(event, legacy)
    _set_destination(event, destination)
    _set_link_name(event, link_name)
    _set_classification(event, classification)
    _set_recipient(event, recipient)
    _set_consent(event, Consent.FULL)
    _set_campaign(event, campaign)
    _set_message(event, message)
    return event
