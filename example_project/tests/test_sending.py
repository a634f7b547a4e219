from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import pytest
from campaigns.models import Campaign, Delivery, Recipient
from campaigns.sending import send_campaign
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.test import override_settings
from django.urls import resolve
from freezegun import freeze_time

from ptrack import store
from ptrack.store.models import Message
from tests.conftest import PIXEL_IMG, html_of, links_of, pixel_url


def test_each_recipient_gets_html_and_plain_text(
    campaign: Campaign, mailoutbox: list[mail.EmailMessage]
) -> None:
    report = send_campaign(campaign)

    assert (report.sent, report.skipped) == (3, 0)
    assert [m.to for m in mailoutbox] == [[f"Person {i} <person{i}@example.com>"] for i in range(3)]
    message = mailoutbox[0]
    assert message.subject == "Launch: news"
    assert message.from_email == "Mailroom <news@mailroom.example>"
    assert message.body.startswith("Hi Person 0,\n\nFirst paragraph.\n\nSecond paragraph & more.")
    # Every link goes through ptrack's click URL; the destination shows nowhere in clear.
    assert "Read it: http://testserver/ptrack/c/" in message.body
    assert "Manage your subscription: http://testserver/ptrack/c/" in message.body
    assert "mailroom.example/launch" not in message.body
    assert "<img" not in message.body
    html = html_of(message)
    assert '<p style="margin:0 0 16px;">Second paragraph &amp; more.</p>' in html
    assert "mailroom.example/launch" not in html
    assert [link for link, _url in links_of(message)] == ["button", "preferences"]


def test_html_has_exactly_one_pixel_on_ptrack_app_url(sent: list[mail.EmailMessage]) -> None:
    urls = []
    for message in sent:
        assert len(PIXEL_IMG.findall(html_of(message))) == 1
        urls.append(pixel_url(message))

    assert len(set(urls)) == 3  # one pixel per recipient
    for url in urls:
        match = resolve(url.removeprefix("http://testserver"))
        assert match.url_name == "ptrack"


@override_settings(PTRACK_APP_URL="https://track.mailroom.example")
def test_pixel_url_follows_ptrack_app_url(
    campaign: Campaign, mailoutbox: list[mail.EmailMessage]
) -> None:
    send_campaign(campaign)

    assert '<img src="https://track.mailroom.example/ptrack/' in html_of(mailoutbox[0])


def test_deliveries_record_what_was_sent(
    campaign: Campaign, mailoutbox: list[mail.EmailMessage]
) -> None:
    with freeze_time("2026-03-02 09:00:00"):
        send_campaign(campaign)

    deliveries = list(campaign.deliveries.order_by("recipient__email"))

    assert [d.recipient.email for d in deliveries] == [f"person{i}@example.com" for i in range(3)]
    assert {d.sent_at for d in deliveries} == {datetime(2026, 3, 2, 9, tzinfo=timezone.utc)}
    assert {d.tracking_expires_at for d in deliveries} == {None}
    # The tracking backend recorded each message in ptrack.store, by the recipient's key.
    messages = Message.objects.filter(campaign__name="Launch")
    assert sorted(messages.values_list("recipient", flat=True)) == sorted(
        d.recipient.key for d in deliveries
    )
    assert {m.sent_at for m in messages} == {datetime(2026, 3, 2, 9, tzinfo=timezone.utc)}
    assert store.stats("Launch").sent == 3


@freeze_time("2026-03-02 09:00:00")
def test_tracking_window_gives_each_email_an_expiry(
    make_campaign: Callable[..., Campaign], mailoutbox: list[mail.EmailMessage]
) -> None:
    campaign = make_campaign(tracking_window=timedelta(hours=2))

    send_campaign(campaign)

    expected = datetime(2026, 3, 2, 11, tzinfo=timezone.utc)
    assert set(campaign.deliveries.values_list("tracking_expires_at", flat=True)) == {expected}
    assert "when they are followed, until 2 Mar 2026, 11:00 UTC;" in html_of(mailoutbox[0])


def test_sending_again_only_reaches_new_recipients(
    campaign: Campaign, mailoutbox: list[mail.EmailMessage]
) -> None:
    send_campaign(campaign)
    campaign.recipients.add(Recipient.objects.create(email="late@example.com"))
    mailoutbox.clear()

    report = send_campaign(campaign)

    assert (report.sent, report.skipped) == (1, 3)
    assert [m.to for m in mailoutbox] == [["late@example.com"]]
    assert Delivery.objects.filter(campaign=campaign).count() == 4
    assert store.stats("Launch").sent == 4


def test_progress_is_reported_per_email(campaign: Campaign, mailoutbox: list[object]) -> None:
    calls: list[tuple[int, int]] = []

    send_campaign(campaign, progress=lambda done, total: calls.append((done, total)))

    assert calls == [(0, 3), (1, 3), (2, 3), (3, 3)]


def test_a_failed_send_records_no_delivery(campaign: Campaign) -> None:
    class Failing(BaseEmailBackend):
        def send_messages(self, messages: object) -> int:
            raise ConnectionRefusedError("SMTP server down")

    with pytest.raises(ConnectionRefusedError):
        send_campaign(campaign, connection=Failing())

    assert not Delivery.objects.exists()
    assert not Message.objects.exists()
