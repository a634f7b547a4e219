"""Both ways of tracking the campaign email: plain templates instrumented by ptrack's
tracking backend (the default), and templates tagged by hand."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from campaigns.models import Campaign, Click, Open
from campaigns.sending import send_campaign
from django.core import mail
from django.test import Client, override_settings

import ptrack.tracking
from tests.conftest import click_url, html_of, links_of, pixel_url

EMAIL_TEMPLATES = Path(__file__).resolve().parent.parent / "campaigns/templates/campaigns/email"


@pytest.mark.parametrize("tagged", [False, True], ids=["tracking-backend", "tagged-templates"])
def test_either_way_the_email_records_opens_and_clicks(
    client: Client, campaign: Campaign, mailoutbox: list[mail.EmailMessage], tagged: bool
) -> None:
    with override_settings(MAILROOM_TAGGED_TEMPLATES=tagged):
        send_campaign(campaign)
    message = mailoutbox[0]

    assert [name for name, _url in links_of(message)] == ["button", "preferences"]
    assert client.get(pixel_url(message)).status_code == 200
    assert client.get(click_url(message, "button"))["Location"] == (
        "https://mailroom.example/launch"
    )
    assert client.get(click_url(message, "preferences")).status_code == 302

    [opened] = Open.objects.all()
    assert opened.recipient.email == "person0@example.com"
    clicks = Click.objects.order_by("pk")
    assert [(c.link, c.destination) for c in clicks] == [
        ("button", "https://mailroom.example/launch"),
        ("preferences", "http://127.0.0.1:8000/pages/preferences/"),
    ]
    assert {c.recipient.email for c in clicks} == {"person0@example.com"}


def test_the_backend_instruments_with_one_pixel_for_opens_and_clicks(
    campaign: Campaign, mailoutbox: list[mail.EmailMessage]
) -> None:
    send_campaign(campaign)
    html = html_of(mailoutbox[0])
    token = pixel_url(mailoutbox[0]).rstrip("/").rpartition("/")[2]
    loaded = ptrack.tracking.verify(token)
    assert loaded is not None
    assert loaded.args == ("email",)
    # The recipient is named apart from the data, by their opaque key, never in it.
    assert dict(loaded.kwargs) == {"campaign_id": campaign.pk}
    assert loaded.recipient == campaign.recipients.get(email="person0@example.com").key
    # The author's name for the link stays on it; the mail's text links are tracked too.
    assert 'data-ptrack-name="button"' in html
    assert re.search(r"Read it: http://testserver/ptrack/c/\S+/", mailoutbox[0].body)


def test_the_default_templates_carry_no_ptrack_tags_and_the_tagged_ones_do() -> None:
    for name in ("campaign.html", "campaign.txt"):
        assert "{% load ptrack" not in (EMAIL_TEMPLATES / name).read_text()
        assert "{% load ptrack %}" in (EMAIL_TEMPLATES / name.replace(".", "_tagged.")).read_text()
