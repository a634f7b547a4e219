"""Hooks for the whole-email settings, named by dotted path as a site names its own."""

from __future__ import annotations

from typing import Any


def utm_tags(message: Any) -> dict[str, str] | None:
    """PTRACK_UTM: the message's subject as the campaign; nothing for HTML tracked alone."""
    if message is None:
        return None
    return {"source": "newsletter", "medium": "email", "campaign": message.subject}


def wrong_tags(message: Any) -> object:
    return ["source", "newsletter"]
