"""Signed pixel tokens: the default way ptrack carries a pixel's data in its URL.

A token is an itsdangerous URL-safe timed token (compact JSON, zlib-compressed
when that is shorter, HMAC-SHA256) over ``[args, kwargs]``, or
``[args, kwargs, max_age]`` when the link carries its own expiry. The salt
namespaces pixel tokens, so no other value the site signs verifies as one.
Tokens are signed, not encrypted: whoever holds the URL can read its data, but
nobody without the key can forge or alter it.
"""

from __future__ import annotations

import hashlib
import math
import time
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from itsdangerous import BadData, BadPayload, TimestampSigner, URLSafeTimedSerializer
from itsdangerous.encoding import base64_decode, base64_encode, want_bytes
from itsdangerous.url_safe import URLSafeSerializerMixin

from ptrack.conf import cached, conf
from ptrack.exceptions import ExpiredToken, InvalidToken, PixelValueError

SALT = "ptrack.pixel"

# A token is at most PTRACK_MAX_TOKEN_LENGTH characters; its decompressed JSON
# may be at most this many times longer, so a small token cannot inflate into
# a large allocation.
DECOMPRESSED_RATIO = 16

JSON_TYPES = "str, int, float, bool, None, list, and dict with str keys"


@dataclass(frozen=True, slots=True)
class DecodedToken:
    """What a verified token carries."""

    args: tuple[Any, ...]  # positional arguments given when the link was made
    kwargs: dict[str, Any]  # keyword arguments given when the link was made
    issued_at: datetime | None  # aware UTC time the link was signed; None if unknown
    expires_at: datetime | None  # aware UTC time the link stops recording; None = never


class _Signer(TimestampSigner):
    """Accepts only the canonical base64 spelling of a signature.

    base64 leaves spare bits in a signature's last character, so several
    spellings decode to the same bytes; allowing just one means no altered
    token ever verifies.
    """

    def verify_signature(self, value: str | bytes, sig: str | bytes) -> bool:
        sig = want_bytes(sig)
        try:
            canonical = base64_encode(base64_decode(sig)) == sig
        except Exception:
            return False
        return canonical and super().verify_signature(value, sig)


class _Serializer(URLSafeTimedSerializer):
    """itsdangerous' serializer, with decompression bounded by the token cap."""

    def load_payload(self, payload: bytes, *args: Any, **kwargs: Any) -> Any:
        if not payload.startswith(b"."):
            return super().load_payload(payload, *args, **kwargs)
        try:
            data = base64_decode(payload[1:])
            inflater = zlib.decompressobj()
            limit = conf.MAX_TOKEN_LENGTH * DECOMPRESSED_RATIO
            data = inflater.decompress(data, limit)
        except Exception as e:
            raise BadPayload("Could not decompress the payload.", original_error=e) from e
        if inflater.unconsumed_tail or not inflater.eof:
            raise BadPayload(f"Decompressed payload is incomplete or over {limit} bytes.")
        # The mixin's own load_payload would inflate again; go to JSON directly.
        return super(URLSafeSerializerMixin, self).load_payload(data, *args, **kwargs)


@cached
def serializer() -> URLSafeTimedSerializer:
    """The serializer for the current keys; rebuilt when settings change."""
    # itsdangerous signs with the last key and tries them newest first; Django's
    # fallback lists run newest first, so they go in reversed, before the key.
    keys: list[Any] = [*reversed(conf.SECRET_FALLBACKS), conf.SECRET]
    return _Serializer(
        keys,
        salt=SALT,
        signer=_Signer,
        signer_kwargs={"key_derivation": "hmac", "digest_method": hashlib.sha256},
    )


def max_age_seconds(value: float | timedelta | None) -> int | None:
    """Normalise a max age (seconds or timedelta) to whole seconds, rounding up."""
    if value is None:
        return None
    seconds = value.total_seconds() if isinstance(value, timedelta) else value
    return math.ceil(seconds)


def check_json(args: Sequence[Any], kwargs: Mapping[str, Any]) -> None:
    """Raise ``PixelValueError`` naming the first argument JSON cannot carry unchanged."""
    for index, value in enumerate(args):
        _check_value(value, f"positional argument {index}")
    for name, value in kwargs.items():
        _check_value(value, f"keyword argument {name!r}")


def _check_value(value: Any, where: str) -> None:
    if value is None or isinstance(value, (str, bool, int)):
        return
    if isinstance(value, float):
        if math.isfinite(value):
            return
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_value(item, f"{where}[{index}]")
        return
    elif isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise PixelValueError(
                    f"ptrack cannot carry {where}: its key {key!r} is a "
                    f"{type(key).__name__}, and JSON object keys arrive as str."
                )
            _check_value(item, f"{where}[{key!r}]")
        return
    raise PixelValueError(
        f"ptrack cannot carry {where} = {value!r} ({type(value).__name__}); "
        f"a pixel carries only {JSON_TYPES}, which arrive unchanged."
    )


def dumps(args: Sequence[Any], kwargs: Mapping[str, Any], *, max_age: int | None = None) -> str:
    """Sign ``args`` and ``kwargs`` into a URL-safe token.

    ``max_age`` (whole seconds) gives this link its own expiry, overriding
    ``PTRACK_MAX_AGE``.
    """
    check_json(args, kwargs)
    payload: list[Any] = [list(args), dict(kwargs)]
    if max_age is not None:
        payload.append(max_age)
    return serializer().dumps(payload)


def _utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=timezone.utc)


def loads(token: str) -> DecodedToken:
    """Verify a token and return its data.

    Raises ``InvalidToken`` for anything not signed by a current or fallback
    key under ptrack's salt, and ``ExpiredToken`` for a genuine link past its
    expiry.
    """
    if len(token) > conf.MAX_TOKEN_LENGTH:
        raise InvalidToken(f"Token is longer than {conf.MAX_TOKEN_LENGTH} characters.")
    try:
        payload, signed = serializer().loads(token, return_timestamp=True)
    except BadData as e:
        raise InvalidToken(str(e)) from e
    if not (
        isinstance(payload, list)
        and len(payload) in (2, 3)
        and isinstance(payload[0], list)
        and isinstance(payload[1], dict)
    ):
        raise InvalidToken("Token payload is not [args, kwargs].")
    if len(payload) == 3:
        max_age = payload[2]
        if type(max_age) is not int or max_age <= 0:
            raise InvalidToken("Token max age is not a positive integer.")
    else:
        max_age = max_age_seconds(conf.MAX_AGE)
    issued = signed.timestamp()
    now = time.time()
    if now < issued:
        raise InvalidToken("Token was signed in the future.")
    expires_at = None if max_age is None else _utc(issued + max_age)
    if max_age is not None and now - issued > max_age:
        raise ExpiredToken(
            f"Link expired at {expires_at:%Y-%m-%d %H:%M:%S} UTC.",
            issued_at=signed,
            expires_at=expires_at,
        )
    return DecodedToken(tuple(payload[0]), payload[1], signed, expires_at)
