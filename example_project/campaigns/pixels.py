"""The recorder: ptrack imports this module at startup and calls it for each valid
pixel load and each click on a tracked link.

Expired and forged links never reach it: ptrack answers a pixel with the same
transparent GIF, and an expired click link with the redirect, and records
nothing. Nor does a load of a recipient whose consent level is "none"; at
"aggregate" the event names nobody, and at "deliverability" it carries only the
recipient and the day (campaigns/consent.py answers ptrack which).
"""

from __future__ import annotations

import logging

from django.conf import settings

import ptrack
from campaigns.models import Click, Delivery, Open, Recipient

logger = logging.getLogger(__name__)

# The first argument of the campaign email's pixel and links: the one pixel the
# tracking backend instruments the email with (campaigns/sending.py), or in the
# tagged templates {% ptrack 'open' ... %} and {% ptrack_link url 'click' ... %}.
EMAIL = "email"
OPEN = "open"
CLICK = "click"


@ptrack.tracker.register
class EmailRecorder(ptrack.TrackingPixel):
    """Stores an ``Open`` for each load of a campaign email's pixel, and a ``Click``
    for each click on one of its links."""

    event_types = frozenset({ptrack.EventType.LOADED, ptrack.EventType.CLICKED})
    # In a task worker instead of during the request when MAILROOM_BACKGROUND is set.
    background = settings.MAILROOM_BACKGROUND

    def record_event(self, event: ptrack.PixelEvent) -> None:
        if event.consent is ptrack.Consent.DELIVERABILITY:
            # Only the recipient and the day: no campaign, no pixel data to tell it by.
            self._reached(event)
            return
        clicked = event.event_type == ptrack.EventType.CLICKED
        if event.args not in ((EMAIL,), (CLICK,) if clicked else (OPEN,)):
            return  # another pixel or link of the site, not a campaign email's
        campaign_id = event.kwargs.get("campaign_id")
        # The recipient is who ptrack says the link was for, never the link's data: at
        # the aggregate level ptrack leaves it out, and the Open names nobody.
        recipient_id = None
        if event.recipient is not None:
            recipient_id = (
                Recipient.objects.filter(key=event.recipient).values_list("pk", flat=True).first()
            )
            delivered = Delivery.objects.filter(campaign_id=campaign_id, recipient_id=recipient_id)
        else:
            delivered = Delivery.objects.filter(campaign_id=campaign_id)
        # The link is genuine, but the campaign or recipient may since have been deleted.
        if not delivered.exists():
            logger.info(
                "%s for campaign %r and recipient %r, which had no delivery; not recorded.",
                "Click" if clicked else "Pixel",
                campaign_id,
                event.recipient,
            )
            return
        classification = event.classification  # None only if the classifier failed
        kind = classification.kind.value if classification else ""
        reason = classification.reason if classification else ""
        by_person = classification.counts_as_open if classification else True
        if clicked:
            Click.objects.create(
                kind=kind,
                reason=reason,
                by_person=by_person,
                campaign_id=campaign_id,
                recipient_id=recipient_id,
                clicked_at=event.timestamp,
                # The tagged templates name the link in its data; the tracking
                # backend takes the link's data-ptrack-name (or its position).
                link=event.kwargs.get("link") or event.link_name,
                destination=event.destination,
                ip=event.ip,
                user_agent=event.user_agent,
                link_issued_at=event.issued_at,
            )
            return
        Open.objects.create(
            kind=kind,
            reason=reason,
            counts_as_open=by_person,
            campaign_id=campaign_id,
            recipient_id=recipient_id,
            opened_at=event.timestamp,
            ip=event.ip,
            user_agent=event.user_agent,
            referer=event.referer,
            link_issued_at=event.issued_at,
            link_expires_at=event.expires_at,
        )

    def _reached(self, event: ptrack.PixelEvent) -> None:
        if event.event_type != ptrack.EventType.LOADED or event.recipient is None:
            return
        Recipient.objects.filter(key=event.recipient).update(last_reached_on=event.timestamp.date())
