"""The example's consent source and withdrawal hook, which ptrack calls by the
recipient's opaque key (settings: ``PTRACK_CONSENT``, ``PTRACK_CONSENT_WITHDRAW``).

ptrack asks ``level()`` when it renders an email and again at every load of its
pixel and click on its links, so a withdrawal reaches mail already sent.
"""

from __future__ import annotations

from campaigns.models import Recipient


def level(key: str) -> str | None:
    """The recipient's level now; ``None`` for a key we do not know (ptrack then
    applies ``PTRACK_CONSENT_DEFAULT``, "none")."""
    return Recipient.objects.filter(key=key).values_list("consent", flat=True).first()


def withdraw(key: str) -> None:
    """The recipient confirmed on ptrack's withdrawal page: track them no more."""
    Recipient.objects.filter(key=key).update(consent="none")
