"""Loading a sent email's pixel: what ptrack.store records for the example, and what not."""

from __future__ import annotations

import base64
import json
import string
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import pytest
from campaigns.models import Campaign, Recipient
from campaigns.sending import send_campaign
from django.core import mail
from django.test import Client, override_settings
from freezegun import freeze_time

import ptrack
from ptrack import store
from ptrack.store.models import Event, Message
from tests.conftest import CHROME, load, loads, pixel_url


def test_loading_the_pixel_stores_one_open(
    client: Client, campaign: Campaign, mailoutbox: list[mail.EmailMessage]
) -> None:
    with freeze_time("2026-03-02 09:00:00"):
        send_campaign(campaign)
    second = Recipient.objects.get(email="person1@example.com")

    with freeze_time("2026-03-02 09:42:10"):
        load(client, pixel_url(mailoutbox[1]), HTTP_REFERER="https://mail.example/")

    [stored] = Event.objects.all()
    assert (stored.campaign.name, stored.event_type) == ("Launch", "loaded")
    # The store names the recipient by the key the site gave, never by the address.
    assert stored.recipient == second.key
    assert stored.message is not None
    assert stored.message.recipient == second.key
    assert stored.message.sent_at == datetime(2026, 3, 2, 9, tzinfo=timezone.utc)
    assert stored.message.first_open_at == datetime(2026, 3, 2, 9, 42, 10, tzinfo=timezone.utc)
    assert stored.at == datetime(2026, 3, 2, 9, 42, 10, tzinfo=timezone.utc)
    # The dashboard shows the client, so the settings ask the store to keep it.
    assert (stored.ip, stored.user_agent) == ("203.0.113.7", CHROME)
    # ptrack's classification: a current browser, long after the send, is a person.
    assert stored.kind == "human"
    numbers = store.stats("Launch")
    assert (numbers.sent, numbers.unique_opens, numbers.opens) == (3, 1, 1)


def test_each_load_is_an_open(
    client: Client, campaign: Campaign, mailoutbox: list[mail.EmailMessage]
) -> None:
    with freeze_time("2026-03-02 09:00:00") as frozen:
        send_campaign(campaign)
        frozen.tick(timedelta(hours=1))  # past the seconds in which machines fetch
        load(client, pixel_url(mailoutbox[0]))
        frozen.tick(timedelta(seconds=30))  # the same load at the same instant is one event
        load(client, pixel_url(mailoutbox[0]))

    first = Recipient.objects.get(email="person0@example.com")
    assert list(loads().values_list("recipient", flat=True)) == [first.key, first.key]
    assert Message.objects.get(recipient=first.key).opens == 2
    assert (store.stats("Launch").opens, store.stats("Launch").unique_opens) == (2, 1)


def test_head_requests_store_nothing(client: Client, sent: list[mail.EmailMessage]) -> None:
    response = client.head(pixel_url(sent[0]))

    assert response.status_code == 200
    assert not Event.objects.exists()


B64 = string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_"  # URL-safe


def respell(token: str, index: int, bits: int) -> str:
    """``token`` with bits ``bits`` of its signature's character ``index`` flipped."""
    head, signature = token.rsplit(".", 1)
    chars = list(signature)
    chars[index] = B64[B64.index(chars[index]) ^ bits]
    return f"{head}.{''.join(chars)}"


def signature_bytes(token: str) -> bytes:
    signature = token.rsplit(".", 1)[1]
    return base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda token: respell(token, 0, 0b100000), id="signature"),
        pytest.param(lambda token: token[:-10], id="truncated"),
        pytest.param(lambda token: "x" + token, id="prefixed"),
    ],
)
def test_a_forged_pixel_stores_nothing(
    client: Client, sent: list[mail.EmailMessage], forge: Callable[[str], str]
) -> None:
    token = pixel_url(sent[0]).removeprefix("http://testserver/ptrack/").removesuffix("/")

    load(client, f"/ptrack/{forge(token)}/")

    assert not Event.objects.exists()


def test_a_genuine_signature_spelled_another_way_stores_nothing(
    client: Client, sent: list[mail.EmailMessage]
) -> None:
    token = pixel_url(sent[0]).removeprefix("http://testserver/ptrack/").removesuffix("/")
    # 32 signature bytes fill 42 base64 characters and 4 bits of the 43rd: its last 2 bits
    # are spare. Setting them spells the same bytes another way, which only the canonical
    # spelling check refuses; a check on the decoded bytes would accept it.
    assert len(token.rsplit(".", 1)[1]) == 43
    respelled = respell(token, -1, 0b11)
    assert respelled != token
    assert signature_bytes(respelled) == signature_bytes(token)

    load(client, f"/ptrack/{respelled}/")

    assert not Event.objects.exists()
    load(client, f"/ptrack/{token}/")  # the canonical spelling of the same link records
    assert loads().count() == 1


def test_a_pixel_altered_to_another_recipient_stores_nothing(
    client: Client, sent: list[mail.EmailMessage], campaign: Campaign
) -> None:
    token = pixel_url(sent[0]).removeprefix("http://testserver/ptrack/").removesuffix("/")
    payload, timestamp, signature = token.split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    other = Recipient.objects.get(email="person2@example.com")
    data[3] = other.key
    altered = base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode())

    load(client, f"/ptrack/{altered.decode().rstrip('=')}.{timestamp}.{signature}/")

    assert not Event.objects.exists()


def test_a_pixel_signed_with_another_key_stores_nothing(
    client: Client, campaign: Campaign, mailoutbox: list[mail.EmailMessage]
) -> None:
    with override_settings(PTRACK_SECRET="another-deployment-key-" + "x1y2z3" * 8):
        send_campaign(campaign)

    load(client, pixel_url(mailoutbox[0]))

    assert not Event.objects.exists()


@pytest.mark.parametrize(
    ("opened_after", "stored"),
    [
        (timedelta(minutes=9, seconds=59), 1),
        (timedelta(minutes=10), 1),
        (timedelta(minutes=10, seconds=1), 0),
        (timedelta(days=30), 0),
    ],
)
def test_an_expired_pixel_stores_nothing(
    client: Client,
    make_campaign: Callable[..., Campaign],
    mailoutbox: list[mail.EmailMessage],
    opened_after: timedelta,
    stored: int,
) -> None:
    campaign = make_campaign(tracking_window=timedelta(minutes=10))
    with freeze_time("2026-03-02 09:00:00") as frozen:
        send_campaign(campaign)
        frozen.tick(opened_after)

        load(client, pixel_url(mailoutbox[0]))

    assert loads().count() == stored


def test_a_campaign_without_window_records_opens_years_later(
    client: Client, campaign: Campaign, mailoutbox: list[mail.EmailMessage]
) -> None:
    with freeze_time("2026-03-02 09:00:00") as frozen:
        send_campaign(campaign)
        frozen.tick(timedelta(days=3 * 365))

        load(client, pixel_url(mailoutbox[0]))

    assert loads().count() == 1


def test_other_pixels_of_the_site_are_not_email_opens(
    client: Client, campaign: Campaign, sent: list[mail.EmailMessage]
) -> None:
    recipient = Recipient.objects.get(email="person0@example.com")
    page_view = ptrack.Pixel("page-view", recipient_id=recipient.pk)

    load(client, page_view.url())  # names no campaign: left to the site's own recorders

    assert not Event.objects.exists()


def test_a_deleted_recipient_is_forgotten_and_their_loads_record_nothing(
    client: Client, campaign: Campaign, sent: list[mail.EmailMessage]
) -> None:
    load(client, pixel_url(sent[0]))
    load(client, pixel_url(sent[1]))
    gone = Recipient.objects.get(email="person0@example.com")
    key = gone.key
    assert Event.objects.filter(recipient=key).exists()

    gone.delete()

    assert not Message.objects.filter(recipient=key).exists()
    assert not Event.objects.filter(recipient=key).exists()
    assert Event.objects.count() == 1  # the other recipient's open stays
    # Their key is no one's now, so ptrack asks no consent of it and records nothing.
    load(client, pixel_url(sent[0]))
    assert Event.objects.count() == 1
    # The campaign's counters say how many, never who: they stay.
    assert store.stats("Launch").machine_loads == {"security_scanner": 2}
