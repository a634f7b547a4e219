from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta

from django.db import models
from django.urls import reverse
from django.utils import timezone

from campaigns.useragents import describe_client

# ptrack's kinds of load, as the dashboard names them.
KINDS = [
    ("human", "Person"),
    ("mail_proxy", "Mail provider's proxy"),
    ("privacy_prefetch", "Privacy pre-fetch"),
    ("security_scanner", "Security scanner"),
    ("bot", "Bot"),
]


# ptrack's consent levels, as the recipient chose.
CONSENT_LEVELS = [
    ("full", "Full: opens and clicks, by person"),
    ("deliverability", "Deliverability: only that mail reached them, by day"),
    ("aggregate", "Aggregate: counted, never by person"),
    ("none", "None: no tracking"),
]


def new_recipient_key() -> str:
    """An opaque key naming a recipient in ptrack's links: random, so it says nothing
    about the person to whoever reads a URL, and never their address."""
    return secrets.token_urlsafe(16)


class Recipient(models.Model):
    email = models.EmailField(unique=True)
    name = models.CharField(max_length=200, blank=True)
    key = models.CharField(
        max_length=32,
        unique=True,
        default=new_recipient_key,
        editable=False,
        help_text="Names the recipient in ptrack's links (PTRACK_CONSENT asks by it).",
    )
    consent = models.CharField(
        max_length=14,
        choices=CONSENT_LEVELS,
        default="full",
        help_text="How much the recipient lets us record; asked at every load.",
    )
    last_reached_on = models.DateField(
        null=True,
        blank=True,
        help_text="The last day one of our emails was loaded, as the deliverability level "
        "records it: no campaign, no time of day.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("email",)

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>" if self.name else self.email


class Campaign(models.Model):
    name = models.CharField(max_length=200, unique=True)
    subject = models.CharField(max_length=200)
    preheader = models.CharField(
        max_length=200, blank=True, help_text="Preview text most inboxes show after the subject."
    )
    body = models.TextField(help_text="Plain text; a blank line starts a new paragraph.")
    button_label = models.CharField(max_length=80, blank=True)
    button_url = models.URLField(blank=True)
    tracking_window = models.DurationField(
        null=True,
        blank=True,
        help_text="Opens are recorded for this long after each email is sent "
        "(the pixel links expire); empty records them for as long as the links exist. "
        "Format: [DD] [HH:[MM:]]ss.",
    )
    recipients = models.ManyToManyField(Recipient, related_name="campaigns", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-created_at", "-pk")

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("campaigns:dashboard", args=[self.pk])

    def paragraphs(self) -> list[str]:
        return [part.strip() for part in re.split(r"\n\s*\n", self.body.strip()) if part.strip()]


class Delivery(models.Model):
    """One email of a campaign, sent to one recipient."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="deliveries")
    recipient = models.ForeignKey(Recipient, on_delete=models.CASCADE, related_name="deliveries")
    sent_at = models.DateTimeField()
    message_id = models.CharField(max_length=255)
    tracking_expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-sent_at", "-pk")
        verbose_name_plural = "deliveries"
        constraints = (
            models.UniqueConstraint(
                fields=("campaign", "recipient"), name="one_delivery_per_recipient"
            ),
        )

    def __str__(self) -> str:
        return f"{self.campaign} to {self.recipient}"

    @property
    def tracking_expired(self) -> bool:
        return self.tracking_expires_at is not None and self.tracking_expires_at <= timezone.now()


class Open(models.Model):
    """One load of an email's tracking pixel, as the recorder in pixels.py stored it."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="opens")
    # None: recorded at the aggregate level, which never names the recipient.
    recipient = models.ForeignKey(
        Recipient, on_delete=models.CASCADE, related_name="opens", null=True, blank=True
    )
    opened_at = models.DateTimeField()
    ip = models.GenericIPAddressField("IP address", null=True, blank=True)
    user_agent = models.TextField(blank=True)
    referer = models.TextField(blank=True)
    link_issued_at = models.DateTimeField(
        null=True, blank=True, help_text="When the pixel link was signed, i.e. the mail rendered."
    )
    link_expires_at = models.DateTimeField(null=True, blank=True)
    # ptrack's classification of the load: who fetched the pixel, and the rule that said so.
    kind = models.CharField(
        max_length=20, blank=True, choices=KINDS, help_text="Empty: not classified."
    )
    reason = models.CharField(max_length=60, blank=True)
    counts_as_open = models.BooleanField(
        default=True,
        help_text="A person opened the mail, directly or through their provider's proxy; "
        "not a pre-fetch, a scanner or a bot.",
    )

    class Meta:
        ordering = ("-opened_at", "-pk")
        indexes = (models.Index(fields=("campaign", "opened_at"), name="open_campaign_time"),)

    def __str__(self) -> str:
        who = self.recipient or "Someone"
        return f"{who} opened {self.campaign} at {self.opened_at:%Y-%m-%d %H:%M:%S}"

    @property
    def client(self) -> str:
        return describe_client(self.user_agent)

    @property
    def delay(self) -> timedelta | None:
        """How long after the mail was rendered it was opened."""
        issued: datetime | None = self.link_issued_at
        return None if issued is None else self.opened_at - issued


class Click(models.Model):
    """One click on a link in a campaign email, as the recorder in pixels.py stored it."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="clicks")
    # None: recorded at the aggregate level, which never names the recipient.
    recipient = models.ForeignKey(
        Recipient, on_delete=models.CASCADE, related_name="clicks", null=True, blank=True
    )
    clicked_at = models.DateTimeField()
    link = models.CharField(max_length=100, blank=True, help_text="Which link of the email.")
    destination = models.TextField(help_text="Where the link sent the reader.")
    ip = models.GenericIPAddressField("IP address", null=True, blank=True)
    user_agent = models.TextField(blank=True)
    link_issued_at = models.DateTimeField(
        null=True, blank=True, help_text="When the link was signed, i.e. the mail rendered."
    )
    # ptrack's classification of the click, as for opens: scanners follow links too.
    kind = models.CharField(
        max_length=20, blank=True, choices=KINDS, help_text="Empty: not classified."
    )
    reason = models.CharField(max_length=60, blank=True)
    by_person = models.BooleanField(
        default=True, help_text="A person clicked, not a pre-fetch, a scanner or a bot."
    )

    class Meta:
        ordering = ("-clicked_at", "-pk")
        indexes = (models.Index(fields=("campaign", "clicked_at"), name="click_campaign_time"),)

    def __str__(self) -> str:
        what = self.link or self.destination
        return (
            f"{self.recipient or 'Someone'} clicked {what} at {self.clicked_at:%Y-%m-%d %H:%M:%S}"
        )
