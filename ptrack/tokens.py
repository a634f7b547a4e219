"""Signed pixel tokens: the default way ptrack carries a pixel's data in its URL.

A token is an itsdangerous URL-safe timed token (compact JSON, zlib-compressed
when that is shorter, HMAC-SHA256) over ``[args, kwargs]``, or
``[args, kwargs, max_age]`` when the link carries its own expiry, or
``[args, kwargs, max_age or null, recipient]`` when it names its recipient, and
``[args, kwargs, max_age or null, recipient or null, campaign]`` or
``[..., campaign, message]`` when it names its campaign and message (``ptrack.store``);
a link without them is exactly what it was before they existed. The salt
namespaces pixel tokens, so no other value the site signs verifies as one.
Tokens are signed, not encrypted: whoever holds the URL can read its data, but
nobody without the key can forge or alter it.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import json
import math
import time
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from typing import Any

from itsdangerous import BadData, BadPayload, TimestampSigner, URLSafeTimedSerializer
from itsdangerous.exc import BadTimeSignature

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
    recipient: str | None = None  # the opaque key of whom the link is for; None if untold
    campaign: str | None = None  # the campaign the link belongs to; None if untold
    message: str | None = None  # the id of its message (ptrack.store); None if untold


# Every verified token makes one, filled as ptrack.events.new_event() fills an
# event: as a plain class with DecodedToken's slots, which then becomes one.
_new = object.__new__


class _Filling:
    __slots__ = DecodedToken.__slots__

    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    issued_at: datetime | None
    expires_at: datetime | None
    recipient: str | None
    campaign: str | None
    message: str | None


def _decoded(
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    issued_at: datetime,
    expires_at: datetime | None,
    recipient: str | None,
    campaign: str | None,
    message: str | None,
) -> DecodedToken:
    """``DecodedToken(args, kwargs, ...)``, made faster."""
    decoded = _new(_Filling)
    decoded.args = args
    decoded.kwargs = kwargs
    decoded.issued_at = issued_at
    decoded.expires_at = expires_at
    decoded.recipient = recipient
    decoded.campaign = campaign
    decoded.message = message
    decoded.__class__ = DecodedToken  # type: ignore[assignment]
    return decoded  # type: ignore[return-value]


def _inflate(payload: bytes, limit: int) -> bytes:
    try:
        data = _unb64(payload)  # as itsdangerous' base64_decode, without its Python layers
        inflater = zlib.decompressobj()
        data = inflater.decompress(data, limit)
    except Exception as e:
        raise BadPayload("Could not decompress the payload.", original_error=e) from e
    if inflater.unconsumed_tail or not inflater.eof:
        raise BadPayload(f"Decompressed payload is incomplete or over {limit} bytes.")
    return data


@cached
def serializer() -> URLSafeTimedSerializer:
    """Plain itsdangerous for the current keys: the reference for the token format.

    ptrack signs and verifies with its own faster ``_Codec``; tokens from either
    verify with the other.
    """
    return URLSafeTimedSerializer(_keys(), salt=SALT, signer_kwargs=_SIGNER_KWARGS)


_SIGNER_KWARGS: dict[str, Any] = {"key_derivation": "hmac", "digest_method": hashlib.sha256}


def _keys() -> list[Any]:
    # itsdangerous signs with the last key and tries them newest first; Django's
    # fallback lists run newest first, so they go in reversed, before the key.
    return [*reversed(conf.SECRET_FALLBACKS), conf.SECRET]


def max_age_seconds(value: float | timedelta | None) -> int | None:
    """Normalise a max age (seconds or timedelta) to whole seconds, rounding up."""
    if value is None:
        return None
    seconds = value.total_seconds() if isinstance(value, timedelta) else value
    return math.ceil(seconds)


def check_json(args: Sequence[Any], kwargs: Mapping[str, Any]) -> None:
    """Raise ``PixelValueError`` naming the first argument JSON cannot carry unchanged."""
    for index, value in enumerate(args):
        if type(value) not in _SCALARS:
            _check_value(value, f"positional argument {index}")
    for name, value in kwargs.items():
        if type(value) not in _SCALARS:
            _check_value(value, f"keyword argument {name!r}")


# Types that need no further look: most pixel arguments are ids and short strings.
_SCALARS = frozenset({str, int, bool, type(None)})


def _check_value(value: Any, where: str) -> None:
    if value is None or isinstance(value, (str, bool, int)):
        return
    if isinstance(value, float):
        if math.isfinite(value):
            return
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if type(item) not in _SCALARS:
                _check_value(item, f"{where}[{index}]")
        return
    elif isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise PixelValueError(
                    f"ptrack cannot carry {where}: its key {key!r} is a "
                    f"{type(key).__name__}, and JSON object keys arrive as str."
                )
            if type(item) not in _SCALARS:
                _check_value(item, f"{where}[{key!r}]")
        return
    raise PixelValueError(
        f"ptrack cannot carry {where} = {value!r} ({type(value).__name__}); "
        f"a pixel carries only {JSON_TYPES}, which arrive unchanged."
    )


def dumps(
    args: Sequence[Any],
    kwargs: Mapping[str, Any],
    *,
    max_age: int | None = None,
    recipient: str | None = None,
    campaign: str | None = None,
    message: str | None = None,
) -> str:
    """Sign ``args`` and ``kwargs`` into a URL-safe token.

    ``max_age`` (whole seconds) gives this link its own expiry, overriding
    ``PTRACK_MAX_AGE``; ``recipient`` names whom the link is for, apart from
    its data (``ptrack.consent.check_recipient()`` says what it may be);
    ``campaign`` and ``message`` name the campaign and the message the link
    belongs to (a message only within a campaign).
    """
    check_json(args, kwargs)
    payload: list[Any] = [
        args if type(args) in (list, tuple) else list(args),
        kwargs if type(kwargs) is dict else dict(kwargs),
        *_trailer(max_age, recipient, campaign, message),
    ]
    return _codec().dumps(payload)


def _trailer(
    max_age: int | None, recipient: str | None, campaign: str | None, message: str | None
) -> list[Any]:
    """What follows ``[args, kwargs]`` in a payload: as few items as say it all."""
    if message is not None:
        return [max_age, recipient, campaign or "", message]
    if campaign is not None:
        return [max_age, recipient, campaign]
    if recipient is not None:
        return [max_age, recipient]
    return [] if max_age is None else [max_age]


def dumper(
    args: Sequence[Any],
    kwargs: Mapping[str, Any],
    *,
    max_age: int | None = None,
    recipient: str | None = None,
    campaign: str | None = None,
    message: str | None = None,
) -> Callable[[Any], str]:
    """``dumps()`` for many tokens that differ only in a first positional argument.

    ``dump(first)`` gives ``dumps([first, *args], kwargs, ...)``, the same
    token: the links of one email share everything but their destination, so
    all the rest is checked and written as JSON once, here.
    """
    check_json(args, kwargs)
    rest = _dump_json(list(args))[1:-1]
    shared = [dict(kwargs), *_trailer(max_age, recipient, campaign, message)]
    tail = ("," + rest if rest else "") + "]," + _dump_json(shared)[1:]
    codec = _codec()

    def dump(first: Any) -> str:
        if type(first) not in _SCALARS:
            _check_value(first, "positional argument 0")
        return codec.sign(("[[" + _dump_json(first) + tail).encode())

    return dump


def _utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=timezone.utc)


def _expiry(timestamp: int) -> datetime | None:
    try:
        return _utc(timestamp)
    except (OverflowError, ValueError, OSError):
        return None  # past the last date a datetime can hold: never, in practice


def loads(token: str) -> DecodedToken:
    """Verify a token and return its data.

    Raises ``InvalidToken`` for anything not signed by a current or fallback
    key under ptrack's salt, and ``ExpiredToken`` for a genuine link past its
    expiry.
    """
    return _codec().loads(token)


_scan_json = json.JSONDecoder().scan_once  # type: ignore[attr-defined]
_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")
_FROM_URLSAFE = bytes.maketrans(b"-_", b"+/")
# Compact JSON as itsdangerous writes it. JSONEncoder.encode() builds a new C
# encoder per call; build it once when the C accelerator is there.
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False)
if c_make_encoder is not None:
    _c_encoder = c_make_encoder(
        None, _JSON.default, encode_basestring, None, ":", ",", False, False, True
    )

    def _dump_json(obj: Any) -> str:
        return "".join(_c_encoder(obj, 0))

else:  # pragma: no cover - CPython always has the accelerator

    def _dump_json(obj: Any) -> str:
        return _JSON.encode(obj)


# JSON up to this size is compressed with a window and memory level fitted to it,
# which gives the same result as zlib's defaults without allocating their
# quarter megabyte for every token.
_SMALL_JSON = 240


def _b64(data: bytes) -> bytes:
    return binascii.b2a_base64(data, newline=False).translate(_TO_URLSAFE).rstrip(b"=")


def _unb64(data: bytes) -> bytes:
    # As itsdangerous decodes: URL-safe alphabet, padding optional.
    return binascii.a2b_base64(data.translate(_FROM_URLSAFE) + b"=" * (-len(data) % 4))


def _hmac_pads(key: bytes) -> tuple[Any, Any]:
    """SHA-256 states with HMAC's inner and outer padded keys already absorbed.

    HMAC(key, m) = H(key ^ opad || H(key ^ ipad || m)) (RFC 2104); copying these
    two states per message skips hashing the key and, unlike ``hmac.HMAC.copy()``,
    stays in C.
    """
    if len(key) > _SHA256_BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_SHA256_BLOCK, b"\0")
    return (
        hashlib.sha256(key.translate(_IPAD)),
        hashlib.sha256(key.translate(_OPAD)),
    )


_SHA256_BLOCK = 64
_IPAD = bytes(byte ^ 0x36 for byte in range(256))
_OPAD = bytes(byte ^ 0x5C for byte in range(256))


class _Codec:
    """Signs and verifies itsdangerous tokens with everything derived once.

    Plain itsdangerous builds a signer, derives the key and keys a new HMAC for
    every token; here each key is derived and keyed once, per settings change,
    and only copied per token. Tokens have the format ``serializer()`` makes and
    reads, and plain itsdangerous verifies them.
    """

    def __init__(
        self,
        derived_keys: Sequence[bytes],
        max_token_length: int,
        site_max_age: float | timedelta | None,  # PTRACK_MAX_AGE
    ) -> None:
        self._macs = [_hmac_pads(key) for key in derived_keys]
        self._max_token_length = max_token_length
        self._inflate_limit = max_token_length * DECOMPRESSED_RATIO
        self._site_max_age = max_age_seconds(site_max_age)
        self._stamp: tuple[int, bytes] = (-1, b"")

    @staticmethod
    def _signature(value: bytes, pads: tuple[Any, Any]) -> bytes:
        inner = pads[0].copy()
        inner.update(value)
        outer = pads[1].copy()
        outer.update(inner.digest())
        return _b64(outer.digest())

    def dumps(self, payload: list[Any]) -> str:
        return self.sign(_dump_json(payload).encode())

    def sign(self, data: bytes) -> str:
        """The token of a payload already written as JSON."""
        if len(data) <= _SMALL_JSON:
            compressor = zlib.compressobj(6, zlib.DEFLATED, 9, 2)
            compressed = compressor.compress(data) + compressor.flush()
        else:
            compressed = zlib.compress(data)
        body = b"." + _b64(compressed) if len(compressed) < len(data) - 1 else _b64(data)
        now = int(time.time())
        stamp = self._stamp
        if stamp[0] != now:
            stamp = self._stamp = (now, _b64(now.to_bytes(8, "big").lstrip(b"\0")))
        value = body + b"." + stamp[1]
        return (value + b"." + self._signature(value, self._macs[0])).decode("ascii")

    def loads(self, token: str) -> DecodedToken:
        if len(token) > self._max_token_length:
            raise InvalidToken(f"Token is longer than {self._max_token_length} characters.")
        try:
            value, dot, sig = token.encode("ascii").rpartition(b".")
        except UnicodeEncodeError:
            raise InvalidToken("Token is not ASCII.") from None
        if not dot:
            raise InvalidToken("No '.' found in the token.")
        # Comparing the encoded signatures accepts only the canonical spelling:
        # base64 leaves spare bits in the last character, and no altered
        # spelling of a genuine token may verify. _signature() and _utc() are
        # written out here, on the hot path: calling them cost 6% of verifying.
        for inner, outer in self._macs:
            inner = inner.copy()
            inner.update(value)
            outer = outer.copy()
            outer.update(inner.digest())
            if hmac.compare_digest(_b64(outer.digest()), sig):
                break
        else:
            raise InvalidToken(f"Signature {sig!r} does not match.")
        body, dot, stamp = value.rpartition(b".")
        try:
            raw_stamp = _unb64(stamp)
            if not dot or len(raw_stamp) > 8:
                raise BadTimeSignature("Malformed timestamp")
            issued = int.from_bytes(raw_stamp, "big")
            signed = datetime.fromtimestamp(issued, timezone.utc)
        except (BadData, ValueError, OverflowError, OSError) as e:
            raise InvalidToken("Malformed timestamp.") from e
        try:
            if body.startswith(b"."):
                data = _inflate(body[1:], self._inflate_limit)
            else:
                data = _unb64(body)
            text = data.decode("utf-8")
            try:
                payload, end = _scan_json(text, 0)  # raw_decode() without its Python layer
            except (StopIteration, ValueError):
                end = -1
            if end != len(text):
                # Whitespace or trailing data: let json.loads accept or refuse it.
                payload = json.loads(text)
        except BadPayload as e:
            raise InvalidToken(str(e)) from e
        except Exception as e:
            raise InvalidToken(f"Could not load the payload: {e}") from e
        if not (
            type(payload) is list
            and len(payload) in (2, 3, 4, 5, 6)
            and type(payload[0]) is list
            and type(payload[1]) is dict
        ):
            raise InvalidToken("Token payload is not [args, kwargs].")
        recipient = campaign = message = None
        if len(payload) >= 4:
            recipient = payload[3]
            if len(payload) > 4:
                campaign, message = _campaign_and_message(payload)
            if (recipient is not None or len(payload) == 4) and (
                type(recipient) is not str or not recipient
            ):
                raise InvalidToken("Token recipient is not a non-empty string.")
        if len(payload) == 3 or (len(payload) > 3 and payload[2] is not None):
            max_age = payload[2]
            if type(max_age) is not int or max_age <= 0:
                raise InvalidToken("Token max age is not a positive integer.")
        else:
            max_age = self._site_max_age
        now = time.time()
        if now < issued:
            raise InvalidToken("Token was signed in the future.")
        if max_age is None:  # the usual case: links that never expire
            return _decoded(
                tuple(payload[0]), payload[1], signed, None, recipient, campaign, message
            )
        expires_at = _expiry(issued + max_age)
        if now - issued > max_age:
            raise ExpiredToken(
                f"Link expired at {expires_at:%Y-%m-%d %H:%M:%S} UTC.",
                issued_at=signed,
                expires_at=expires_at,
                link_args=tuple(payload[0]),
                link_kwargs=payload[1],
            )
        return _decoded(
            tuple(payload[0]), payload[1], signed, expires_at, recipient, campaign, message
        )


def _campaign_and_message(payload: list[Any]) -> tuple[str, str | None]:
    campaign = payload[4]
    if type(campaign) is not str:
        raise InvalidToken("Token campaign is not a string.")
    if len(payload) == 5:
        return campaign, None
    message = payload[5]
    if type(message) is not str or not message:
        raise InvalidToken("Token message is not a non-empty string.")
    return campaign, message


@cached
def _codec() -> _Codec:
    # The signer derives the keys exactly as plain itsdangerous does, newest first.
    signer = TimestampSigner(_keys(), salt=SALT, **_SIGNER_KWARGS)
    return _Codec(
        [signer.derive_key(key) for key in reversed(signer.secret_keys)],
        conf.MAX_TOKEN_LENGTH,
        conf.MAX_AGE,
    )
