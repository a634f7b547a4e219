"""Rendering a campaign's email and sending it through Django's mail machinery."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import make_msgid

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.backends.base import BaseEmailBackend
from django.template.loader import render_to_string
from django.utils import timezone

import ptrack
from campaigns.mail import default_mailer
from campaigns.models import Campaign, Delivery, Recipient

# The first argument of the campaign email's pixel and links; ptrack.store counts them
# by the campaign they name, whatever it is.
EMAIL = "email"

Progress = Callable[[int, int], None]  # (emails sent so far, emails to send)


@dataclass(frozen=True)
class SendReport:
    sent: int  # emails sent by this run
    skipped: int  # recipients who already had this campaign
    seconds: float


def render_email(
    campaign: Campaign,
    recipient: Recipient,
    *,
    tracking_expires_at: datetime | None,
    tagged: bool | None = None,
) -> EmailMultiAlternatives:
    """The campaign's email to one recipient: plain text, with the HTML beside it.

    The templates are plain: the message is marked for ptrack's tracking backend,
    which adds the open pixel, turns every link into a click link and records the
    message in ptrack.store (named by its campaign) when it sends it. With
    ``tagged`` (by default ``MAILROOM_TAGGED_TEMPLATES``) the templates place the
    pixel and links by hand instead, naming the campaign: ptrack.store counts their
    loads and clicks for it, but only the tracking backend gives each message an id,
    so the store knows no message of theirs (no ``sent``, no unique counts).
    """
    if tagged is None:
        tagged = settings.MAILROOM_TAGGED_TEMPLATES
    templates = "campaigns/email/campaign_tagged" if tagged else "campaigns/email/campaign"
    context = {
        "campaign": campaign,
        "recipient": recipient,
        # The pixel's and the links' own expiry; None leaves it to PTRACK_MAX_AGE (never,
        # here). An expired link still takes the reader to the page, unrecorded.
        "tracking_expires_at": tracking_expires_at,
        "preferences_url": f"{settings.MAILROOM_SITE_URL}/pages/preferences/",
        # Where the recipient stops the tracking, in every email whatever their level.
        "withdrawal_url": ptrack.withdrawal_url(recipient.key),
    }
    message = EmailMultiAlternatives(
        subject=campaign.subject,
        body=render_to_string(f"{templates}.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[str(recipient)],
        headers={"Message-ID": make_msgid(domain="mailroom.example")},
    )
    message.attach_alternative(render_to_string(f"{templates}.html", context), "text/html")
    if not tagged:
        # The recipient is named by their opaque key apart from the pixel's data, never in
        # it: at the aggregate level ptrack drops the key, and the data must not name them.
        # An expired link still takes the reader to the page, unrecorded.
        ptrack.track_message(
            message,
            ptrack.Pixel(EMAIL),
            campaign=campaign.name,
            expires=tracking_expires_at,
            text=True,
            recipient=recipient.key,
        )
    return message


def send_campaign(
    campaign: Campaign,
    *,
    connection: BaseEmailBackend | None = None,
    progress: Progress | None = None,
) -> SendReport:
    """Send the campaign to each of its recipients who has not had it yet.

    Each email is recorded as a ``Delivery`` right after it goes out, so an
    interrupted run picks up where it stopped; ptrack's tracking backend records
    it in ptrack.store as it sends it.
    """
    started = time.monotonic()
    recipients = campaign.recipients.all()
    pending = recipients.exclude(deliveries__campaign=campaign).order_by("pk")
    total = pending.count()
    skipped = recipients.count() - total
    if progress:
        progress(0, total)
    sent = 0
    backend = connection or default_mailer()
    new_connection = backend.open()
    try:
        for recipient in pending.iterator():
            sent_at = timezone.now()
            window: timedelta | None = campaign.tracking_window
            expires_at = sent_at + window if window else None
            message = render_email(campaign, recipient, tracking_expires_at=expires_at)
            backend.send_messages([message])
            Delivery.objects.create(
                campaign=campaign,
                recipient=recipient,
                sent_at=sent_at,
                tracking_expires_at=expires_at,
            )
            sent += 1
            if progress:
                progress(sent, total)
    finally:
        if new_connection:
            backend.close()
    return SendReport(sent=sent, skipped=skipped, seconds=time.monotonic() - started)
