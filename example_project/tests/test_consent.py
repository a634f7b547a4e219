"""Each recipient's consent: campaigns/consent.py answers ptrack, the recorder stores what
the level allows, the withdrawal link in every email stops the tracking of mail already
sent, and the dashboard counts the recipients at each level. ptrack.store keeps what
each level allows."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from campaigns import consent
from campaigns.models import Campaign, Recipient
from campaigns.sending import send_campaign
from django.core import mail
from django.core.management import call_command
from django.test import Client
from freezegun import freeze_time

from ptrack import store
from ptrack.store.models import Event, Message, RecipientDay
from tests.conftest import CHROME, click_url, clicks, html_of, load, loads, pixel_url

WITHDRAWAL_HREF = re.compile(r'<a href="(?P<url>http://testserver/ptrack/w/[\w.\-]+/)"')


def at_level(campaign: Campaign, email: str, level: str) -> Recipient:
    recipient = campaign.recipients.get(email=email)
    recipient.consent = level
    recipient.save(update_fields=["consent"])
    return recipient


def withdrawal_url(message: mail.EmailMessage) -> str:
    [match] = WITHDRAWAL_HREF.finditer(html_of(message))
    return match["url"]


def test_the_source_answers_each_recipients_level(campaign: Campaign) -> None:
    recipient = at_level(campaign, "person1@example.com", "aggregate")

    assert consent.level(recipient.key) == "aggregate"
    assert consent.level("no-such-key") is None  # ptrack then applies PTRACK_CONSENT_DEFAULT


def test_withdrawing_sets_the_level_to_none(campaign: Campaign) -> None:
    recipient = campaign.recipients.get(email="person0@example.com")

    consent.withdraw(recipient.key)

    recipient.refresh_from_db()
    assert recipient.consent == "none"


def test_each_recipient_has_an_opaque_key_of_their_own(campaign: Campaign) -> None:
    keys = list(campaign.recipients.values_list("key", flat=True))

    assert len(set(keys)) == len(keys) == 3
    assert all(len(key) >= 20 and "@" not in key and "person" not in key for key in keys)


def test_the_pixel_names_the_recipient_by_key_only(sent: list[mail.EmailMessage]) -> None:
    recipient = Recipient.objects.get(email="person0@example.com")
    url = pixel_url(sent[0])

    assert ptrack_data(url) == ("Launch", True, recipient.key)
    assert "person0" not in html_of(sent[0]).split("<img")[-1]


def ptrack_data(url: str) -> tuple[str | None, bool, str | None]:
    """The campaign a pixel names, whether it names its message, and its recipient."""
    import ptrack.tracking

    loaded = ptrack.tracking.verify(url.rstrip("/").rpartition("/")[2])
    assert loaded is not None
    assert not loaded.kwargs
    return loaded.campaign, loaded.message is not None, loaded.recipient


def test_full_records_the_open_and_click_of_the_person(
    client: Client, campaign: Campaign, mailoutbox: list[mail.EmailMessage]
) -> None:
    with freeze_time("2026-03-02 09:00:00"):
        send_campaign(campaign)
    with freeze_time("2026-03-02 10:00:00"):
        load(client, pixel_url(mailoutbox[0]))
        client.get(click_url(mailoutbox[0]), HTTP_USER_AGENT=CHROME)

    key = Recipient.objects.get(email="person0@example.com").key
    assert loads().get().recipient == key
    assert clicks().get().recipient == key
    assert Message.objects.get(recipient=key).clicks == 1


def test_aggregate_records_an_open_that_names_nobody(
    client: Client, campaign: Campaign, mailoutbox: list[mail.EmailMessage]
) -> None:
    at_level(campaign, "person0@example.com", "aggregate")
    with freeze_time("2026-03-02 09:00:00"):
        send_campaign(campaign)
    # Rendered at "aggregate": the pixel's URL carries its campaign, no recipient and no
    # message id, and the store keeps no row of the message.
    assert ptrack_data(pixel_url(mailoutbox[0])) == ("Launch", False, None)
    assert Message.objects.count() == 2

    with freeze_time("2026-03-02 10:00:00"):
        load(client, pixel_url(mailoutbox[0]))
        load(client, pixel_url(mailoutbox[1]))  # a person at "full"
        client.get(click_url(mailoutbox[0]), HTTP_USER_AGENT=CHROME)
        dashboard = client.get(campaign.get_absolute_url()).content.decode()

    anonymous, identified = loads().order_by("pk")
    assert (anonymous.recipient, anonymous.message, anonymous.ip, anonymous.user_agent) == (
        "",
        None,
        "",
        "",
    )
    assert identified.recipient
    assert clicks().get().recipient == ""
    assert "Someone" in dashboard
    assert "aggregate consent: not by person" in dashboard
    # Both are opens, but only the one by a person counts among the unique opens.
    assert re.search(r'data-stat="unique-opens">.*?<div class="value">1</div>', dashboard, re.S)
    assert re.search(r'data-stat="total-opens">.*?<div class="value">2</div>', dashboard, re.S)
    assert dashboard.count('<span class="tag first">first open</span>') == 1


def test_deliverability_records_only_the_day_the_mail_reached_them(
    client: Client, campaign: Campaign, mailoutbox: list[mail.EmailMessage]
) -> None:
    recipient = at_level(campaign, "person0@example.com", "deliverability")
    with freeze_time("2026-03-02 09:00:00"):
        send_campaign(campaign)
    with freeze_time("2026-03-04 22:30:00"):
        load(client, pixel_url(mailoutbox[0]))
        client.get(click_url(mailoutbox[0]), HTTP_USER_AGENT=CHROME)

    # The store keeps the day of their last open and nothing else about it.
    assert not Event.objects.exists()
    assert RecipientDay.objects.get(recipient=recipient.key).last_open == date(2026, 3, 4)
    numbers = store.stats("Launch")
    assert (numbers.sent, numbers.opens, numbers.clicks) == (3, 0, 0)


def test_none_sends_the_email_untracked_with_its_withdrawal_link(
    campaign: Campaign, mailoutbox: list[mail.EmailMessage]
) -> None:
    at_level(campaign, "person0@example.com", "none")

    send_campaign(campaign)

    html = html_of(mailoutbox[0])
    assert "/ptrack/c/" not in html
    assert '<img src="http://testserver/ptrack/' not in html
    assert 'href="https://mailroom.example/launch"' in html
    assert "You asked us not to track our emails" in html
    assert "You asked us not to track" not in html_of(mailoutbox[1])
    assert withdrawal_url(mailoutbox[0])
    assert "Stop tracking my emails: http://testserver/ptrack/w/" in mailoutbox[0].body


@pytest.mark.parametrize("tagged", [False, True], ids=["tracking-backend", "tagged-templates"])
def test_every_email_carries_the_withdrawal_link(
    campaign: Campaign, mailoutbox: list[mail.EmailMessage], tagged: bool, settings: object
) -> None:
    setattr(settings, "MAILROOM_TAGGED_TEMPLATES", tagged)  # noqa: B010

    send_campaign(campaign)

    assert len(mailoutbox) == 3
    for message in mailoutbox:
        assert withdrawal_url(message)
        assert "Stop tracking my emails: http://testserver/ptrack/" in message.body


def test_withdrawing_stops_recording_the_mail_already_sent(
    campaign: Campaign, mailoutbox: list[mail.EmailMessage]
) -> None:
    client = Client(enforce_csrf_checks=True)
    with freeze_time("2026-03-02 09:00:00"):
        send_campaign(campaign)
    message = mailoutbox[0]
    with freeze_time("2026-03-02 10:00:00"):
        load(client, pixel_url(message))
    assert loads().count() == 1

    page = client.get(withdrawal_url(message))  # what a scanner fetching every link does
    assert page.status_code == 200
    assert Recipient.objects.get(email="person0@example.com").consent == "full"
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())
    assert token is not None
    done = client.post(withdrawal_url(message), {"csrfmiddlewaretoken": token[1]})

    assert done.status_code == 200
    assert Recipient.objects.get(email="person0@example.com").consent == "none"
    with freeze_time("2026-03-02 11:00:00"):
        load(client, pixel_url(message))
        client.get(click_url(message), HTTP_USER_AGENT=CHROME)
    assert loads().count() == 1
    assert not clicks().exists()


def test_the_dashboard_counts_the_recipients_at_each_level(
    client: Client, campaign: Campaign
) -> None:
    at_level(campaign, "person1@example.com", "aggregate")
    at_level(campaign, "person2@example.com", "none")

    html = client.get(campaign.get_absolute_url()).content.decode()

    rows = re.findall(
        r'<tr data-level="(\w+)"[^>]*>.*?<td class="num">(\d+)</td>',
        html.split('id="consent-levels"')[1],
        re.S,
    )
    assert rows == [("full", "1"), ("deliverability", "0"), ("aggregate", "1"), ("none", "1")]


def test_the_demo_recipients_chose_several_levels(db: None) -> None:
    call_command("create_demo_campaign", "--recipients", "8", stdout=io.StringIO())

    levels = list(Recipient.objects.order_by("pk").values_list("consent", flat=True))
    assert levels == ["full", "full", "aggregate", "deliverability", "none", "full", "full", "full"]
