"""The event a recorder receives when a pixel loads."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from types import MappingProxyType
from typing import Any


class EventType:
    """The kinds of event; a string constant each."""

    LOADED = "loaded"  # a client fetched the pixel with a valid token


_TIMES = ("timestamp", "issued_at", "expires_at")


@dataclass(frozen=True, slots=True, kw_only=True)
class PixelEvent:
    """One pixel load: the link's data and the context of the request.

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
            data[f.name] = value
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PixelEvent:
        values = dict(data)
        for name in _TIMES:
            if values.get(name):
                values[name] = datetime.fromisoformat(values[name])
        return cls(**values)
