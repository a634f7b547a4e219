"""The recorder: ptrack imports this module at startup and calls it for each valid pixel load.

Expired and forged links never reach it; ptrack answers them with the same
transparent GIF and records nothing.
"""

from __future__ import annotations

import logging

from django.conf import settings

import ptrack
from campaigns.models import Delivery, Open

logger = logging.getLogger(__name__)

OPEN = "open"  # the first argument of the campaign email's pixel: {% ptrack 'open' ... %}


@ptrack.tracker.register
class EmailOpenRecorder(ptrack.TrackingPixel):
    """Stores an ``Open`` for each load of a campaign email's pixel."""

    # In a task worker instead of during the request when MAILROOM_BACKGROUND is set.
    background = settings.MAILROOM_BACKGROUND

    def record_event(self, event: ptrack.PixelEvent) -> None:
        if event.args != (OPEN,):
            return  # another pixel of the site, not a campaign email's
        campaign_id = event.kwargs.get("campaign_id")
        recipient_id = event.kwargs.get("recipient_id")
        # The link is genuine, but the campaign or recipient may since have been deleted.
        if not Delivery.objects.filter(campaign_id=campaign_id, recipient_id=recipient_id).exists():
            logger.info(
                "Pixel for campaign %r and recipient %r, which had no delivery; not recorded.",
                campaign_id,
                recipient_id,
            )
            return
        Open.objects.create(
            campaign_id=campaign_id,
            recipient_id=recipient_id,
            opened_at=event.timestamp,
            ip=event.ip,
            user_agent=event.user_agent,
            referer=event.referer,
            link_issued_at=event.issued_at,
            link_expires_at=event.expires_at,
        )
