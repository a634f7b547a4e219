"""Unsubscribe links stay untracked, and List-Unsubscribe headers go out as they were."""

from __future__ import annotations

import re
from functools import partial

import pytest
from django.core import mail
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.test import override_settings

import ptrack
from ptrack.instrument import instrument_html
from tests import helpers
from tests.helpers import tracking_in_front_of

PIXEL = ptrack.Pixel("campaign", campaign_id=7)
CLICK_URL = re.compile(r"https://track\.example\.com/ptrack/c/([A-Za-z0-9_.\-]+)/")
LOCMEM = "django.core.mail.backends.locmem.EmailBackend"
UNSUBSCRIBE = "https://e.example/unsubscribe?u=42&amp;t=abc"
HEADERS = {
    # A mailto: first, and the host written in another case than in the body.
    "List-Unsubscribe": "<mailto:leave@e.example?subject=unsubscribe>, <https://E.example/"
    "unsubscribe?u=42&t=abc>",
    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
}
HTML = (
    '<html><body><a href="https://e.example/offer">Offer</a>'
    f'<a href="{UNSUBSCRIBE}">Unsubscribe</a></body></html>'
)
TEXT = "Offer: https://e.example/offer\nUnsubscribe: https://e.example/unsubscribe?u=42&t=abc\n"

pytestmark = pytest.mark.usefixtures("frozen")

clicks_in = partial(helpers.clicks_in, pixel=PIXEL, pattern=CLICK_URL)


def newsletter(headers: dict[str, str] | None = None) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(
        "News", TEXT, "shop@example.com", ["ada@example.com"], headers=headers
    )
    message.attach_alternative(HTML, "text/html")
    return message


def test_a_link_marked_unsubscribe_is_left_alone_and_not_counted() -> None:
    source = (
        '<a href="https://e.example/unsub" data-ptrack="unsubscribe">Unsubscribe</a>'
        '<a href="https://e.example/b" data-ptrack=" Unsubscribe ">Leave</a>'
        '<a href="https://e.example/offer">Offer</a>'
    )
    result = instrument_html(source, PIXEL, opens=False)
    assert result.startswith(source[: source.index('<a href="https://e.example/offer">')])
    assert clicks_in(result) == [("https://e.example/offer", "1")]


@override_settings(PTRACK_TRACK_UNSUBSCRIBE=True)
def test_the_setting_tracks_a_marked_link_like_any_other() -> None:
    source = '<a href="https://e.example/unsub" data-ptrack="unsubscribe">Unsubscribe</a>'
    result = instrument_html(source, PIXEL, opens=False)
    assert clicks_in(result) == [("https://e.example/unsub", "1")]


def test_the_urls_of_list_unsubscribe_stay_untracked_in_every_part() -> None:
    message = newsletter(HEADERS)
    ptrack.instrument_message(message, PIXEL, text=True)
    [(html, _mimetype)] = message.alternatives
    assert clicks_in(str(html)) == [("https://e.example/offer", "1")]
    assert f'<a href="{UNSUBSCRIBE}">Unsubscribe</a>' in str(html)
    assert clicks_in(message.body) == [("https://e.example/offer", "text-1")]
    assert message.body.endswith("Unsubscribe: https://e.example/unsubscribe?u=42&t=abc\n")


@override_settings(PTRACK_TRACK_UNSUBSCRIBE=True)
def test_the_setting_tracks_the_urls_of_list_unsubscribe() -> None:
    message = newsletter(HEADERS)
    ptrack.instrument_message(message, PIXEL)
    [(html, _mimetype)] = message.alternatives
    assert [d for d, _n in clicks_in(str(html))] == [
        "https://e.example/offer",
        "https://e.example/unsubscribe?u=42&t=abc",
    ]


def test_without_the_header_only_marked_links_are_left_alone() -> None:
    message = newsletter()
    ptrack.instrument_message(message, PIXEL)
    [(html, _mimetype)] = message.alternatives
    assert len(clicks_in(str(html))) == 2


@tracking_in_front_of(LOCMEM)
@pytest.mark.parametrize("track", [False, True])
def test_the_backend_never_rewrites_the_list_unsubscribe_headers(track: bool) -> None:
    with override_settings(PTRACK_TRACK_UNSUBSCRIBE=track):
        ptrack.track_message(newsletter(HEADERS), PIXEL, text=True, utm={"medium": "email"})
        newsletter(HEADERS).send()  # the same message, sent without tracking
        mail.outbox[0].send()
    tracked, untracked = (sent.message() for sent in mail.outbox)
    for name in ("List-Unsubscribe", "List-Unsubscribe-Post"):
        assert tracked.get_all(name) == untracked.get_all(name)
    assert "track.example.com" not in tracked["List-Unsubscribe"]
    assert tracked["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_header_names_are_matched_in_any_case_and_other_schemes_skipped() -> None:
    message = EmailMessage(
        "News",
        '<a href="https://e.example/u">u</a><a href="https://e.example/x">x</a>',
        headers={"list-unsubscribe": "< https://e.example/u >, <ftp://e.example/x>, <>"},
    )
    message.content_subtype = "html"
    ptrack.instrument_message(message, PIXEL, opens=False)
    assert clicks_in(message.body) == [("https://e.example/x", "1")]
