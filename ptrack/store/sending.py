"""Messages as they are sent: an id for each message's links, and its row in the store.

``ptrack.mail`` calls ``prepare()`` for each tracked message before it
instruments it, and ``record()`` once messages are out. A message is kept as a
row (and its links carry its id) only when its recipient's consent lets a link
name them; every message counts in its campaign's ``sent``.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.core.mail import EmailMessage
from django.db import router, transaction
from django.utils import timezone

from ptrack import consent
from ptrack.consent import Consent
from ptrack.instrument import Tracking
from ptrack.registry import tracker
from ptrack.store import counters, keys
from ptrack.store.models import Message
from ptrack.store.recording import StoreRecorder

logger = logging.getLogger("ptrack")


@dataclass(frozen=True)
class Sent:
    """One message to remember once it is out."""

    campaign: str  # the campaign's name, "" when the message named none
    recipient: str  # the store's key for its recipient (ptrack.store.keys)
    message_id: str | None  # the id its links carry; None when they carry none
    sent_at: datetime


def active() -> bool:
    """Whether the store records: its recorder is registered (``ptrack.store`` installed)."""
    return tracker.is_registered(StoreRecorder)


def prepare(message: EmailMessage, tracking: Tracking, level: Consent) -> tuple[Tracking, Sent]:
    """``tracking`` with a new message id when ``level`` lets its links name the message,
    and what to record of the message once it is sent."""
    message_id = keys.new_message_id() if level in _NAMED else None
    recipient = ""
    if message_id is not None:
        recipient = keys.recipient_key(tracking.recipient, message.recipients())
        tracking = dataclasses.replace(tracking, message_id=message_id)
    return tracking, Sent(tracking.campaign or "", recipient, message_id, timezone.now())


# The levels under which a message's links may name it; the store knows its recipient.
_NAMED = frozenset({Consent.FULL, Consent.DELIVERABILITY})


def level_of(recipient: str | None) -> Consent:
    """The level a message's links are rendered under, as ``ptrack.links`` decides it."""
    if recipient is not None:
        return consent.level(recipient)
    return Consent.FULL if consent.at_load() is None else consent.unnamed_level()


def record(sent: Sequence[Sent]) -> None:
    """Write down messages that went out; logged, not raised, if the database fails, since
    the messages are sent whatever happens here."""
    if not sent:
        return
    try:
        _record(sent)
    except Exception:
        logger.exception(
            "ptrack.store could not record %d sent messages; their opens and clicks count "
            "for their campaign only.",
            len(sent),
        )


def _record(sent: Sequence[Sent]) -> None:
    using = router.db_for_write(Message)
    with transaction.atomic(using=using):
        campaigns = counters.campaign_ids((s.campaign for s in sent), using)
        deltas = counters.Deltas()
        rows = []
        for s in sent:
            campaign_id = campaigns[s.campaign]
            deltas.add(campaign_id, s.sent_at, "sent")
            if s.message_id is not None:
                deltas.add(campaign_id, s.sent_at, "tracked")
                rows.append(
                    Message(
                        message_id=s.message_id,
                        campaign_id=campaign_id,
                        recipient=s.recipient,
                        sent_at=s.sent_at,
                    )
                )
        Message.objects.using(using).bulk_create(rows)
        deltas.save(using)
