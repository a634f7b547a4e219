"""ptrack.store's admin in a real browser: headless Chromium, driven by Playwright, logs in
to Django's admin served by pytest-django's live server, opens a campaign's page and reads
what a person sees there (the numbers, the chart, the links, the machines), switches the
chart to hours, drills down to the messages and downloads the CSV; on SQLite and on
PostgreSQL (the ``store_db`` fixture)."""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from django.core.mail import EmailMultiAlternatives
from django.test import override_settings
from freezegun import freeze_time

import ptrack
from ptrack import tracking
from ptrack.store.models import Campaign
from ptrack.store.recording import ingest
from tests.store_support import STORE_DATABASES

pytestmark = pytest.mark.django_db(transaction=True, databases=STORE_DATABASES)

CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags Chromium stalls on a machine with no internet.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
T0 = datetime(2026, 6, 1, 9, 0, tzinfo=timezone.utc)
BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
SCANNER = "Mozilla/5.0 (compatible; Barracuda Sentinel (EE))"
HTML = '<p><a href="https://shop.example.com/sale" data-ptrack-name="sale">Sale</a></p>'
PASSWORD = "a long admin password"


def _browser_or_skip() -> Any:
    """Playwright's sync API, or a skip when it or Chromium is missing (Chromium missing on
    CI is a failure; Playwright is in the dev group, not in the test group nox installs)."""
    try:
        from playwright import sync_api
    except ImportError:
        pytest.skip("Playwright is not installed (dependency group dev).")
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} not found: install Debian's chromium package."
        if os.environ.get("CI"):
            pytest.fail(f"{message} CI must run this test.")
        pytest.skip(message)
    return sync_api


def _token(html: str, pattern: str) -> str:
    found = re.search(pattern, html)
    assert found is not None, html
    return found[1]


@pytest.fixture
def spring(store_db: str, django_user_model: Any) -> Iterator[None]:
    """Campaign "spring": Ann's message opened by her and clicked; Bob's only scanned."""
    django_user_model.objects.create_superuser("admin", "admin@example.com", PASSWORD)
    with override_settings(PTRACK_STORE_BACKGROUND=False):
        person = tracking.request_context({"HTTP_USER_AGENT": BROWSER, "REMOTE_ADDR": "192.0.2.1"})
        scanner = tracking.request_context({"HTTP_USER_AGENT": SCANNER, "REMOTE_ADDR": "192.0.2.2"})
        for to, context in (("ann@example.com", person), ("bob@example.com", scanner)):
            message = EmailMultiAlternatives("Sale", "Hi", "shop@example.com", [to])
            message.attach_alternative(HTML, "text/html")
            with freeze_time(T0):
                ptrack.instrument_message(message, ptrack.Pixel("n"), campaign="spring")
            html = str(message.alternatives[0][0])
            pixel = _token(html, r'<img src="[^"]*/([^/"]+)/"')
            link = _token(html, r'href="[^"]*/c/([^/"]+)/"')
            with freeze_time(T0 + timedelta(hours=2)):
                load = tracking.verify(pixel, context)
            with freeze_time(T0 + timedelta(days=1)):
                click = tracking.verify_click(link, context)[1]
            assert load is not None
            assert click is not None
            ingest([load, click])
        yield


def test_a_campaign_s_page_in_chromium(live_server: Any, spring: None) -> None:
    sync_api = _browser_or_skip()
    campaign = Campaign.objects.get(name="spring")
    page_url = f"{live_server.url}/admin/ptrack_store/campaign/{campaign.pk}/change/"
    # The ORM stays out of Playwright's block: its sync API runs an event loop in this thread.
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page(accept_downloads=True)
            # The test settings install no static files app: the admin's styles are not served.
            page.route("**/static/**", lambda route: route.abort())
            page.goto(f"{live_server.url}/admin/login/?next=/admin/ptrack_store/campaign/")
            page.fill("#id_username", "admin")
            page.fill("#id_password", PASSWORD)
            page.click("input[type=submit]")
            page.get_by_role("link", name="spring", exact=True).click()
            page.wait_for_url(page_url)

            numbers = page.locator("table.ptrack-numbers")
            assert _row(numbers, "sent") == "2"
            assert _row(numbers, "unique opens") == "1"
            assert _row(numbers, "people's clicks") == "1"
            chart = page.locator("figure.ptrack-chart svg")
            box = chart.bounding_box()
            assert box is not None
            assert box["width"] > 300
            assert box["height"] > 100
            assert chart.locator("polyline").count() == 3
            links = page.locator("table.ptrack-links tbody tr")
            assert links.first.locator("td").all_inner_texts() == [
                "sale",
                "https://shop.example.com/sale",
                "1",
                "1",
                "1",
            ]
            kinds = page.locator("table.ptrack-kinds tbody tr").first
            assert kinds.locator("td").all_inner_texts() == ["security_scanner", "1", "1"]

            page.get_by_role("link", name="per hour").click()
            page.wait_for_url("**/change/?period=hour")
            assert page.get_by_role("heading", name="Over time, per hour").is_visible()
            assert "2026-06-01 09:00" in page.locator("figure.ptrack-chart").inner_text()

            with page.expect_download() as download:
                page.get_by_role("link", name="Messages as CSV").click()
            rows = list(csv.reader(io.StringIO(Path(download.value.path()).read_text())))
            assert len(rows) == 3
            page.get_by_role("link", name="Messages of this campaign").click()
            page.wait_for_selector("#result_list")
            assert page.locator("#result_list tbody tr").count() == 2
        finally:
            browser.close()


def _row(table: Any, label: str) -> str:
    text: str = table.locator(f'tr:has(th:text-is("{label}")) td').inner_text()
    return text
