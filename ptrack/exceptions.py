"""Exceptions raised by django-ptrack."""

from __future__ import annotations

from datetime import datetime
from typing import Any


class PtrackError(Exception):
    """Base class of every exception ptrack raises."""


class PtrackRegistrationError(PtrackError):
    """A recorder class cannot be registered (wrong type, or registered twice)."""


class PixelValueError(PtrackError, ValueError):
    """A pixel argument cannot travel in a token without changing (not JSON)."""


class PixelURLTooLong(PtrackError, ValueError):
    """The pixel URL would exceed ``PTRACK_MAX_URL_LENGTH``."""


class InvalidDestination(PtrackError, ValueError):
    """A click link's destination is refused: not an absolute http(s) URL, or unsafe."""


class InvalidToken(PtrackError):
    """A token did not verify: forged, tampered, truncated, oversized or foreign.

    Encoders raise this (or a ``ValueError``) from ``decrypt()`` for input they
    cannot accept; the pixel view answers such requests quietly.
    """


class ExpiredToken(InvalidToken):
    """A genuine token whose link has expired."""

    def __init__(
        self,
        message: str,
        *,
        issued_at: datetime | None,
        expires_at: datetime | None,
        link_args: tuple[Any, ...] | None = None,
        link_kwargs: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        # When the link was signed and when it stopped being valid (aware, UTC).
        self.issued_at = issued_at
        self.expires_at = expires_at
        # What the genuine link carries, when the encoder tells: an expired
        # click link still sends its reader on to the destination.
        self.link_args = link_args
        self.link_kwargs = link_kwargs
