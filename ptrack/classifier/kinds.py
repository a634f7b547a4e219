"""The kinds of load the classifier tells apart, and the verdict it gives on one.

Only ``human`` and ``mail_proxy`` count as opens: a provider's image proxy
fetches because a person is viewing the mail.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol


class Kind(str, Enum):
    """Who fetched the pixel; each member is its string value."""

    HUMAN = "human"
    MAIL_PROXY = "mail_proxy"
    PRIVACY_PREFETCH = "privacy_prefetch"
    SECURITY_SCANNER = "security_scanner"
    BOT = "bot"

    def __str__(self) -> str:
        return self.value


KINDS: frozenset[str] = frozenset(kind.value for kind in Kind)
# Kind(value) by a dict: the Enum's own lookup costs several times more.
_KIND_BY_VALUE: dict[str, Kind] = {kind.value: kind for kind in Kind}
OPEN_KINDS: frozenset[Kind] = frozenset({Kind.HUMAN, Kind.MAIL_PROXY})


@dataclass(frozen=True, slots=True)
class Classification:
    """The verdict on one load: its kind and the name of the rule that decided."""

    kind: Kind  # who fetched the pixel
    reason: str  # short, stable rule name, e.g. "gmail_image_proxy"

    @property
    def counts_as_open(self) -> bool:
        """True for a person, directly or through their provider's image proxy."""
        return self.kind in OPEN_KINDS

    def to_dict(self) -> dict[str, str]:
        """``{"kind": ..., "reason": ...}``, as ``PixelEvent.to_dict()`` carries it."""
        return {"kind": self.kind.value, "reason": self.reason}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Classification:
        """The classification ``to_dict()`` gave."""
        return cls(Kind(data["kind"]), str(data["reason"]))


def admitted(kinds: Collection[str] | None, classification: Classification | None) -> bool:
    """Whether a filter on ``kinds`` (``None``: every kind) lets an event so classified
    through; an event the classifier could not judge always passes."""
    return kinds is None or classification is None or classification.kind in kinds


class Classifier(Protocol):
    """The signature ``PTRACK_CLASSIFIER`` must name."""

    def __call__(
        self,
        user_agent: str,
        headers: Mapping[str, str],
        ip: str | None,
        *,
        method: str = "GET",
        seconds_since_issued: float | None = None,
    ) -> Classification: ...
