"""Following a link in a sent email: the redirect, the stored click, and the dashboard."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from campaigns.models import Campaign, Recipient
from campaigns.sending import send_campaign
from campaigns.stats import campaign_numbers
from django.core import mail
from django.core.management import call_command
from django.test import Client, override_settings
from freezegun import freeze_time

from ptrack.store import LinkNumbers
from tests.conftest import card, click_url, clicks, links_of, loads

CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
PREFERENCES = "http://127.0.0.1:8000/pages/preferences/"


def test_a_click_stores_one_click_and_lands_on_the_destination(
    client: Client, campaign: Campaign, mailoutbox: list[mail.EmailMessage]
) -> None:
    with freeze_time(T0):
        send_campaign(campaign)
    with freeze_time(T0 + timedelta(minutes=7)):
        response = client.get(
            click_url(mailoutbox[1]), REMOTE_ADDR="203.0.113.9", HTTP_USER_AGENT=CHROME
        )

    assert response.status_code == 302
    assert response["Location"] == "https://mailroom.example/launch"
    assert response["Cache-Control"] == "no-store"
    assert response["Referrer-Policy"] == "no-referrer"
    [stored] = clicks()
    second = Recipient.objects.get(email="person1@example.com")
    assert (stored.campaign.name, stored.recipient) == ("Launch", second.key)
    assert stored.link is not None
    assert (stored.link.name, stored.link.destination) == (
        "button",
        "https://mailroom.example/launch",
    )
    assert stored.at == T0 + timedelta(minutes=7)
    assert (stored.ip, stored.user_agent, stored.kind) == ("203.0.113.9", CHROME, "human")
    assert not loads().exists()  # no pixel was loaded
    # A person's click on a message with no open recorded counts as its open too (its
    # images may have been blocked), as Mailchimp and SendGrid count it.
    numbers = campaign_numbers(campaign)
    assert (numbers.unique_opens, numbers.implied_opens, numbers.unique_clicks) == (1, 1, 1)


def test_the_plain_text_links_are_tracked_too(
    client: Client, sent: list[mail.EmailMessage]
) -> None:
    [url] = re.findall(r"Read it: (http://testserver/ptrack/c/\S+/)", sent[0].body)

    response = client.get(url)

    assert response["Location"] == "https://mailroom.example/launch"
    # The tracking backend names plain-text links by position: no attribute to name them.
    assert clicks().get().link.name == "text-1"


def test_an_expired_link_still_lands_but_records_nothing(
    client: Client, make_campaign: Callable[..., Campaign], mailoutbox: list[mail.EmailMessage]
) -> None:
    campaign = make_campaign(tracking_window=timedelta(minutes=2))
    with freeze_time(T0) as frozen:
        send_campaign(campaign)
        url = click_url(mailoutbox[0])
        frozen.tick(timedelta(minutes=3))
        response = client.get(url)

    assert (response.status_code, response["Location"]) == (302, "https://mailroom.example/launch")
    assert not clicks().exists()


def test_head_and_forged_links_record_nothing(
    client: Client, sent: list[mail.EmailMessage]
) -> None:
    url = click_url(sent[0])
    forged = url[:-3] + ("A" if url[-3] != "A" else "B") + url[-2:]

    assert client.head(url)["Location"] == "https://mailroom.example/launch"
    assert client.get(forged).status_code == 404
    assert not clicks().exists()


def test_dashboard_shows_clickers_rate_and_clicks_per_link(
    client: Client, make_campaign: Callable[..., Campaign], mailoutbox: list[mail.EmailMessage]
) -> None:
    campaign = make_campaign(recipients=4)
    with freeze_time(T0) as frozen:
        send_campaign(campaign)
        # Seconds after delivery, a scanner presenting a current browser and an HTTP
        # library follow links of the third and fourth emails: no person's clicks.
        frozen.move_to(T0 + timedelta(seconds=2))
        client.get(click_url(mailoutbox[2], "button"), HTTP_USER_AGENT=CHROME)
        client.get(click_url(mailoutbox[3], "preferences"), HTTP_USER_AGENT="curl/8.5.0")
        # Later, the first recipient clicks the button twice and the footer link once;
        # the second, the button.
        frozen.move_to(T0 + timedelta(hours=1))
        for message, link in (
            (mailoutbox[0], "button"),
            (mailoutbox[0], "button"),
            (mailoutbox[0], "preferences"),
            (mailoutbox[1], "button"),
        ):
            frozen.tick(timedelta(seconds=10))  # the same click at the same instant is one
            client.get(click_url(message, link), HTTP_USER_AGENT=CHROME)

    numbers = campaign_numbers(campaign)
    assert (numbers.unique_clicks, numbers.clicks) == (2, 4)
    assert numbers.machine_clicks == {"bot": 1, "security_scanner": 1}
    assert numbers.click_rate == 0.5
    assert numbers.links == [
        LinkNumbers("button", "https://mailroom.example/launch", 3, 2, 1),
        LinkNumbers("preferences", PREFERENCES, 1, 1, 1),
    ]
    html = client.get(campaign.get_absolute_url()).content.decode()
    assert card(html, "unique-clickers") == "2"
    assert card(html, "total-clicks") == "4"
    assert card(html, "click-rate") == "50.0%"
    assert (
        '4</div>\n    <div class="hint">on any link of the email; 2 by machines, not counted'
        in html
    )
    per_link = html.partition('id="clicks-per-link"')[2]
    rows = re.findall(
        r'<td class="num">(\d+)</td>\s*<td class="num">(\d+)</td>\s*<td class="num">(\d+)</td>',
        per_link,
    )
    assert rows == [("3", "2", "1"), ("1", "1", "1")]
    assert "<td><code>https://mailroom.example/launch</code></td>" in html


def test_dashboard_before_any_click(client: Client, sent: list[mail.EmailMessage]) -> None:
    campaign = Campaign.objects.get()
    html = client.get(campaign.get_absolute_url()).content.decode()

    assert card(html, "click-rate") == "0.0%"
    assert "No clicks yet." in html
    unsent = client.get(Campaign.objects.create(name="Unsent").get_absolute_url())
    assert card(unsent.content.decode(), "click-rate") == "\N{EN DASH}"


def test_every_link_of_the_email_is_tracked(sent: list[mail.EmailMessage]) -> None:
    hrefs = re.findall(r'<a href="([^"]+)"', str(sent[0].alternatives[0][0]))

    assert [name for name, _url in links_of(sent[0])] == ["button", "preferences"]
    # All but the withdrawal link, marked data-ptrack="off": stopping tracking is not tracked.
    assert len(hrefs) == 3
    assert all(href.startswith("http://testserver/ptrack/c/") for href in hrefs[:2])
    assert hrefs[2].startswith("http://testserver/ptrack/w/")


def test_the_site_pages_the_links_lead_to(client: Client, db: None) -> None:
    page = client.get("/pages/spring/")

    assert page.status_code == 200
    assert "<h1>What&#x27;s new in Mailroom this spring</h1>" in page.content.decode()
    assert client.get("/pages/nowhere/").status_code == 404


@override_settings(MAILROOM_SITE_URL="https://www.mailroom.example")
def test_demo_campaigns_link_to_the_site(db: None) -> None:
    call_command("create_demo_campaign", "--recipients", "1", stdout=io.StringIO())

    assert sorted(Campaign.objects.values_list("button_url", flat=True)) == [
        "https://www.mailroom.example/pages/renew/",
        "https://www.mailroom.example/pages/spring/",
    ]
