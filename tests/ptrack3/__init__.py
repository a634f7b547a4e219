"""Pixel tokens of django-ptrack 3.x: the ones 3.0.0 itself minted, and a helper for more.

``tokens.json`` was written by ``mint.py`` running the real django-ptrack 3.0.0
from PyPI (``nox -s ptrack3_tokens``). ``mint()`` makes tokens the same way for
hostile variations; a test checks it matches 3.0.0 byte for byte.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from nacl.secret import SecretBox
from nacl.utils import random

FIXTURES: dict[str, Any] = json.loads((Path(__file__).parent / "tokens.json").read_text())
TOKENS: list[dict[str, Any]] = FIXTURES["tokens"]
SECRET = "my-3.x-ptrack-secret"  # the first secret mint.py used, and the README's example


def key(secret: str = SECRET) -> bytes:
    return (secret + "{" * (32 - len(secret))).encode("utf-8")


def seal(plaintext: bytes, secret: str = SECRET, nonce: bytes | None = None) -> str:
    """Any bytes in 3.x's box: the nonce and ciphertext, URL-safe base64 with padding."""
    box = SecretBox(key(secret))
    sealed = box.encrypt(plaintext, nonce if nonce is not None else random(24))
    return base64.urlsafe_b64encode(bytes(sealed)).decode()


def mint(*args: Any, secret: str = SECRET, nonce: bytes | None = None, **kwargs: Any) -> str:
    """A pixel token as 3.x's ``ptrack_encoder.encrypt(*args, **kwargs)`` made it."""
    return seal(json.dumps((args, kwargs)).encode("utf-8"), secret, nonce)


def token(case: str, secret: str = SECRET) -> str:
    """The token 3.0.0 minted for ``case`` under ``secret``."""
    [entry] = [t for t in TOKENS if t["case"] == case and t["secret"] == secret]
    return str(entry["token"])
