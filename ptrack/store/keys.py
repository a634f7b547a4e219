"""Who a message went to, as the store writes it down: never the address itself.

A site that names recipients with an opaque key (``recipient=``, for consent)
gets that key; otherwise the address is hashed with a key derived from
Django's ``SECRET_KEY`` (HMAC-SHA256), so that the store can find a person's
rows again without being a second copy of the mailing list. Keys derived with
``SECRET_KEY_FALLBACKS`` are found too, so ``forget()`` reaches rows written
before a key rotation.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from email.utils import parseaddr

from django.conf import settings
from django.utils.crypto import salted_hmac

from ptrack.store.models import MESSAGE_ID_LENGTH

_SALT = "ptrack.store.recipient"
# Hashed keys start so, which no consent key can (an address would have an "@").
HASHED_PREFIX = "h:"
_DIGEST_CHARS = 40


def address_key(address: str, secret: str | bytes | None = None) -> str:
    """The store's key for an email ``address`` (``"Name <a@example.com>"`` or the bare
    address, compared case-insensitively)."""
    normalised = (parseaddr(address)[1] or address).strip().lower()
    digest = salted_hmac(_SALT, normalised, secret=secret, algorithm="sha256").hexdigest()
    return HASHED_PREFIX + digest[:_DIGEST_CHARS]


def address_keys(address: str) -> list[str]:
    """``address``'s key under ``SECRET_KEY`` and under each of its fallbacks."""
    secrets_ = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", ())]
    return list(dict.fromkeys(address_key(address, secret) for secret in secrets_))


def recipient_key(recipient: str | None, addresses: Iterable[str]) -> str:
    """The key a message is stored under: ``recipient`` (the consent key) when given,
    else the hashed first of ``addresses``; ``""`` when there is neither."""
    if recipient:
        return recipient
    for address in addresses:
        if address and address.strip():
            return address_key(address)
    return ""


def keys_of(recipient: str) -> list[str]:
    """The keys under which ``recipient`` (a consent key or an address) is stored."""
    return address_keys(recipient) if "@" in recipient else [recipient]


def new_message_id() -> str:
    """A fresh, unguessable message id for the links of one message."""
    return secrets.token_urlsafe(MESSAGE_ID_LENGTH * 3 // 4)
