"""ptrack.store in Django's admin: the campaign list with its numbers, a campaign's page (an
SVG chart drawn on the server, links, machines by kind), the messages and the CSV export;
on SQLite and on PostgreSQL (the ``store_db`` fixture)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

import pytest
from django.contrib import admin as django_admin
from django.core.mail import EmailMultiAlternatives
from django.db import connections
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from freezegun import freeze_time

import ptrack
from ptrack import tracking
from ptrack.store import admin as store_admin
from ptrack.store import chart
from ptrack.store.models import Campaign, Event, Message
from ptrack.store.numbers import Bucket
from ptrack.store.recording import ingest
from tests.store_support import STORE_DATABASES

pytestmark = pytest.mark.django_db(databases=STORE_DATABASES)

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=timezone.utc)
BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
SCANNER = "Mozilla/5.0 (compatible; Barracuda Sentinel (EE))"
HTML = '<p><a href="https://shop.example.com/sale?a=1&amp;b=<2>" data-ptrack-name="sale">s</a></p>'


@pytest.fixture(autouse=True)
def spring_html(store_db: str) -> Iterator[dict[str, str]]:
    """Campaign "spring": two messages, one opened and clicked by a person, one scanned;
    their HTML by recipient."""
    with override_settings(PTRACK_STORE_BACKGROUND=False):
        rows = []
        for to in ("ann@example.com", "bob@example.com"):
            message = EmailMultiAlternatives("Sale", "Hi", "shop@example.com", [to])
            message.attach_alternative(HTML, "text/html")
            with freeze_time(T0):
                ptrack.instrument_message(message, ptrack.Pixel("n"), campaign="spring")
            rows.append((Message.objects.latest("pk"), str(message.alternatives[0][0])))
        (_ann, ann_html), (_bob, bob_html) = rows
        load(ann_html, BROWSER, T0 + timedelta(hours=2))
        load(ann_html, BROWSER, T0 + timedelta(days=1), click=True)
        load(bob_html, SCANNER, T0 + timedelta(minutes=1))
        load(bob_html, SCANNER, T0 + timedelta(minutes=1), click=True)
        yield {"ann": ann_html, "bob": bob_html}


def load(html: str, user_agent: str, at: datetime, click: bool = False) -> None:
    token = re.search(r'/ptrack/(?:c/)?([^/"]+)/"', html if not click else html.split("<img")[0])
    assert token is not None
    context = tracking.request_context({"HTTP_USER_AGENT": user_agent, "REMOTE_ADDR": "192.0.2.1"})
    with freeze_time(at):
        if click:
            event = tracking.verify_click(token[1], context)[1]
        else:
            event = tracking.verify(re.findall(r'<img src="[^"]*/([^/"]+)/"', html)[0], context)
    assert event is not None
    ingest([event])


def test_the_campaign_list_shows_the_numbers(admin_client: Client) -> None:
    page = admin_client.get("/admin/ptrack_store/campaign/")
    assert page.status_code == 200
    text = page.content.decode()
    table = text.split('id="result_list"', 1)[1]
    row = re.search(r"<tr[^>]*>(?:(?!</tr>).)*>spring</a>.*?</tr>", table, re.DOTALL)
    assert row is not None
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row[0], re.DOTALL)
    # created, sent, open rate, click rate, click-to-open rate, opens, clicks
    assert cells[-6:] == ["2", "50.0%", "50.0%", "100.0%", "1", "1"]


def test_the_campaign_page_draws_the_chart_links_and_kinds(admin_client: Client) -> None:
    campaign = Campaign.objects.get(name="spring")
    page = admin_client.get(f"/admin/ptrack_store/campaign/{campaign.pk}/change/")
    assert page.status_code == 200
    text = page.content.decode()
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in text
    assert text.count("<polyline") == 3
    assert '<th scope="row">unique opens</th><td>1</td>' in text
    # The destination as a browser requests it ("<" percent-encoded), escaped for HTML.
    assert "<td>sale</td><td>https://shop.example.com/sale?a=1&amp;b=%3C2%3E</td>" in text
    assert "<td>1</td><td>1</td><td>1</td></tr>" in text  # clicks, unique, machine
    assert "<td>security_scanner</td><td>1</td><td>1</td>" in text
    assert "<script" not in text.split('id="content-main"')[1]
    assert f"?campaign__id__exact={campaign.pk}" in text
    hourly = admin_client.get(f"/admin/ptrack_store/campaign/{campaign.pk}/change/?period=hour")
    assert "2026-06-01 09:00" in hourly.content.decode()
    odd = admin_client.get(f"/admin/ptrack_store/campaign/{campaign.pk}/change/?period=x")
    assert odd.status_code == 200
    assert admin_client.get("/admin/ptrack_store/campaign/999999/change/").status_code == 404


def test_the_messages_drill_down_and_csv_export(admin_client: Client) -> None:
    campaign = Campaign.objects.get(name="spring")
    listing = admin_client.get(f"/admin/ptrack_store/message/?campaign__id__exact={campaign.pk}")
    assert listing.status_code == 200
    assert listing.content.decode().count("h:") >= 2
    ann = Message.objects.get(clicks=1)
    detail = admin_client.get(f"/admin/ptrack_store/message/{ann.pk}/change/")
    assert detail.status_code == 200
    assert "https://shop.example.com/sale" in detail.content.decode()
    response = admin_client.get(f"/admin/ptrack_store/campaign/{campaign.pk}/messages.csv")
    assert response["Content-Type"] == "text/csv"
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:3] == ["message_id", "recipient", "sent_at"]
    by_id = {row[0]: row for row in rows[1:]}
    assert by_id[ann.message_id][2] == T0.isoformat()
    assert by_id[ann.message_id][5:8] == ["1", (T0 + timedelta(days=1)).isoformat(), "1"]
    assert sorted(row[8] for row in rows[1:]) == ["", "security_scanner=1"]


def test_the_messages_list_filters_by_date_and_counts_only_what_it_lists(
    admin_client: Client, store_db: str
) -> None:
    # A drill-down into a campaign of a million messages: no count of every message in the
    # store, and no DISTINCT over its sending dates (a date hierarchy's), each a full scan.
    Campaign.objects.create(name="autumn", created_at=T0)  # else the filter is left out
    campaign = Campaign.objects.get(name="spring")
    url = f"/admin/ptrack_store/message/?campaign__id__exact={campaign.pk}"
    with CaptureQueriesContext(connections[store_db]) as queries:
        listing = admin_client.get(url)
    assert listing.status_code == 200
    counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"]]
    assert counts
    assert all("WHERE" in sql for sql in counts)
    assert not [q["sql"] for q in queries.captured_queries if "DISTINCT" in q["sql"]]
    # As the filter's own links give them: aware datetimes.
    midnight = T0.replace(hour=0)
    day = urlencode({"sent_at__gte": midnight, "sent_at__lt": midnight + timedelta(days=1)})
    assert admin_client.get(f"{url}&{day}").content.decode().count("h:") == 2
    later = urlencode({"sent_at__gte": midnight + timedelta(days=1)})
    assert admin_client.get(f"{url}&{later}").content.decode().count("h:") == 0


def test_the_messages_list_counts_no_further_than_a_page_needs(
    admin_client: Client, store_db: str
) -> None:
    # A campaign of a million messages: Django's paginator counted them all, on every page.
    campaign = Campaign.objects.get(name="spring")
    url = f"/admin/ptrack_store/message/?campaign__id__exact={campaign.pk}"
    with CaptureQueriesContext(connections[store_db]) as queries:
        listing = admin_client.get(url)
    counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"]]
    assert len(counts) == 1
    assert "LIMIT 10001" in counts[0]
    text = listing.content.decode()
    assert re.search(r"\b2 messages\b", text)
    assert "estimate" not in text


def _listed(admin_client: Client, url: str) -> list[str]:
    """The message ids on the page at ``url``; none for a page that does not exist."""
    response = admin_client.get(url)
    if response.status_code == 302:
        assert response["Location"].endswith("?e=1")  # the admin's "no such page"
        return []
    assert response.status_code == 200
    return re.findall(
        r'class="field-message_id"><a href="[^"]*">([^<]+)</a>', response.content.decode()
    )


def test_past_what_it_counts_the_list_estimates_and_every_page_stays_reachable(
    admin_client: Client, store_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_admin.EstimatingPaginator, "counted", 3)
    monkeypatch.setattr(django_admin.site._registry[Message], "list_per_page", 2)
    campaign = Campaign.objects.get(name="spring")

    def sent(n: int) -> None:
        Message.objects.create(
            message_id=f"m{n}", campaign=campaign, recipient=f"h:{n}", sent_at=T0 + timedelta(n)
        )

    for n in range(3):
        sent(n)
    connection = connections[store_db]
    if connection.vendor == "postgresql":
        # Statistics of 5 messages, then 10: the planner's estimate falls short, as a stale
        # one does after a busy day.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE ptrack_store_message")
    for n in range(3, 8):
        sent(n)
    url = f"/admin/ptrack_store/message/?campaign__id__exact={campaign.pk}"
    first = admin_client.get(url).content.decode()
    if connection.vendor == "postgresql":
        assert "More than 3 messages: their number is PostgreSQL's estimate." in first
        assert not re.search(r"\b10 messages\b", first)
    else:
        assert re.search(r"\b10 messages\b", first)
        assert "estimate" not in first
    listed: list[str] = []
    for page in range(1, 10):
        rows = _listed(admin_client, f"{url}&p={page}")
        if not rows:
            break
        listed += rows
    expected = Message.objects.filter(campaign=campaign).order_by("-sent_at", "-pk")
    assert listed == [m.message_id for m in expected]
    assert page == 6
    assert _listed(admin_client, f"{url}&p=0") == []


def test_a_message_s_page_shows_its_latest_events(
    admin_client: Client,
    monkeypatch: pytest.MonkeyPatch,
    spring_html: dict[str, str],
    store_db: str,
) -> None:
    ann = Message.objects.get(clicks=1)
    page = f"/admin/ptrack_store/message/{ann.pk}/change/"
    load(spring_html["ann"], BROWSER, T0 + timedelta(days=3))
    everything = admin_client.get(page).content.decode()
    times = [(T0 + timedelta(**d)).isoformat() for d in ({"hours": 2}, {"days": 1}, {"days": 3})]
    assert all(t in everything for t in times)
    assert "The latest" not in everything
    monkeypatch.setattr(store_admin, "HISTORY", 2)
    with CaptureQueriesContext(connections[store_db]) as queries:
        latest = admin_client.get(page).content.decode()
    read = [q["sql"] for q in queries.captured_queries if '"ptrack_store_event"."key"' in q["sql"]]
    assert len(read) == 1
    assert read[0].endswith("LIMIT 3")  # not every event of a message opened thousands of times
    assert "The latest 2 of 3 events." in latest
    assert times[0] not in latest
    assert latest.index(times[2]) < latest.index(times[1])  # newest first


@pytest.mark.parametrize("page", [1, 2, 2000])
def test_the_csv_export_reads_a_page_at_a_time_and_misses_no_message(
    admin_client: Client, monkeypatch: pytest.MonkeyPatch, page: int
) -> None:
    # Three messages, two sent at the same time: a page may end between those two.
    campaign = Campaign.objects.get(name="spring")
    Message.objects.create(
        message_id="later", campaign=campaign, recipient="h:x", sent_at=T0 - timedelta(hours=1)
    )
    monkeypatch.setattr(store_admin, "_CSV_PAGE", page)
    response = admin_client.get(f"/admin/ptrack_store/campaign/{campaign.pk}/messages.csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    expected = Message.objects.filter(campaign=campaign).order_by("sent_at", "pk")
    assert [row[0] for row in rows[1:]] == [m.message_id for m in expected]
    assert len(rows) == 4


def test_a_campaign_s_messages_are_read_in_order_from_an_index(store_db: str) -> None:
    # The CSV export's first rows and the list's pages, without sorting a million rows.
    campaign = Campaign.objects.get(name="spring")
    with connections[store_db].cursor() as cursor:
        if connections[store_db].vendor == "postgresql":
            # Two rows: else a scan wins, or another index and a sort of two rows; at a
            # million, only the index that gives them in order does.
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_sort = off")
    for order in (("sent_at", "pk"), ("-sent_at", "-pk")):
        plan = Message.objects.filter(campaign=campaign).order_by(*order).explain()
        assert "ptrack_store_msg_sent" in plan
        assert "Sort" not in plan
        assert "TEMP B-TREE" not in plan


def test_a_message_s_latest_events_are_read_in_order_from_an_index(store_db: str) -> None:
    # Its admin page: by the index on times alone, PostgreSQL read back from the newest
    # event of every message until it had found 100 of this one's (1.2 s at a million).
    ann = Message.objects.get(clicks=1)
    with connections[store_db].cursor() as cursor:
        if connections[store_db].vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_bitmapscan = off")
            cursor.execute("SET LOCAL enable_sort = off")
    plan = Event.objects.filter(message=ann).order_by("-at", "-pk")[:101].explain()
    assert "ptrack_store_evt_msg_at" in plan
    assert "Sort" not in plan
    assert "TEMP B-TREE" not in plan


def test_the_store_admin_is_for_staff_only(client: Client) -> None:
    campaign = Campaign.objects.get(name="spring")
    response = client.get(f"/admin/ptrack_store/campaign/{campaign.pk}/messages.csv")
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_the_chart_escapes_and_says_when_empty() -> None:
    assert "No loads or clicks yet." in chart.svg([], "day")
    buckets = [Bucket(start=T0, opens=3, clicks=1), Bucket(start=T0 + timedelta(days=1), opens=1)]
    svg: Any = chart.svg(buckets, "day")
    # Opens: 3 at the top, then 1 a third of the way up the 192-pixel plot from its base.
    assert 'points="48.0,12.0 708.0,140.0"' in svg
    assert ">3</text>" in svg


def test_a_staff_member_without_the_view_permission_gets_no_numbers(
    client: Client, django_user_model: Any
) -> None:
    user = django_user_model.objects.create_user("clerk", password="pw", is_staff=True)
    client.force_login(user)
    campaign = Campaign.objects.get(name="spring")
    assert client.get(f"/admin/ptrack_store/campaign/{campaign.pk}/messages.csv").status_code == 403
