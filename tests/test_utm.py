"""UTM tags: added to each tracked link before it is signed, never over the link's own."""

from __future__ import annotations

import logging
import re
from functools import partial
from typing import Any

import pytest
from django.core import mail
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import EmailMultiAlternatives
from django.test import override_settings

import ptrack
from ptrack import utm
from ptrack.instrument import Tracking, instrument_html, instrument_text
from tests import helpers
from tests.helpers import tracking_in_front_of

PIXEL = ptrack.Pixel("campaign", campaign_id=7)
CLICK_URL = re.compile(r"https://track\.example\.com/ptrack/c/([A-Za-z0-9_.\-]+)/")
TAGS = {"source": "newsletter", "medium": "email", "campaign": "spring"}
SPRING = "utm_source=newsletter&utm_medium=email&utm_campaign=spring"
LOCMEM = "django.core.mail.backends.locmem.EmailBackend"

pytestmark = pytest.mark.usefixtures("frozen")

clicks_in = partial(helpers.clicks_in, pixel=PIXEL, pattern=CLICK_URL)


def destinations(html: str, **options: Any) -> list[str]:
    return [d for d, _name in clicks_in(instrument_html(html, PIXEL, opens=False, **options))]


@pytest.mark.parametrize(
    ("href", "destination"),
    [
        ("https://e.example/", f"https://e.example/?{SPRING}"),
        ("https://e.example/a?", f"https://e.example/a?{SPRING}"),
        ("https://e.example/a?b=2&amp;a=%20x", f"https://e.example/a?b=2&a=%20x&{SPRING}"),
        ("https://e.example/a?x=1&amp;", f"https://e.example/a?x=1&{SPRING}"),
        ("https://e.example/a#top", f"https://e.example/a?{SPRING}#top"),
        ("https://e.example/a?q=1#x?y", f"https://e.example/a?q=1&{SPRING}#x?y"),
        # The URL as a browser reads it, then the tags.
        ("https://Bücher.example/für sie", f"https://xn--bcher-kva.example/f%C3%BCr%20sie?{SPRING}"),
    ],
)  # fmt: skip
def test_tags_go_at_the_end_of_the_query_keeping_it_as_it_was(href: str, destination: str) -> None:
    assert destinations(f'<a href="{href}">x</a>', utm=TAGS) == [destination]


@pytest.mark.parametrize(
    ("query", "added"),
    [
        ("utm_source=partner", "utm_medium=email&utm_campaign=spring"),
        ("UTM_Medium=print&utm_campaign=", "utm_source=newsletter"),
        ("utm%5Fsource=a&utm_medium=b&utm_campaign=c", ""),
    ],
)
def test_a_tag_the_link_has_already_is_never_overridden(query: str, added: str) -> None:
    [destination] = destinations(f'<a href="https://e.example/?{query}">x</a>', utm=TAGS)
    assert destination == f"https://e.example/?{query}" + (f"&{added}" if added else "")


def test_values_are_percent_encoded_and_names_may_carry_their_prefix() -> None:
    tags = {"utm_campaign": "Frühling & more=1", "content": "hero+button"}
    assert destinations('<a href="https://e.example/">x</a>', utm=tags) == [
        "https://e.example/?utm_campaign=Fr%C3%BChling%20%26%20more%3D1&utm_content=hero%2Bbutton"
    ]


def test_links_left_alone_get_no_tags() -> None:
    source = (
        '<a href="mailto:a@e.example">m</a><a href="https://e.example/off" data-ptrack="off">o</a>'
        '<a href="https://e.example/{{ x }}">p</a><a href="https://e.example/u" '
        'data-ptrack="unsubscribe">u</a>'
    )
    assert instrument_html(source, PIXEL, opens=False, utm=TAGS) == source


def test_plain_text_links_are_tagged_too() -> None:
    result = instrument_text("Read https://e.example/a?x=1.", PIXEL, utm=TAGS)
    assert [d for d, _n in clicks_in(result)] == [f"https://e.example/a?x=1&{SPRING}"]
    assert result.endswith("/.")


@override_settings(PTRACK_UTM={"source": "newsletter", "medium": "email"})
def test_the_site_tags_come_first_and_the_option_s_names_replace_them() -> None:
    html = '<a href="https://e.example/">x</a>'
    assert destinations(html) == ["https://e.example/?utm_source=newsletter&utm_medium=email"]
    assert destinations(html, utm={"campaign": "spring", "source": "blog"}) == [
        "https://e.example/?utm_source=blog&utm_medium=email&utm_campaign=spring"
    ]
    assert destinations(html, utm={"medium": None}) == ["https://e.example/?utm_source=newsletter"]
    assert destinations(html, utm=False) == ["https://e.example/"]


def test_a_tracking_carries_its_tags() -> None:
    tracking = Tracking(PIXEL, utm=TAGS, opens=False)
    html = '<a href="https://e.example/">x</a>'
    assert instrument_html(html, tracking) == instrument_html(html, PIXEL, utm=TAGS, opens=False)
    assert destinations(html, utm={}) == ["https://e.example/"]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (True, "is not a mapping"),
        ("source=newsletter", "is not a mapping"),
        ({"Source": "x"}, "has the name 'Source'"),
        ({"source": 1}, "gives 'source' the value 1"),
        ({"source": "a", "utm_source": "b"}, "names utm_source twice"),
    ],
)
def test_wrong_tags_are_refused_naming_them(value: Any, reason: str) -> None:
    with pytest.raises(TypeError, match=re.escape(f"utm={value!r} {reason}")):
        Tracking(PIXEL, utm=value)


@override_settings(PTRACK_MAX_URL_LENGTH=60)
def test_a_link_too_long_with_its_tags_is_left_alone_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    source = '<a href="https://e.example/a-rather-long-path">x</a>'
    with caplog.at_level(logging.WARNING, logger="ptrack"):
        assert instrument_html(source, PIXEL, opens=False, utm=TAGS) == source
    [warning] = caplog.records
    assert "PTRACK_MAX_URL_LENGTH" in warning.getMessage()


@override_settings(PTRACK_UTM="tests.mail_hooks.utm_tags")
def test_a_callable_setting_is_given_the_message() -> None:
    message = EmailMultiAlternatives("Spring sale", "", "shop@example.com", ["a@example.com"])
    message.attach_alternative('<a href="https://e.example/">x</a>', "text/html")
    ptrack.instrument_message(message, PIXEL, opens=False, utm={"content": "hero"})
    [(html, _mimetype)] = message.alternatives
    assert [d for d, _n in clicks_in(str(html))] == [
        "https://e.example/?utm_source=newsletter&utm_medium=email"
        "&utm_campaign=Spring%20sale&utm_content=hero"
    ]
    # HTML tracked on its own has no message: this hook then gives no tags.
    assert destinations('<a href="https://e.example/">x</a>') == ["https://e.example/"]


@tracking_in_front_of(LOCMEM)
@override_settings(PTRACK_UTM=lambda message: {"campaign": message.subject})
def test_the_backend_tags_each_message_with_what_the_setting_gives() -> None:
    for subject in ("One", "Two"):
        message = EmailMultiAlternatives(subject, "https://e.example/t", to=["a@example.com"])
        message.attach_alternative('<a href="https://e.example/">x</a>', "text/html")
        ptrack.track_message(message, PIXEL, text=True, utm={"medium": "email"})
        message.send()
    assert [
        [d for d, _n in clicks_in(part)]
        for sent in mail.outbox
        for part in (sent.body, sent.alternatives[0][0])  # type: ignore[attr-defined]
    ] == [
        ["https://e.example/t?utm_campaign=One&utm_medium=email"],
        ["https://e.example/?utm_campaign=One&utm_medium=email"],
        ["https://e.example/t?utm_campaign=Two&utm_medium=email"],
        ["https://e.example/?utm_campaign=Two&utm_medium=email"],
    ]


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("tests.mail_hooks.wrong_tags", "answered ['source', 'newsletter']"),
        ({"Source": "x"}, "has the name 'Source'"),
        ("no.such.tags", "cannot be imported"),
    ],
)
def test_a_wrong_setting_raises_naming_it(setting: Any, message: str) -> None:
    with override_settings(PTRACK_UTM=setting), pytest.raises(ImproperlyConfigured) as info:
        instrument_html('<a href="https://e.example/">x</a>', PIXEL)
    assert str(info.value).startswith("PTRACK_UTM")
    assert message in str(info.value)


def test_tag_adds_only_what_the_query_lacks() -> None:
    tags: utm.Tags = (("utm_source", "n"), ("utm_medium", "e"))
    assert utm.tag("https://e.example/", tags) == "https://e.example/?utm_source=n&utm_medium=e"
    assert utm.tag("https://e.example/?utm_source=x&utm_medium=y", tags) == (
        "https://e.example/?utm_source=x&utm_medium=y"
    )
    assert utm.tag("https://e.example/?a#f", ()) == "https://e.example/?a#f"
