"""Both ways of tracking the campaign email: plain templates instrumented by ptrack's
tracking backend (the default), and templates tagged by hand."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from campaigns.models import Campaign
from campaigns.sending import send_campaign
from django.core import mail
from django.test import Client, override_settings
from freezegun import freeze_time

import ptrack.tracking
from ptrack import store
from tests.conftest import CHROME, click_url, clicks, html_of, links_of, loads, pixel_url

EMAIL_TEMPLATES = Path(__file__).resolve().parent.parent / "campaigns/templates/campaigns/email"


@pytest.mark.parametrize("tagged", [False, True], ids=["tracking-backend", "tagged-templates"])
def test_either_way_the_email_records_opens_and_clicks(
    client: Client, campaign: Campaign, mailoutbox: list[mail.EmailMessage], tagged: bool
) -> None:
    with freeze_time("2026-03-02 09:00:00") as frozen:
        with override_settings(MAILROOM_TAGGED_TEMPLATES=tagged):
            send_campaign(campaign)
        message = mailoutbox[0]
        frozen.tick(timedelta(hours=1))  # a person reads, long after machines fetched

        assert [name for name, _url in links_of(message)] == ["button", "preferences"]
        assert client.get(pixel_url(message), HTTP_USER_AGENT=CHROME).status_code == 200
        frozen.tick(timedelta(seconds=20))
        assert client.get(click_url(message, "button"), HTTP_USER_AGENT=CHROME)["Location"] == (
            "https://mailroom.example/launch"
        )
        frozen.tick(timedelta(seconds=20))
        followed = client.get(click_url(message, "preferences"), HTTP_USER_AGENT=CHROME)
        assert followed.status_code == 302

    key = campaign.recipients.get(email="person0@example.com").key
    [opened] = loads()
    assert (opened.campaign.name, opened.recipient) == ("Launch", key)
    followed = clicks().order_by("pk")
    assert [c.link.destination for c in followed if c.link] == [
        "https://mailroom.example/launch",
        "http://127.0.0.1:8000/pages/preferences/",
    ]
    assert {c.recipient for c in followed} == {key}
    numbers = store.stats("Launch")
    assert (numbers.opens, numbers.clicks) == (1, 2)
    if tagged:
        # Hand-placed tags name the campaign but cannot carry the id the tracking backend
        # gives each message: the store counts their loads and clicks for the campaign only,
        # and (ptrack's tag naming no link) lists their links by destination.
        assert opened.message is None
        assert (numbers.sent, numbers.unique_opens) == (0, 0)
        assert [link.name for link in numbers.links] == ["", ""]
    else:
        assert opened.message is not None
        assert (numbers.sent, numbers.unique_opens, numbers.unique_clicks) == (3, 1, 1)
        assert sorted(link.name for link in numbers.links) == ["button", "preferences"]


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
    assert dict(loaded.kwargs) == {}
    # ptrack.store's campaign, and the id of this message, which the store recorded.
    assert loaded.campaign == "Launch"
    assert loaded.message is not None
    assert loaded.recipient == campaign.recipients.get(email="person0@example.com").key
    # The author's name for the link stays on it; the mail's text links are tracked too.
    assert 'data-ptrack-name="button"' in html
    assert re.search(r"Read it: http://testserver/ptrack/c/\S+/", mailoutbox[0].body)


def test_the_default_templates_carry_no_ptrack_tags_and_the_tagged_ones_do() -> None:
    for name in ("campaign.html", "campaign.txt"):
        assert "{% load ptrack" not in (EMAIL_TEMPLATES / name).read_text()
        assert "{% load ptrack %}" in (EMAIL_TEMPLATES / name.replace(".", "_tagged.")).read_text()
