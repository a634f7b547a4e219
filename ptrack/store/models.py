"""What the store keeps: campaigns and their counters, sent messages, links, and events.

Numbers are read from counters (``CampaignTotal``, ``CampaignHour``, ``Link``),
which recording keeps up to date batch by batch; the rows about messages and
events say what happened to each message, and go when retention or
``forget()`` says so, while the counters stay.
"""

from __future__ import annotations

from django.db import models

from ptrack.consent import RECIPIENT_MAX_LENGTH
from ptrack.links import CAMPAIGN_MAX_LENGTH

# A message id travels in every link of its message: short, random, URL-safe.
MESSAGE_ID_LENGTH = 16
# A counter's name: "sent", "opens", ..., "machine_loads:bot" (ptrack.store.numbers).
METRIC_MAX_LENGTH = 40


class Campaign(models.Model):
    """A named group of messages: what ``campaign=`` names."""

    name = models.CharField(max_length=CAMPAIGN_MAX_LENGTH, unique=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ("-created_at", "name")

    def __str__(self) -> str:
        return self.name or "(no campaign)"


class CampaignTotal(models.Model):
    """One counter of a campaign since it began; never purged."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="totals")
    metric = models.CharField(max_length=METRIC_MAX_LENGTH)
    value = models.BigIntegerField(default=0)

    class Meta:
        constraints = (
            models.UniqueConstraint(
                fields=("campaign", "metric"), name="ptrack_store_total_unique"
            ),
        )

    def __str__(self) -> str:
        return f"{self.campaign}: {self.metric} = {self.value}"


class CampaignHour(models.Model):
    """One counter of a campaign within one hour (UTC); never purged."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="hours")
    hour = models.DateTimeField()
    metric = models.CharField(max_length=METRIC_MAX_LENGTH)
    value = models.BigIntegerField(default=0)

    class Meta:
        constraints = (
            models.UniqueConstraint(
                fields=("campaign", "hour", "metric"), name="ptrack_store_hour_unique"
            ),
        )

    def __str__(self) -> str:
        return f"{self.campaign} {self.hour:%Y-%m-%d %H}h: {self.metric} = {self.value}"


class Link(models.Model):
    """One link of a campaign's emails (its name and destination) and its clicks."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="links")
    # A digest of name and destination: a destination is too long for a unique index.
    key = models.CharField(max_length=32)
    name = models.CharField(max_length=200, blank=True)
    destination = models.TextField()
    clicks = models.BigIntegerField(default=0)  # people's clicks
    unique_clicks = models.BigIntegerField(default=0)  # messages with a person's click on it
    machine_clicks = models.BigIntegerField(default=0)  # machines following it

    class Meta:
        constraints = (
            models.UniqueConstraint(fields=("campaign", "key"), name="ptrack_store_link_unique"),
        )
        ordering = ("campaign", "name", "destination")

    def __str__(self) -> str:
        return f"{self.name or '?'}: {self.destination}"


class Message(models.Model):
    """One message sent to one recipient, and what people and machines did with it."""

    message_id = models.CharField(max_length=MESSAGE_ID_LENGTH)
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="messages")
    #: The consent key, else a keyed hash of the address (ptrack.store.keys); never the address.
    recipient = models.CharField(max_length=RECIPIENT_MAX_LENGTH)
    sent_at = models.DateTimeField(db_index=True)
    first_open_at = models.DateTimeField(null=True, blank=True)
    last_open_at = models.DateTimeField(null=True, blank=True)
    opens = models.IntegerField(default=0)  # people's opens, a click without one counting
    first_click_at = models.DateTimeField(null=True, blank=True)
    clicks = models.IntegerField(default=0)  # people's clicks
    #: Loads by machines, per kind (ptrack.Kind, or "unknown" when unclassified).
    machine_loads = models.JSONField(default=dict, blank=True)
    #: Its one open so far is a person's click's, until a load of it is recorded.
    implied_open = models.BooleanField(default=False)

    class Meta:
        ordering = ("-sent_at", "-pk")
        indexes = (
            # A campaign's messages in the order the admin lists them and the CSV exports
            # them: read from the index, not sorted, whatever the campaign's size.
            models.Index(fields=("campaign", "sent_at", "id"), name="ptrack_store_msg_sent"),
            models.Index(fields=("recipient",), name="ptrack_store_msg_recipient"),
        )
        # Declared here rather than on the fields: a field's own unique or db_index also
        # gets a second, LIKE index on PostgreSQL, which no lookup here uses and every
        # insert pays for (ptrack.store.recording).
        constraints = (
            models.UniqueConstraint(fields=("message_id",), name="ptrack_store_msg_id_unique"),
        )

    def __str__(self) -> str:
        return self.message_id


class MessageLink(models.Model):
    """A person's clicks on one link of one message: what makes a link's unique clicks."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="clicked_links")
    link = models.ForeignKey(Link, on_delete=models.CASCADE, related_name="message_clicks")
    clicks = models.IntegerField(default=0)
    first_at = models.DateTimeField()

    class Meta:
        constraints = (
            models.UniqueConstraint(fields=("message", "link"), name="ptrack_store_clicked_unique"),
        )

    def __str__(self) -> str:
        return f"{self.message}: {self.link}"


class Event(models.Model):
    """One load or click as recorded; its key makes recording it twice a no-op."""

    key = models.CharField(max_length=32)  # a digest of the whole event, unique
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="events")
    message = models.ForeignKey(
        Message,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="events",
        db_index=False,  # ptrack_store_evt_msg_at serves it
    )
    #: The consent key the link named, "" when it named nobody (or only counts were allowed).
    recipient = models.CharField(max_length=RECIPIENT_MAX_LENGTH, blank=True)
    event_type = models.CharField(max_length=16)  # ptrack.EventType
    kind = models.CharField(max_length=20)  # ptrack.Kind, or "unknown"
    at = models.DateTimeField(db_index=True)
    link = models.ForeignKey(
        Link, on_delete=models.CASCADE, null=True, blank=True, related_name="events"
    )
    # Only with PTRACK_STORE_CLIENT.
    ip = models.CharField(max_length=64, blank=True)
    user_agent = models.TextField(blank=True)

    class Meta:
        ordering = ("-at", "-pk")
        indexes = (
            # A message's latest events, for its admin page, read from the index: by the index
            # on times alone, PostgreSQL read back from the newest event of every message.
            models.Index(fields=("message", "at", "id"), name="ptrack_store_evt_msg_at"),
            # As Message's: without the LIKE indexes that a field's unique or db_index adds.
            models.Index(fields=("recipient",), name="ptrack_store_event_recipient"),
        )
        constraints = (models.UniqueConstraint(fields=("key",), name="ptrack_store_event_key"),)

    def __str__(self) -> str:
        return f"{self.event_type} by {self.kind} at {self.at.isoformat()}"


class RecipientDay(models.Model):
    """The day of a recipient's last known open, all a ``"deliverability"`` level allows."""

    recipient = models.CharField(max_length=RECIPIENT_MAX_LENGTH, unique=True)
    last_open = models.DateField()

    def __str__(self) -> str:
        return f"{self.recipient}: {self.last_open.isoformat()}"
