"""The PTRACK_APP_URL split: mail rendered by the app deployment, pixels served by the tracker.

``config.settings_tracker`` is the tracker's settings module; these tests use
its real values, so they prove the settings the docs document.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from campaigns.models import Campaign, Recipient
from campaigns.sending import send_campaign
from config import settings as app
from config import settings_tracker as tracker
from django.core import mail
from django.test import Client, override_settings

from tests.conftest import clicks, loads

HERE = Path(__file__).resolve().parent.parent
TRACKER_URL = "https://track.mailroom.example"

AS_TRACKER = override_settings(
    SECRET_KEY=tracker.SECRET_KEY,
    PTRACK_SECRET=tracker.PTRACK_SECRET,
    ROOT_URLCONF=tracker.ROOT_URLCONF,
    MIDDLEWARE=tracker.MIDDLEWARE,
)


def test_deployments_share_the_pixel_key_and_database_only() -> None:
    assert tracker.PTRACK_SECRET == app.PTRACK_SECRET
    assert tracker.DATABASES == app.DATABASES
    assert tracker.SECRET_KEY != app.SECRET_KEY
    assert tracker.ROOT_URLCONF == "config.urls_tracker"


@override_settings(PTRACK_APP_URL=TRACKER_URL)
def test_mail_from_the_app_is_recorded_by_the_tracker(
    client: Client, campaign: Campaign, mailoutbox: list[mail.EmailMessage]
) -> None:
    send_campaign(campaign)
    html = mailoutbox[0].alternatives[0][0]
    start = html.index(f'<img src="{TRACKER_URL}/ptrack/') + len('<img src="')
    url = html[start : html.index('"', start)]
    dashboard_path = campaign.get_absolute_url()

    with AS_TRACKER:
        response = client.get(url)
        dashboard = client.get(dashboard_path)

    assert response.status_code == 200
    assert response["Content-Type"] == "image/gif"
    [stored] = loads()
    key = Recipient.objects.get(email="person0@example.com").key
    assert (stored.campaign.name, stored.recipient) == ("Launch", key)
    assert dashboard.status_code == 404  # the tracker serves pixels and nothing else


@override_settings(PTRACK_APP_URL=TRACKER_URL)
def test_a_tracker_with_another_pixel_key_records_nothing(
    client: Client, campaign: Campaign, mailoutbox: list[mail.EmailMessage]
) -> None:
    send_campaign(campaign)
    html = mailoutbox[0].alternatives[0][0]
    start = html.index(f'<img src="{TRACKER_URL}/ptrack/') + len('<img src="')
    url = html[start : html.index('"', start)]
    start = html.index(f'<a href="{TRACKER_URL}/ptrack/c/') + len('<a href="')
    link = html[start : html.index('"', start)]

    with AS_TRACKER, override_settings(PTRACK_SECRET="not-the-shared-key-" + "q7w8e9" * 8):
        response = client.get(url)
        clicked = client.get(link)

    assert response.status_code == 200  # the same GIF: a forger learns nothing
    assert clicked.status_code == 404  # and a link that does not verify goes nowhere
    assert not loads().exists()
    assert not clicks().exists()


@override_settings(PTRACK_APP_URL=TRACKER_URL)
def test_clicks_go_through_the_tracker_to_the_site(
    client: Client, campaign: Campaign, mailoutbox: list[mail.EmailMessage]
) -> None:
    send_campaign(campaign)
    html = mailoutbox[0].alternatives[0][0]
    start = html.index(f'<a href="{TRACKER_URL}/ptrack/c/') + len('<a href="')
    link = html[start : html.index('"', start)]

    with AS_TRACKER:
        response = client.get(link)

    assert (response.status_code, response["Location"]) == (302, campaign.button_url)
    [stored] = clicks()
    assert stored.link is not None
    assert (stored.campaign.name, stored.link.name) == ("Launch", "button")


@override_settings(PTRACK_APP_URL=TRACKER_URL)
def test_the_withdrawal_link_is_served_by_the_tracker(
    campaign: Campaign, mailoutbox: list[mail.EmailMessage]
) -> None:
    send_campaign(campaign)
    html = mailoutbox[0].alternatives[0][0]
    start = html.index(f'<a href="{TRACKER_URL}/ptrack/w/') + len('<a href="')
    link = html[start : html.index('"', start)]
    client = Client(enforce_csrf_checks=True)

    with (
        AS_TRACKER,
        override_settings(
            TEMPLATES=tracker.TEMPLATES,
            PTRACK_CONSENT=tracker.PTRACK_CONSENT,
            PTRACK_CONSENT_WITHDRAW=tracker.PTRACK_CONSENT_WITHDRAW,
        ),
    ):
        page = client.get(link)
        token = page.content.decode().split('name="csrfmiddlewaretoken" value="')[1][:64]
        done = client.post(link, {"csrfmiddlewaretoken": token})

    assert (page.status_code, done.status_code) == (200, 200)
    assert Recipient.objects.get(email="person0@example.com").consent == "none"


def test_tracker_settings_pass_the_system_checks(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings_tracker",
        "PTRACK_APP_URL": TRACKER_URL,
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--fail-level", "WARNING"],
        cwd=HERE,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout
