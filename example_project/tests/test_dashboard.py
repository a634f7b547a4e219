"""The dashboard's numbers and chart, the campaign list, and the admin."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import pytest
from campaigns.chart import opens_chart
from campaigns.models import Campaign
from campaigns.sending import send_campaign
from campaigns.stats import KindCount, campaign_numbers, loads_by_kind
from django.core import mail
from django.test import Client, override_settings
from freezegun import freeze_time

from tests.conftest import card, loads, pixel_url

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0"


@pytest.fixture
def four_sent_two_opened(
    client: Client, make_campaign: Callable[..., Campaign], mailoutbox: list[mail.EmailMessage]
) -> Campaign:
    """Sent to four at T0; the first opens at +5 and +50 minutes, the second at +2 hours.

    Machines load pixels too, within seconds of the send: a scanner presenting a
    current browser (the first mail), Apple's Mail Privacy Protection (the third)
    and an HTTP library (the fourth). None of them is an open.
    """
    campaign = make_campaign(recipients=4)
    with freeze_time(T0) as frozen:
        send_campaign(campaign)
        for seconds, message, user_agent in (
            (2, mailoutbox[0], CHROME),
            (3, mailoutbox[2], "Mozilla/5.0"),
            (4, mailoutbox[3], "curl/8.5.0"),
            (5 * 60, mailoutbox[0], CHROME),
            (50 * 60, mailoutbox[0], CHROME),
            (120 * 60, mailoutbox[1], CHROME),
        ):
            frozen.move_to(T0 + timedelta(seconds=seconds))
            client.get(pixel_url(message), HTTP_USER_AGENT=user_agent)
    return campaign


def test_numbers_come_from_the_store(four_sent_two_opened: Campaign) -> None:
    numbers = campaign_numbers(four_sent_two_opened)

    assert (numbers.sent, numbers.unique_opens, numbers.opens) == (4, 2, 3)
    assert numbers.open_rate == 0.5
    assert numbers.machine_loads == {"bot": 1, "privacy_prefetch": 1, "security_scanner": 1}
    assert loads_by_kind(numbers) == [
        KindCount("people", "People and their providers' proxies", True, 3),
        KindCount("privacy_prefetch", "Privacy pre-fetch", False, 1),
        KindCount("security_scanner", "Security scanner", False, 1),
        KindCount("bot", "Bot", False, 1),
    ]


def test_a_campaign_not_sent_has_no_numbers_yet(campaign: Campaign) -> None:
    numbers = campaign_numbers(campaign)

    assert (numbers.sent, numbers.opens, numbers.open_rate, numbers.click_rate) == (
        0,
        0,
        None,
        None,
    )


def test_an_unclassified_load_is_no_open(
    client: Client, campaign: Campaign, mailoutbox: list[mail.EmailMessage]
) -> None:
    send_campaign(campaign)
    with override_settings(PTRACK_CLASSIFIER="tests.test_dashboard.failing_classifier"):
        client.get(pixel_url(mailoutbox[0]), HTTP_USER_AGENT="curl/8.5.0")

    # The store counts what nobody could judge apart from people, as a machine of its own.
    assert loads().get().kind == "unknown"
    numbers = campaign_numbers(campaign)
    assert (numbers.unique_opens, numbers.machine_loads) == (0, {"unknown": 1})
    assert loads_by_kind(numbers)[-1] == KindCount("unknown", "Not classified", False, 1)


def failing_classifier(*args: object, **kwargs: object) -> None:
    raise RuntimeError("a site's classifier with a bug")


def test_dashboard_shows_the_counts(client: Client, four_sent_two_opened: Campaign) -> None:
    with freeze_time(T0 + timedelta(hours=3)):
        response = client.get(four_sent_two_opened.get_absolute_url())

    assert response.status_code == 200
    html = response.content.decode()
    assert card(html, "sent") == "4"
    assert card(html, "unique-opens") == "2"
    assert card(html, "total-opens") == "3"
    assert card(html, "open-rate") == "50.0%"
    assert card(html, "machine-opens") == "3"
    # Loads per kind, people's and machines'.
    by_kind = html.partition('id="loads-by-kind"')[2].partition("</table>")[0]
    assert re.findall(
        r'<tr data-kind="(\w+)"[^>]*>\s*<td><span class="kind \w+">([^<]+)</span></td>\s*'
        r'<td>(yes|no)</td>\s*<td class="num">(\d+)</td>',
        by_kind,
    ) == [
        ("people", "People and their providers&#x27; proxies", "yes", "3"),
        ("privacy_prefetch", "Privacy pre-fetch", "no", "1"),
        ("security_scanner", "Security scanner", "no", "1"),
        ("bot", "Bot", "no", "1"),
    ]
    # The latest opens, newest first, each with who loaded it and their client; the
    # first recipient's second open is marked as such, machines' loads as machines'.
    latest = html.partition('id="latest-opens"')[2].partition("</table>")[0]
    assert re.findall(r'<tr data-kind="(\w+)">', latest) == [
        "human",
        "human",
        "human",
        "bot",
        "privacy_prefetch",
        "security_scanner",
    ]
    assert re.findall(r'<td title="[^"]*">([^<]+)</td>', latest) == [
        "Chrome 131 on Linux",
        "Chrome 131 on Linux",
        "Chrome 131 on Linux",
        "Unknown client",
        "Unknown client",
        "Chrome 131 on Linux",
    ]
    assert latest.count('<span class="tag first">first open</span>') == 2
    assert latest.count('<span class="tag">again</span>') == 1
    assert latest.count('<span class="tag machine">machine</span>') == 3
    assert "Tracking with no time limit" in html


def test_chart_buckets_the_opens_over_time(four_sent_two_opened: Campaign) -> None:
    numbers = campaign_numbers(four_sent_two_opened)

    chart = opens_chart(
        four_sent_two_opened, numbers, first_sent_at=T0, now=T0 + timedelta(hours=3)
    )

    assert chart is not None
    assert chart.bucket == timedelta(minutes=10)  # 3 hours in at most 30 bars
    assert len(chart.bars) == 18
    assert [(i, bar.count) for i, bar in enumerate(chart.bars) if bar.count] == [
        (0, 1),
        (5, 1),
        (12, 1),
    ]
    assert chart.bars[0].label == "09:00"
    assert chart.total_opens == 3
    assert chart.final_rate == 0.5
    # The open rate climbs where each message was first opened: +5 min and +2 h.
    heights = [float(point.split(",")[1]) for point in chart.rate_line.split()]
    rates = [round(1 - (y - chart.top) / chart.plot_height, 2) for y in heights]
    assert rates == [0.0] + [0.25] * 12 + [0.5] * 6
    tallest = max(chart.bars, key=lambda bar: bar.height)
    assert tallest.height == chart.plot_height  # one open is the top of the scale


def test_chart_waits_for_the_first_send(client: Client, campaign: Campaign) -> None:
    assert opens_chart(campaign, campaign_numbers(campaign), first_sent_at=None) is None

    html = client.get(campaign.get_absolute_url()).content.decode()

    assert card(html, "sent") == "0"
    assert "The chart starts when the campaign is sent" in html
    assert '<svg class="chart"' not in html


def test_live_fragment_is_the_updating_part_only(
    client: Client, four_sent_two_opened: Campaign
) -> None:
    url = four_sent_two_opened.get_absolute_url()

    page = client.get(url).content.decode()
    fragment = client.get(url, {"fragment": "live"}).content.decode()

    assert f'data-live="{url}?fragment=live"' in page
    assert "<html" not in fragment
    assert card(fragment, "total-opens") == "3"
    assert '<svg class="chart"' in fragment


def test_expired_tracking_shows_on_the_dashboard(
    client: Client, make_campaign: Callable[..., Campaign], mailoutbox: list[mail.EmailMessage]
) -> None:
    campaign = make_campaign(tracking_window=timedelta(minutes=2))
    with freeze_time(T0) as frozen:
        send_campaign(campaign)
        live = client.get(campaign.get_absolute_url()).content.decode()
        frozen.tick(timedelta(minutes=3))
        client.get(pixel_url(mailoutbox[0]))
        ended = client.get(campaign.get_absolute_url()).content.decode()

    assert "Tracking until 09:02:00" in live
    assert "Tracking ended" in ended
    assert card(ended, "total-opens") == "0"
    # The chart marks the moment the links expired, once it is in view.
    assert "pixels expire</text>" not in live
    assert "pixels expire</text>" in ended


def test_chart_places_the_expiry_mark_in_time(four_sent_two_opened: Campaign) -> None:
    numbers = campaign_numbers(four_sent_two_opened)
    now = T0 + timedelta(hours=3)

    chart = opens_chart(
        four_sent_two_opened,
        numbers,
        first_sent_at=T0,
        now=now,
        expires_at=T0 + timedelta(hours=1),
    )
    later = opens_chart(
        four_sent_two_opened,
        numbers,
        first_sent_at=T0,
        now=now,
        expires_at=now + timedelta(hours=1),
    )

    assert chart is not None
    assert later is not None
    assert chart.expiry_x == pytest.approx(chart.left + chart.plot_width / 3, abs=0.01)
    assert later.expiry_x is None


def test_campaign_list_shows_each_campaign(
    client: Client, four_sent_two_opened: Campaign, make_campaign: Callable[..., Campaign]
) -> None:
    draft = make_campaign(name="Draft")

    html = client.get("/").content.decode()

    assert four_sent_two_opened.get_absolute_url() in html
    assert draft.get_absolute_url() in html
    assert "<span>50.0%</span>" in html
    assert "Not sent" in html


@pytest.mark.parametrize("path", ["/", "/inbox/"])
def test_pages_link_to_each_other(client: Client, db: None, path: str) -> None:
    html = client.get(path).content.decode()

    assert 'href="/inbox/"' in html
    assert 'href="/admin/"' in html


def test_admin_lists_campaigns_with_a_link_to_their_numbers(
    admin_client: Client, four_sent_two_opened: Campaign, make_campaign: Callable[..., Campaign]
) -> None:
    make_campaign(name="Draft")

    html = admin_client.get("/admin/campaigns/campaign/").content.decode()

    assert '<td class="field-sent">4</td>' in html
    assert '<td class="field-sent">0</td>' in html
    assert f'<a href="{four_sent_two_opened.get_absolute_url()}">View dashboard</a>' in html
    [numbers_url] = re.findall(r'<a href="([^"]+)">Campaign numbers</a>', html)
    assert '<td class="field-numbers">\N{EN DASH}</td>' in html  # the draft's
    # ptrack.store's own admin page of the campaign: its numbers, chart and links.
    page = admin_client.get(numbers_url)
    assert page.status_code == 200
    assert "Launch" in page.content.decode()


def test_admin_fixes_the_name_of_a_campaign_once_sent(
    admin_client: Client, four_sent_two_opened: Campaign, make_campaign: Callable[..., Campaign]
) -> None:
    draft = make_campaign(name="Draft")

    sent_form = admin_client.get(f"/admin/campaigns/campaign/{four_sent_two_opened.pk}/change/")
    draft_form = admin_client.get(f"/admin/campaigns/campaign/{draft.pk}/change/")

    assert 'name="name"' not in sent_form.content.decode()
    assert 'name="name"' in draft_form.content.decode()


def test_admin_shows_the_deliverability_day_from_the_store(
    admin_client: Client, campaign: Campaign, mailoutbox: list[mail.EmailMessage]
) -> None:
    recipient = campaign.recipients.get(email="person0@example.com")
    recipient.consent = "deliverability"
    recipient.save()
    with freeze_time("2026-03-02 09:00:00") as frozen:
        send_campaign(campaign)
        frozen.move_to("2026-03-04 22:30:00")
        client = Client()
        client.get(pixel_url(mailoutbox[0]), HTTP_USER_AGENT=CHROME)

    html = admin_client.get("/admin/campaigns/recipient/").content.decode()

    assert '<td class="field-last_open_day nowrap">March 4, 2026</td>' in html


def test_admin_action_sends_the_campaign(
    admin_client: Client, campaign: Campaign, mailoutbox: list[mail.EmailMessage]
) -> None:
    response = admin_client.post(
        "/admin/campaigns/campaign/",
        {"action": "send", "_selected_action": [campaign.pk]},
        follow=True,
    )

    assert len(mailoutbox) == 3
    assert "Launch: sent 3 emails, skipped 0 recipients who already had it." in (
        response.content.decode()
    )
    assert not loads().exists()


def test_admin_lists_deliveries_read_only(
    admin_client: Client, four_sent_two_opened: Campaign
) -> None:
    html = admin_client.get("/admin/campaigns/delivery/").content.decode()

    assert html.count('class="field-sent_at') == 4
    assert admin_client.get("/admin/campaigns/delivery/add/").status_code == 403
