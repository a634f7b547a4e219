"""Message history and campaign numbers: an optional app on top of ptrack's recorders.

Add ``"ptrack.store"`` to ``INSTALLED_APPS`` and migrate: tracked messages are
recorded as they are sent, their loads and clicks by the store's own recorder,
and ``stats(campaign)`` gives the numbers. ``forget()`` and ``purge()`` are the
GDPR tools. Importing this package loads no model, so settings may name it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ptrack.store.erasure import forget, purge
    from ptrack.store.numbers import Bucket, CampaignNumbers, LinkNumbers, stats

__all__ = ["Bucket", "CampaignNumbers", "LinkNumbers", "forget", "purge", "stats"]

_LAZY = {
    "forget": "ptrack.store.erasure",
    "purge": "ptrack.store.erasure",
    "stats": "ptrack.store.numbers",
    "Bucket": "ptrack.store.numbers",
    "CampaignNumbers": "ptrack.store.numbers",
    "LinkNumbers": "ptrack.store.numbers",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'ptrack.store' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_LAZY[name]), name)
