"""Pixel links made by django-ptrack 3.x, read (never made) so that sent emails keep recording.

3.x put ``json.dumps((args, kwargs))`` in the URL, encrypted with PyNaCl's
``SecretBox`` (XSalsa20-Poly1305) under its ``PTRACK_SECRET`` right-padded with
``{`` to 32 bytes: the 24-byte nonce, then the ciphertext with its 16-byte
authenticator, URL-safe base64 with ``=`` padding. ptrack tries a pixel token
as such a link only when the encoder in force rejects it and
``PTRACK_LEGACY_SECRET`` holds the 3.x secret, until ``PTRACK_LEGACY_UNTIL``.
PyNaCl (``pip install 'django-ptrack[legacy]'``) is imported only then.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import TYPE_CHECKING, Any

from ptrack.conf import cached, conf
from ptrack.exceptions import ExpiredToken, InvalidToken
from ptrack.tokens import DecodedToken

if TYPE_CHECKING:
    from nacl.secret import SecretBox

logger = logging.getLogger("ptrack")

KEY_SIZE = 32  # SecretBox's key; 3.x padded PTRACK_SECRET to it
_PADDING = "{"
# The shortest token a SecretBox can open: nonce and authenticator, no message.
_MIN_RAW = 24 + 16


def legacy_key(secret: object) -> bytes:
    """The SecretBox key 3.x made from its ``PTRACK_SECRET``.

    Raises ``ValueError`` for a secret 3.x could not have encrypted with: not a
    ``str``, or longer than 32 characters or bytes (3.x padded by characters, so
    only ASCII secrets made a 32-byte key).
    """
    if isinstance(secret, str):
        key = (secret + _PADDING * (KEY_SIZE - len(secret))).encode("utf-8")
        if len(key) == KEY_SIZE:
            return key
        detail = f"{len(secret)} characters in {len(secret.encode('utf-8'))} bytes"
    else:
        detail = type(secret).__name__
    raise ValueError(
        f"PTRACK_LEGACY_SECRET should be the PTRACK_SECRET of django-ptrack 3.x, a str of "
        f"at most {KEY_SIZE} ASCII characters, not {detail}"
    )


def cutoff(until: object) -> datetime | None:
    """``PTRACK_LEGACY_UNTIL`` as the aware moment legacy links stop recording.

    A date means the end of that day, UTC. Raises ``ValueError`` for anything
    but ``None``, a date or an aware datetime.
    """
    if until is None:
        return None
    if isinstance(until, datetime):
        if until.utcoffset() is None:
            raise ValueError(f"PTRACK_LEGACY_UNTIL should be aware, not the naive {until!r}")
        return until
    if isinstance(until, date):
        try:
            return datetime.combine(until + timedelta(days=1), time.min, tzinfo=timezone.utc)
        except OverflowError:
            return None  # date.max: the window never closes, in practice
    raise ValueError(f"PTRACK_LEGACY_UNTIL should be a date or datetime, not {until!r}")


@dataclass(frozen=True, slots=True)
class Reader:
    """Reads 3.x pixel tokens with the current ``PTRACK_LEGACY_*`` settings."""

    box: SecretBox
    crypto_error: type[Exception]  # nacl.exceptions.CryptoError, imported with the box
    until: datetime | None
    max_length: int

    def decode(self, token: str) -> DecodedToken:
        """A 3.x token's data. Raises ``InvalidToken``, or ``ExpiredToken`` past the cutoff."""
        if len(token) > self.max_length:
            raise InvalidToken(f"Token is longer than {self.max_length} characters.")
        try:
            encoded = token.encode("ascii")
            raw = base64.urlsafe_b64decode(encoded)
        except (UnicodeError, binascii.Error) as e:
            raise InvalidToken("Not URL-safe base64.") from e
        # Python's decoder skips stray characters and spare bits: only the
        # spelling 3.x wrote may verify, as for every other token.
        if base64.urlsafe_b64encode(raw) != encoded:
            raise InvalidToken("Not canonical URL-safe base64.")
        if len(raw) < _MIN_RAW:
            raise InvalidToken("Too short for a SecretBox message.")
        try:
            data = self.box.decrypt(raw)
        except self.crypto_error as e:
            raise InvalidToken("Does not decrypt with PTRACK_LEGACY_SECRET.") from e
        try:
            payload = json.loads(data.decode("utf-8"))
        except Exception as e:  # only the key's holder reaches this: be thorough anyway
            raise InvalidToken(f"Could not load the payload: {e}") from e
        if not (
            type(payload) is list
            and len(payload) == 2
            and type(payload[0]) is list
            and type(payload[1]) is dict
        ):
            raise InvalidToken("Payload is not [args, kwargs].")
        if self.until is not None and datetime.now(timezone.utc) >= self.until:
            raise ExpiredToken(
                "Link from django-ptrack 3.x loaded after PTRACK_LEGACY_UNTIL.",
                issued_at=None,
                expires_at=self.until,
            )
        return DecodedToken(tuple(payload[0]), payload[1], None, None)

    def decode_rejected(self, token: str, rejected: Exception) -> DecodedToken:
        """``decode()`` for a pixel token the encoder in force rejected with ``rejected``."""
        try:
            return self.decode(token)
        except ExpiredToken:
            raise
        except InvalidToken as e:
            raise InvalidToken(f"{rejected} As a django-ptrack 3.x link: {e}") from None


@cached
def reader() -> Reader | None:
    """The reader of 3.x links for the current settings; ``None`` when they read none."""
    secret = conf.LEGACY_SECRET
    if secret is None or secret == "":
        return None
    try:
        key = legacy_key(secret)
        until = cutoff(conf.LEGACY_UNTIL)
        from nacl.exceptions import CryptoError
        from nacl.secret import SecretBox
    except (ValueError, ImportError) as e:
        # Reported by the system checks; logged once per settings change, not per load.
        logger.error("Links from django-ptrack 3.x are not read: %s", e)
        return None
    return Reader(SecretBox(key), CryptoError, until, conf.MAX_TOKEN_LENGTH)


def decrypt(token: str) -> tuple[list[Any], dict[str, Any]]:
    """``(args, kwargs)`` of a 3.x pixel token, as 3.x's ``ptrack_encoder.decrypt()`` gave them.

    For scripts that read old pixel URLs; uses ``PTRACK_LEGACY_SECRET`` and
    ``PTRACK_LEGACY_UNTIL``. Raises ``InvalidToken`` (``ExpiredToken`` after the
    cutoff) for anything else, or when those settings do not read 3.x links.
    """
    legacy = reader()
    if legacy is None:
        raise InvalidToken("PTRACK_LEGACY_SECRET is not set, or not usable (see manage.py check).")
    decoded = legacy.decode(token)
    return list(decoded.args), decoded.kwargs
