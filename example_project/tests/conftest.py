from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import django
import pytest
from campaigns.models import Campaign, Recipient
from campaigns.sending import send_campaign
from django.core import mail
from django.db.models import QuerySet
from django.http import HttpResponse
from django.test import Client, override_settings

from ptrack.store.models import Event

APP_URL = "http://testserver"

# The tag's exact output: one 1x1 image on PTRACK_APP_URL.
PIXEL_IMG = re.compile(
    r'<img src="(?P<url>http://testserver/ptrack/(?P<token>[A-Za-z0-9_.\-]+)/)" '
    r'width="1" height="1" alt="" style="border:0;width:1px;height:1px;margin:0;padding:0">'
)


CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0"


def load(client: Client, url: str, **headers: str) -> HttpResponse:
    """GET the pixel as a mail client would; it is always the same transparent GIF."""
    response = client.get(url, REMOTE_ADDR="203.0.113.7", HTTP_USER_AGENT=CHROME, **headers)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/gif"
    assert response.content.startswith(b"GIF89a")
    assert len(response.content) == 43
    return response


def loads() -> QuerySet[Event]:
    """The pixel loads ptrack.store recorded, oldest first."""
    return Event.objects.filter(event_type="loaded").order_by("at", "pk")


def clicks() -> QuerySet[Event]:
    """The clicks ptrack.store recorded, oldest first."""
    return Event.objects.filter(event_type="clicked").order_by("at", "pk")


def card(html: str, stat: str) -> str:
    """The big number of one stat card on the dashboard."""
    match = re.search(
        rf'data-stat="{stat}">\s*<div class="label">[^<]*</div>\s*<div class="value">([^<]*)</div>',
        html,
    )
    assert match, f"no {stat!r} card"
    return match[1]


TRACKING_BACKEND = "ptrack.mail.TrackingEmailBackend"
LOCMEM_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def mail_backend(path: str) -> override_settings:
    """Settings that make ``path`` deliver the mail behind ptrack's tracking backend,
    as the project's settings do (MAILERS on Django 6.1+)."""
    if django.VERSION >= (6, 1):
        return override_settings(
            MAILERS={"default": {"BACKEND": TRACKING_BACKEND}}, PTRACK_EMAIL_BACKEND=path
        )
    return override_settings(EMAIL_BACKEND=TRACKING_BACKEND, PTRACK_EMAIL_BACKEND=path)


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path) -> Iterator[None]:
    """Stable pixel URLs and a private mail sink, whatever the environment says."""
    with (
        override_settings(PTRACK_APP_URL=APP_URL, MAILROOM_MAILDIR=tmp_path / "mail"),
        mail_backend(LOCMEM_BACKEND),  # mail.outbox, through the tracking backend
    ):
        yield


def html_of(message: mail.EmailMessage) -> str:
    assert isinstance(message, mail.EmailMultiAlternatives)
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    return str(html)


# A tracked link in the HTML: ptrack's click URL in an href.
CLICK_HREF = re.compile(r'<a href="(?P<url>http://testserver/ptrack/c/[A-Za-z0-9_.\-]+/)"')


def links_of(message: mail.EmailMessage) -> list[tuple[str, str]]:
    """(link name, click URL) of each link in a sent email's HTML, in order."""
    import ptrack.tracking

    links = []
    for match in CLICK_HREF.finditer(html_of(message)):
        token = match["url"].rstrip("/").rpartition("/")[2]
        _destination, event = ptrack.tracking.verify_click(token)
        assert event is not None
        links.append((event.kwargs.get("link") or event.link_name, match["url"]))
    return links


def click_url(message: mail.EmailMessage, link: str = "button") -> str:
    """The click URL of the link called ``link`` in a sent email."""
    [url] = [url for name, url in links_of(message) if name == link]
    return url


def pixel_url(message: mail.EmailMessage) -> str:
    """The URL of the one tracking pixel in a sent email's HTML."""
    [match] = PIXEL_IMG.finditer(html_of(message))
    return match["url"]


@pytest.fixture
def make_campaign(db: None) -> Callable[..., Campaign]:
    def make(
        recipients: int = 3, tracking_window: timedelta | None = None, name: str = "Launch"
    ) -> Campaign:
        campaign = Campaign.objects.create(
            name=name,
            subject=f"{name}: news",
            body="First paragraph.\n\nSecond paragraph & more.",
            button_label="Read it",
            button_url="https://mailroom.example/launch",
            tracking_window=tracking_window,
        )
        people = [
            Recipient.objects.get_or_create(
                email=f"person{i}@example.com", defaults={"name": f"Person {i}"}
            )[0]
            for i in range(recipients)
        ]
        campaign.recipients.add(*people)
        return campaign

    return make


@pytest.fixture
def campaign(make_campaign: Callable[..., Campaign]) -> Campaign:
    return make_campaign()


@pytest.fixture
def sent(campaign: Campaign, mailoutbox: list[mail.EmailMessage]) -> list[mail.EmailMessage]:
    """``campaign`` sent to its three recipients; the emails, in recipient order."""
    send_campaign(campaign)
    return list(mailoutbox)
