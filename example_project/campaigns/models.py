from __future__ import annotations

import re
import secrets

from django.db import models
from django.db.models.signals import post_delete
from django.dispatch import receiver
from django.urls import reverse

from ptrack import store
from ptrack.links import CAMPAIGN_MAX_LENGTH

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
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("email",)

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>" if self.name else self.email


class Campaign(models.Model):
    # Also the campaign's name in ptrack.store (``campaign=`` when sending): fixed once sent.
    name = models.CharField(max_length=CAMPAIGN_MAX_LENGTH, unique=True)
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
    """One email of a campaign, sent to one recipient: the site's own send log.

    ptrack.store keeps its own row of each tracked message, but not of a message
    to a recipient at the "aggregate" or "none" level, and not past retention or
    ``forget()``: whether a recipient already had a campaign is the site's to know.
    """

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="deliveries")
    recipient = models.ForeignKey(Recipient, on_delete=models.CASCADE, related_name="deliveries")
    sent_at = models.DateTimeField()
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


@receiver(post_delete, sender=Recipient)
def _forget(sender: type[Recipient], instance: Recipient, **kwargs: object) -> None:
    """A recipient deleted is forgotten by ptrack.store too: the GDPR's erasure, in one place."""
    store.forget(instance.key)
