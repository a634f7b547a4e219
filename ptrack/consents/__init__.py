"""A ready consent store for ``PTRACK_CONSENT`` and ``PTRACK_CONSENT_WITHDRAW``.

Add ``"ptrack.consents"`` to ``INSTALLED_APPS``, migrate, and set
``PTRACK_CONSENT = "ptrack.consents.level"`` and
``PTRACK_CONSENT_WITHDRAW = "ptrack.consents.withdraw_from_link"``. Importing
this package loads no model, so settings may name it.
"""

from __future__ import annotations

from ptrack.consents.api import grant, history, level, withdraw, withdraw_from_link

__all__ = ["grant", "history", "level", "withdraw", "withdraw_from_link"]
