"""Encoders the tests install with ``PTRACK_ENCODER`` or ``ptrack.ptrack_encoder``."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from typing import Any

import ptrack

received: list[tuple[tuple[Any, ...], dict[str, Any]]] = []


class Base64Encoder:
    """A legacy-shape encoder: static encrypt/decrypt only (no signing!)."""

    @staticmethod
    def encrypt(*args: Any, **kwargs: Any) -> str:
        received.append((args, kwargs))
        return base64.urlsafe_b64encode(json.dumps([args, kwargs]).encode()).decode()

    @staticmethod
    def decrypt(token: str) -> tuple[Sequence[Any], Mapping[str, Any]]:
        args, kwargs = json.loads(base64.urlsafe_b64decode(token))
        return args, kwargs


class SpacedEncoder:
    """Makes tokens with characters that reverse() quotes."""

    @staticmethod
    def encrypt(*args: Any, **kwargs: Any) -> str:
        return "a token/with spaces%" + ptrack.SignedEncoder.encrypt(*args, **kwargs)

    @staticmethod
    def decrypt(token: str) -> tuple[Any, Any]:
        return ptrack.SignedEncoder.decrypt(token.removeprefix("a token/with spaces%"))
