"""Encoders turn a pixel's arguments into the token in its URL, and back.

An encoder is a class with two static methods, as in the library ptrack
continues::

    encrypt(*args, **kwargs) -> str
    decrypt(token: str) -> (args, kwargs)

``decrypt`` signals a token it cannot accept by raising
``ptrack.exceptions.InvalidToken`` or a ``ValueError``; the pixel view answers
those quietly. Any other exception is logged as a bug in the encoder.

Encoders may also offer ``encode(args, kwargs, *, max_age=None) -> str`` and
``decode(token) -> DecodedToken``, which carry a per-link expiry and the time
the link was issued; ptrack uses them when present. An ``encode()`` that also
takes ``recipient=None`` can carry whom the link is for (``DecodedToken.recipient``),
and one that takes ``campaign=None`` and ``message=None`` the campaign and message
it belongs to (``DecodedToken.campaign``, ``.message``; ``ptrack.store`` needs them).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, cast, runtime_checkable

from django.utils.module_loading import import_string

from ptrack import tokens
from ptrack.conf import cached, clear_caches, conf
from ptrack.exceptions import InvalidToken
from ptrack.tokens import DecodedToken

if TYPE_CHECKING:
    from cryptography.fernet import MultiFernet


@runtime_checkable
class Encoder(Protocol):
    """The shape every encoder has."""

    @staticmethod
    def encrypt(*args: Any, **kwargs: Any) -> str: ...

    @staticmethod
    def decrypt(token: str) -> tuple[Sequence[Any], Mapping[str, Any]]: ...


class SignedEncoder:
    """The default encoder: a signed, timestamped token (see ``ptrack.tokens``)."""

    @staticmethod
    def encrypt(*args: Any, **kwargs: Any) -> str:
        return tokens.dumps(args, kwargs)

    @staticmethod
    def decrypt(token: str) -> tuple[tuple[Any, ...], dict[str, Any]]:
        decoded = tokens.loads(token)
        return decoded.args, decoded.kwargs

    @staticmethod
    def encode(
        args: Sequence[Any],
        kwargs: Mapping[str, Any],
        *,
        max_age: int | None = None,
        recipient: str | None = None,
        campaign: str | None = None,
        message: str | None = None,
    ) -> str:
        return tokens.dumps(
            args, kwargs, max_age=max_age, recipient=recipient, campaign=campaign, message=message
        )

    @staticmethod
    def decode(token: str) -> DecodedToken:
        return tokens.loads(token)


@cached
def _fernet() -> MultiFernet:
    from cryptography.fernet import Fernet, MultiFernet

    def fernet(secret: str | bytes) -> Fernet:
        key = secret.encode() if isinstance(secret, str) else secret
        derived = hmac.new(key, b"ptrack.fernet", hashlib.sha256).digest()
        return Fernet(base64.urlsafe_b64encode(derived))

    return MultiFernet([fernet(conf.SECRET), *map(fernet, conf.SECRET_FALLBACKS)])


class FernetEncoder:
    """Encrypts the signed token with Fernet, hiding its data from recipients.

    The Fernet keys are derived from the signing key and its fallbacks, so
    rotation and mirror deployments work as for signed tokens. Needs the
    ``cryptography`` package (``pip install django-ptrack[fernet]``).
    """

    @staticmethod
    def encrypt(*args: Any, **kwargs: Any) -> str:
        return FernetEncoder.encode(args, kwargs)

    @staticmethod
    def decrypt(token: str) -> tuple[tuple[Any, ...], dict[str, Any]]:
        decoded = FernetEncoder.decode(token)
        return decoded.args, decoded.kwargs

    @staticmethod
    def encode(
        args: Sequence[Any],
        kwargs: Mapping[str, Any],
        *,
        max_age: int | None = None,
        recipient: str | None = None,
        campaign: str | None = None,
        message: str | None = None,
    ) -> str:
        signed = tokens.dumps(
            args, kwargs, max_age=max_age, recipient=recipient, campaign=campaign, message=message
        )
        return _fernet().encrypt(signed.encode()).decode()

    @staticmethod
    def decode(token: str) -> DecodedToken:
        from cryptography.fernet import InvalidToken as FernetInvalidToken

        if len(token) > conf.MAX_TOKEN_LENGTH:
            raise InvalidToken(f"Token is longer than {conf.MAX_TOKEN_LENGTH} characters.")
        try:
            raw = token.encode("ascii")
            # Spare bits in base64's last character would let altered spellings
            # of a token decrypt; accept only the canonical one.
            if base64.urlsafe_b64encode(base64.urlsafe_b64decode(raw)) != raw:
                raise InvalidToken("Token is not canonical base64.")
            signed = _fernet().decrypt(raw)
        except (FernetInvalidToken, UnicodeError, binascii.Error) as e:
            raise InvalidToken("Token does not decrypt with any current or fallback key.") from e
        return tokens.loads(signed.decode())


_override: type[Encoder] | None = None


def set_encoder(encoder: type[Encoder] | None) -> None:
    """Put ``encoder`` in force instead of ``PTRACK_ENCODER``; ``None`` restores it.

    This is what ``ptrack.ptrack_encoder = MyEncoder`` does.
    """
    global _override
    if encoder is not None and not is_encoder(encoder):
        raise TypeError(
            f"ptrack.ptrack_encoder should be a class with static encrypt() and "
            f"decrypt() methods, not {encoder!r}."
        )
    _override = encoder
    clear_caches()


def get_override() -> type[Encoder] | None:
    return _override


def is_encoder(value: object) -> bool:
    return isinstance(value, type) and all(
        callable(getattr(value, name, None)) for name in ("encrypt", "decrypt")
    )


@cached
def get_encoder() -> type[Encoder]:
    """The encoder in force: ``ptrack.ptrack_encoder`` if assigned, else ``PTRACK_ENCODER``."""
    if _override is not None:
        return _override
    return cast("type[Encoder]", import_string(conf.ENCODER))


@cached
def _handlers() -> tuple[Any, Callable[..., str] | None, Callable[[str], Any] | None, int]:
    # What encode() and decode() need, looked up once per settings change.
    encoder: Any = get_encoder()
    encode = getattr(encoder, "encode", None)
    decode = getattr(encoder, "decode", None)
    if encoder is SignedEncoder:
        # The codec's own method: one call less on every load (both are rebuilt
        # on the same settings change).
        encode, decode = tokens.dumps, tokens._codec().loads
    return encoder, encode, decode, conf.MAX_TOKEN_LENGTH


@cached
def _takes_recipient() -> bool:
    return _takes("recipient")


@cached
def _takes_campaign() -> bool:
    return _takes("campaign") and _takes("message")


def _takes(name: str) -> bool:
    encode = _handlers()[1]
    try:
        parameters = inspect.signature(encode).parameters if encode else {}
    except (TypeError, ValueError):
        return False
    return name in parameters or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()
    )


def encode(
    args: Sequence[Any],
    kwargs: Mapping[str, Any],
    *,
    max_age: int | None = None,
    recipient: str | None = None,
    campaign: str | None = None,
    message: str | None = None,
) -> str:
    """Make the token for a link with the encoder in force."""
    encoder, encode, _decode, _limit = _handlers()
    if campaign is not None or message is not None:
        if not _takes_campaign():
            raise TypeError(
                f"The encoder {encoder.__qualname__} has no encode() that takes campaign= and "
                f"message=, so its links cannot name their campaign and message; add those "
                f"parameters to encode() and carry them in DecodedToken.campaign and .message."
            )
        return cast(
            str,
            encode(  # type: ignore[misc]
                args,
                kwargs,
                max_age=max_age,
                recipient=recipient,
                campaign=campaign,
                message=message,
            ),
        )
    if recipient is not None:
        if not _takes_recipient():
            raise TypeError(
                f"The encoder {encoder.__qualname__} has no encode() that takes recipient=, "
                f"so its links cannot name their recipient; add that parameter to encode() "
                f"and carry it in DecodedToken.recipient."
            )
        return cast(str, encode(args, kwargs, max_age=max_age, recipient=recipient))  # type: ignore[misc]
    if encode is not None:
        return encode(args, kwargs, max_age=max_age)
    if max_age is not None:
        raise TypeError(
            f"The encoder {encoder.__qualname__} has no encode() method, so it cannot "
            f"give a link its own expiry; use PTRACK_MAX_AGE or add encode()."
        )
    tokens.check_json(args, kwargs)
    return cast(str, encoder.encrypt(*args, **kwargs))


def encoder(
    args: Sequence[Any],
    kwargs: Mapping[str, Any],
    *,
    max_age: int | None = None,
    recipient: str | None = None,
    campaign: str | None = None,
    message: str | None = None,
) -> Callable[[Any], str]:
    """``encode()`` for many links that differ only in a first positional argument.

    ``encode_first(first)`` makes the token ``encode([first, *args], kwargs, ...)``
    does; with the default encoder, what the links share is prepared once.
    """
    if _handlers()[1] is tokens.dumps:
        return tokens.dumper(
            args, kwargs, max_age=max_age, recipient=recipient, campaign=campaign, message=message
        )

    def encode_first(first: Any) -> str:
        return encode(
            [first, *args],
            kwargs,
            max_age=max_age,
            recipient=recipient,
            campaign=campaign,
            message=message,
        )

    return encode_first


def decode(token: str) -> DecodedToken:
    """Verify a token with the encoder in force.

    Raises ``InvalidToken`` (or ``ValueError``) for tokens that do not verify,
    before any decoding work for tokens over ``PTRACK_MAX_TOKEN_LENGTH``, and
    ``TypeError`` when the encoder returns something other than
    ``(args, kwargs)``.
    """
    encoder, _encode, decode, limit = _handlers()
    if len(token) > limit:
        raise InvalidToken(f"Token is longer than {limit} characters.")
    if decode is not None:
        return cast(DecodedToken, decode(token))
    result = encoder.decrypt(token)
    try:
        args, kwargs = result
    except (TypeError, ValueError):
        args = kwargs = None
    if not (
        isinstance(args, (list, tuple))
        and isinstance(kwargs, Mapping)
        and all(isinstance(key, str) for key in kwargs)
    ):
        raise TypeError(
            f"{encoder.__qualname__}.decrypt() should return (args, kwargs), not {result!r}."
        )
    return DecodedToken(tuple(args), dict(kwargs), None, None)
