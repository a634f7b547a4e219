"""instrument_html: which links become click links, and that nothing else changes."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import re
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, override_settings
from freezegun import freeze_time
from hypothesis import given, settings
from hypothesis import strategies as st

import ptrack
from ptrack import instrument_html, tracking
from ptrack.exceptions import PixelURLTooLong
from ptrack.instrument import Tracking, TrackingOptions, instrument_text
from tests import helpers
from tests.conftest import Recorded
from tests.encoders import SpacedEncoder
from tests.helpers import T0

EMAILS = Path(__file__).parent / "emails"
PIXEL = ptrack.Pixel("campaign", campaign_id=7, recipient_id=42)
# A click link made here (the transactional template holds an older one, left alone).
CLICK_URL = re.compile(r"https://track\.example\.com/ptrack/c/(?!already\.)([A-Za-z0-9_.\-]+)/")

pytestmark = pytest.mark.usefixtures("frozen")

# (destination, link name) of each click link in a text, verified, in order.
clicks_in = partial(helpers.clicks_in, pixel=PIXEL, pattern=CLICK_URL)


def undo(html: str, raw_values: list[str], pixel: str | None) -> str:
    """``html`` with its click links put back to ``raw_values`` and the pixel taken out."""
    values = iter(raw_values)
    html = CLICK_URL.sub(lambda _match: next(values), html)
    assert next(values, None) is None, "fewer click links than expected"
    if pixel is not None:
        assert html.count(pixel) == 1
        html = html.replace(pixel, "")
    return html


def read(name: str) -> str:
    with open(EMAILS / name, encoding="utf-8", newline="") as file:
        return file.read()


# Each template's rewritten links: (the href value as written, destination, link name).
TEMPLATES: dict[str, list[tuple[str, str, str]]] = {
    "mjml.html": [
        (
            "https://shop.example.com/?utm_source=newsletter&amp;utm_medium=email&amp;"
            "utm_campaign=spring",
            "https://shop.example.com/?utm_source=newsletter&utm_medium=email&utm_campaign=spring",
            "1",
        ),
        (
            "https://shop.example.com/spring?utm_source=newsletter&amp;utm_medium=email",
            "https://shop.example.com/spring?utm_source=newsletter&utm_medium=email",
            "hero-button",
        ),
        ("https://shop.example.com/privacy", "https://shop.example.com/privacy", "3"),
    ],
    "mailchimp.html": [
        (
            "https://blog.example.org/posts/2026/weekend-sale?ref=mail&amp;id=7",
            "https://blog.example.org/posts/2026/weekend-sale?ref=mail&id=7",
            "1",
        ),
        # In an attribute, "&copy" before "=" is text, not an entity.
        (
            "https://shop.example.org/sale?cat=all&copy=1",
            "https://shop.example.org/sale?cat=all&copy=1",
            "2",
        ),
        # Outlook's VML button, inside its conditional comment, and everyone else's.
        (
            "https://shop.example.org/sale?src=button",
            "https://shop.example.org/sale?src=button",
            "3",
        ),
        (
            "https://shop.example.org/sale?src=button",
            "https://shop.example.org/sale?src=button",
            "4",
        ),
        ("http://www.twitter.com/exampleshop", "http://www.twitter.com/exampleshop", "5"),
        ("https://www.facebook.com/exampleshop", "https://www.facebook.com/exampleshop", "6"),
    ],
    "transactional.html": [
        (
            "https://app.example.com/receipts/1042?lang=en&amp;format=pdf",
            "https://app.example.com/receipts/1042?lang=en&format=pdf",
            "1",
        ),
        (
            "https://app.example.com/reset?token=abc123",
            "https://app.example.com/reset?token=abc123",
            "reset",
        ),
        ("  https://app.example.com/account  ", "https://app.example.com/account", "3"),
    ],
    "broken.html": [
        ("https://broken.example/one", "https://broken.example/one", "1"),
        ("https://broken.example/two", "https://broken.example/two", "2"),
        ("https://broken.example/three", "https://broken.example/three", "3"),
        ("https://broken.example/four", "https://broken.example/four", "4"),
        ("https://broken.example/five", "https://broken.example/five", "5"),
        ("\nhttps://broken.example/six?x=1\n", "https://broken.example/six?x=1", "6"),
        ("https://broken.example/seven", "https://broken.example/seven", "7"),
        ("HTTPS://BROKEN.EXAMPLE/EIGHT", "https://broken.example/EIGHT", "8"),
        ("https://broken.example/ten", "https://broken.example/ten", "9"),
    ],
}


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_a_real_world_email_changes_only_in_its_links_and_the_pixel(name: str) -> None:
    source = read(name)
    expected = TEMPLATES[name]

    result = instrument_html(source, PIXEL)

    assert clicks_in(result) == [(destination, link) for _raw, destination, link in expected]
    assert undo(result, [raw for raw, _d, _l in expected], str(PIXEL.img())) == source


@pytest.mark.parametrize(
    ("name", "end_tag"),
    [
        ("mjml.html", "</body>"),
        ("mailchimp.html", "</BODY>"),
        ("transactional.html", "</body>"),
        ("broken.html", None),  # no </body>, no </html>: at the very end
    ],
)
def test_the_pixel_goes_at_the_end_of_the_body(name: str, end_tag: str | None) -> None:
    source = read(name)
    at = len(source) if end_tag is None else source.rindex(end_tag)
    result = instrument_html(source, PIXEL, clicks=False)
    assert result == source[:at] + str(PIXEL.img()) + source[at:]


def test_what_is_left_alone() -> None:
    source = (
        "<body>"
        '<a href="mailto:a@example.com">m</a><a href="tel:+15555550100">t</a>'
        '<a href="#top">anchor</a><a href="/relative">r</a><a href="page.html">r</a>'
        '<a href="//cdn.example.com/x">scheme-relative</a><a href="ftp://files.example.com/">f</a>'
        '<a href="javascript:void(0)">js</a><a href="data:text/html,hi">data</a>'
        '<a href="https://example.com/{{ user.id }}">django</a>'
        '<a href="https://example.com/?e=*|EMAIL|*">mailchimp</a>'
        '<a href="https://example.com/%%unsubscribe%%">sendgrid</a>'
        '<a href="https://example.com/[[link]]">brackets</a>'
        '<a href="https://example.com/${url}">js template</a>'
        '<a href="https://example.com/{% url "x" %}">tag</a>'
        '<a href="https://track.example.com/ptrack/c/x.y.z/">tracked</a>'
        '<a href="https://example.com/off" data-ptrack="off">off</a>'
        '<a href="https://example.com/OFF" data-ptrack=" OFF ">off</a>'
        '<a href="https://example.com/false" data-ptrack="false">off</a>'
        '<a href="https://example.com/no" data-ptrack=no>off</a>'
        '<a name="x">no href</a><a href>empty</a>'
        '<area href="https://example.com/area"><link href="https://example.com/css">'
        "</body>"
    )
    assert instrument_html(source, PIXEL, opens=False) == source


def test_a_link_marked_anything_but_off_is_tracked() -> None:
    result = instrument_html(
        '<a href="https://example.com/" data-ptrack="on">x</a>', PIXEL, opens=False
    )
    assert clicks_in(result) == [("https://example.com/", "1")]


def test_quotes_are_kept_and_unquoted_values_stay_unquoted() -> None:
    result = instrument_html(
        "<a href='https://a.example/'>a</a><a href=https://b.example/>b</a>",
        PIXEL,
        opens=False,
    )
    assert re.fullmatch(
        r"<a href='https://track\S+/'>a</a><a href=https://track[^\s\"'>]+/>b</a>", result
    )


@pytest.mark.parametrize(
    ("value", "destination"),
    [
        ("https://e.example/?a=1&amp;b=2", "https://e.example/?a=1&b=2"),
        ("https://e.example/?a=1&#38;b=2&#x26;c=3", "https://e.example/?a=1&b=2&c=3"),
        ("https://e.example/?a=1&copy=2", "https://e.example/?a=1&copy=2"),
        ("https://e.example/?a=1&amp=2", "https://e.example/?a=1&amp=2"),
        ("https://e.example/?a=1&notit;", "https://e.example/?a=1&notit;"),
        ("https://e.example/?a&lang=en", "https://e.example/?a&lang=en"),
        ("https&#58;//e.example/", "https://e.example/"),
        ("https://e.example/a\r\nb\tc", "https://e.example/abc"),
        ("\x01 https://e.example/ \x1f", "https://e.example/"),
        ("https://e.example/a\x00b", "https://e.example/a%EF%BF%BDb"),
        ("HTTPS://E.EXAMPLE:443/./a/../b?", "https://e.example/b?"),
        ("https:\\\\e.example\\a", "https://e.example/a"),
    ],
)
def test_the_destination_is_the_href_as_a_browser_reads_it(value: str, destination: str) -> None:
    result = instrument_html(f'<a href="{value}">x</a>', PIXEL, opens=False)
    assert clicks_in(result) == [(destination, "1")]


def test_a_nul_before_the_url_makes_it_relative_as_in_a_browser() -> None:
    # The tokenizer reads a NUL in an attribute as U+FFFD, which is no space to strip.
    source = '<a href="\x00 https://e.example/">x</a>'
    assert instrument_html(source, PIXEL, opens=False) == source


def test_an_author_name_is_read_like_any_attribute_value() -> None:
    result = instrument_html(
        '<a href="https://e.example/" data-ptrack-name=" Hero &amp; co ">x</a>',
        PIXEL,
        opens=False,
    )
    assert clicks_in(result) == [("https://e.example/", "Hero & co")]


def test_an_href_a_click_link_cannot_carry_is_left_alone_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    source = (
        '<a href="https://exa mple.example/">space</a><a href="https://user:pw@e.example/">c</a>'
        '<a href="https://e.example:99999/">port</a><a href="https://e.example/ok">ok</a>'
    )
    with caplog.at_level(logging.WARNING, logger="ptrack"):
        result = instrument_html(source, PIXEL, opens=False)
    assert clicks_in(result) == [("https://e.example/ok", "1")]
    assert result.startswith(source[: source.index('<a href="https://e.example/ok">')])
    assert len(caplog.records) == 3
    assert "'https://exa mple.example/'" in caplog.records[0].getMessage()
    assert "credentials" in caplog.records[1].getMessage()
    assert "invalid port" in caplog.records[2].getMessage()


def test_clicks_and_opens_can_each_be_left_out() -> None:
    source = '<body><a href="https://e.example/">x</a></body>'
    assert instrument_html(source, PIXEL, clicks=False, opens=False) == source
    only_clicks = instrument_html(source, PIXEL, opens=False)
    assert "<img" not in only_clicks
    assert clicks_in(only_clicks) == [("https://e.example/", "1")]
    only_opens = instrument_html(source, PIXEL, clicks=False)
    assert only_opens == source.replace("</body>", str(PIXEL.img()) + "</body>")


def test_one_options_object_spells_each_option_once() -> None:
    fields = [field.name for field in dataclasses.fields(Tracking)]
    assert fields == ["pixel", *TrackingOptions.__annotations__]
    tracking = Tracking(PIXEL, opens=False)
    assert Tracking.of(tracking) is tracking
    assert Tracking.of(tracking, clicks=False) == Tracking(PIXEL, opens=False, clicks=False)
    assert Tracking.of(PIXEL, opens=False) == tracking
    with pytest.raises(dataclasses.FrozenInstanceError):
        tracking.opens = True  # type: ignore[misc]
    with pytest.raises(TypeError, match="track_opens"):
        instrument_html("<a>", PIXEL, track_opens=False)  # type: ignore[call-arg]


def test_a_tracking_takes_the_place_of_the_pixel_and_options() -> None:
    source = '<body><a href="https://e.example/">x</a> https://e.example/</body>'
    options: TrackingOptions = {"opens": False, "expires": timedelta(days=3)}
    tracking = Tracking(PIXEL, **options)
    assert instrument_html(source, tracking) == instrument_html(source, PIXEL, **options)
    assert instrument_text(source, tracking) == instrument_text(source, PIXEL, **options)
    assert instrument_html(source, tracking, opens=True, expires=None) == instrument_html(
        source, PIXEL
    )


def test_instrumenting_twice_changes_nothing_more() -> None:
    once = instrument_html(read("mjml.html"), PIXEL)
    assert instrument_html(once, PIXEL) == once


def test_a_document_with_a_ptrack_pixel_gets_no_second_one() -> None:
    source = f"<body>{ptrack.Pixel('other').img()}<a href='https://e.example/'>x</a></body>"
    result = instrument_html(source, PIXEL)
    assert result.count("<img") == 1
    assert clicks_in(result) == [("https://e.example/", "1")]


def test_only_real_end_tags_place_the_pixel() -> None:
    source = (
        "<body><!-- </body> --><script>'</body>'</script><textarea></body></textarea>"
        "<p title='</body>'>x</p></body>\n<!-- footer </body> -->"
    )
    result = instrument_html(source, PIXEL)
    assert result == source.replace("</p></body>", f"</p>{PIXEL.img()}</body>")


def test_the_last_body_end_tag_wins_then_html_then_the_end() -> None:
    img = str(PIXEL.img())
    assert instrument_html("<p></body>x</BODY >", PIXEL) == f"<p></body>x{img}</BODY >"
    assert instrument_html("<p>x</HTML>", PIXEL) == f"<p>x{img}</HTML>"
    assert instrument_html("<p>x", PIXEL) == f"<p>x{img}"
    # After <plaintext> everything is text, even </body>: the pixel goes before it.
    assert instrument_html("<p>x<PLAINTEXT></body>", PIXEL) == f"<p>x{img}<PLAINTEXT></body>"
    assert instrument_html("", PIXEL) == img
    after = instrument_html('</body><a href="https://e.example/">x</a>', PIXEL)
    assert after.startswith(img + '</body><a href="https://track.example.com/ptrack/c/')
    assert clicks_in(after) == [("https://e.example/", "1")]


@freeze_time(T0)
def test_expires_applies_to_the_pixel_and_every_link_not_to_their_data() -> None:
    result = instrument_html(
        '<body><a href="https://e.example/">x</a></body>', PIXEL, expires=timedelta(days=30)
    )
    [click] = CLICK_URL.findall(result)
    [pixel] = re.findall(r"/ptrack/([A-Za-z0-9_.\-]+)/\"", result)
    _destination, event = tracking.verify_click(click)
    loaded = tracking.verify(pixel)
    assert event is not None
    assert loaded is not None
    assert event.expires_at == loaded.expires_at == T0 + timedelta(days=30)
    assert dict(event.kwargs) == dict(loaded.kwargs) == PIXEL.kwargs


def test_a_rewritten_link_records_a_click_and_the_pixel_an_open(
    client: Client, recorded: Recorded
) -> None:
    class Clicks(ptrack.TrackingPixel):
        event_types = frozenset({ptrack.EventType.CLICKED})

        def record_event(self, event: ptrack.PixelEvent) -> None:
            recorded.events.append(event)

    ptrack.tracker.register(Clicks)
    try:
        result = instrument_html(read("mjml.html"), PIXEL)
        [_, hero, _] = CLICK_URL.finditer(result)
        pixel = re.search(r'<img src="https://track\.example\.com(/ptrack/[^"]+)"', result)
        assert pixel is not None
        response = client.get(urlsplit(hero[0]).path)
        client.get(pixel[1])
    finally:
        ptrack.tracker.unregister(Clicks)

    assert response.status_code == 302
    assert response["Location"] == (
        "https://shop.example.com/spring?utm_source=newsletter&utm_medium=email"
    )
    clicked, loaded = recorded.events
    assert (clicked.event_type, clicked.link_name) == (ptrack.EventType.CLICKED, "hero-button")
    assert loaded.event_type == ptrack.EventType.LOADED
    assert (loaded.args, dict(loaded.kwargs)) == (PIXEL.args, PIXEL.kwargs)


# --- bad input: a clear error, or a correct result, never a hang ---


@pytest.mark.parametrize(
    ("html", "pixel", "message"),
    [
        (b"<a>", PIXEL, "takes the rendered HTML as a str, not bytes"),
        (None, PIXEL, "not NoneType"),
        ("<a>", "campaign", "takes a ptrack.Pixel"),
        ("<a>", {"id": 1}, "not {'id': 1}"),
    ],
)
def test_wrong_arguments_raise_naming_them(html: Any, pixel: Any, message: str) -> None:
    with pytest.raises(TypeError, match=re.escape(message)):
        instrument_html(html, pixel)


@override_settings(PTRACK_APP_URL="")
def test_without_the_app_url_it_says_which_setting() -> None:
    with pytest.raises(ImproperlyConfigured, match="PTRACK_APP_URL"):
        instrument_html('<a href="https://e.example/">x</a>', PIXEL)


@override_settings(PTRACK_MAX_URL_LENGTH=300)
def test_a_link_too_long_for_a_click_url_raises_naming_the_limit() -> None:
    path = "".join(hashlib.sha256(bytes([i])).hexdigest() for i in range(4))
    with pytest.raises(PixelURLTooLong, match="PTRACK_MAX_URL_LENGTH"):
        instrument_html(f'<a href="https://e.example/{path}">x</a>', PIXEL)


@pytest.mark.parametrize(
    "source",
    [
        pytest.param('<body><a href="https://e.example/', id="tag-cut-off"),
        pytest.param('<body><a href="https://e.example/">x<!-- never closed', id="comment-open"),
        pytest.param('<body><script><a href="https://e.example/">', id="script-open"),
        pytest.param("<body><style>a{}</style><title>x", id="title-open"),
        pytest.param('<plaintext><a href="https://e.example/"></body>', id="plaintext"),
        pytest.param("<!--[if mso]>" * 5000, id="conditional-openers"),
        pytest.param("<!--[if " * 20000, id="conditional-cut-off"),
        pytest.param("<a " * 100000, id="many-open-a"),
        pytest.param('<a href="' * 100000, id="many-open-quotes"),
        pytest.param("<a href=x " * 100000, id="many-unquoted"),
        pytest.param("<" * 300000, id="many-lt"),
        pytest.param("<a\x00href=https://e.example/>\x00" * 1000, id="nul"),
        pytest.param("<!" * 100000 + ">", id="bogus-comments"),
        pytest.param("</" * 100000, id="end-tag-starts"),
        pytest.param("&" * 100000, id="ampersands"),
    ],
)
def test_hostile_html_gets_its_pixel_and_nothing_else_changes(source: str) -> None:
    result = instrument_html(source, PIXEL, clicks=False)
    img = str(PIXEL.img())
    assert result.replace(img, "", 1) == source
    assert img in result


def test_nul_and_crlf_around_links_survive() -> None:
    source = '<body>\x00\r\n<a\r\nhref="https://e.example/"\x00>x</a>\r\n\x00</body>\r\n'
    result = instrument_html(source, PIXEL)
    assert clicks_in(result) == [("https://e.example/", "1")]
    assert undo(result, ["https://e.example/"], str(PIXEL.img())) == source


def test_a_link_inside_an_unclosed_tag_at_the_end_is_no_link() -> None:
    source = '<body><a href="https://e.example/one">1</a><a href="https://e.example/two"'
    result = instrument_html(source, PIXEL, opens=False)
    assert clicks_in(result) == [("https://e.example/one", "1")]
    assert result.endswith('<a href="https://e.example/two"')


def test_a_huge_email_is_instrumented_whole() -> None:
    block = (
        '<tr><td style="padding:8px;font:14px Arial">Item &amp; text'
        '<a href="https://shop.example.com/item/{i}?a=1&amp;b=2">Item {i}</a>'
        '<img src="https://cdn.example.com/{i}.png" alt="">'
        + "<span>x</span>" * 40
        + "</td></tr>\n"
    )
    source = "<html><body><table>" + "".join(block.format(i=i) for i in range(2000))
    source += "</table></body></html>"
    assert len(source) > 1_000_000

    result = instrument_html(source, PIXEL)

    found = clicks_in(result)
    assert len(found) == 2000
    assert found[1999] == ("https://shop.example.com/item/1999?a=1&b=2", "2000")
    raws = [f"https://shop.example.com/item/{i}?a=1&amp;b=2" for i in range(2000)]
    assert undo(result, raws, str(PIXEL.img())) == source


_FRAGMENTS = st.sampled_from(
    [
        "<a href=",
        '"https://e.example/x"',
        "'",
        '"',
        ">",
        "<",
        "</",
        "body>",
        "<!--",
        "-->",
        "<!--[if mso]>",
        "<![endif]-->",
        "<script>",
        "</script>",
        "<style>",
        " ",
        "\r\n",
        "\x00",
        "=",
        "&amp;",
        "data-ptrack=off",
        "<v:rect href=https://v.example/>",
        "</BODY>",
        "x",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_FRAGMENTS, st.text(max_size=5)), max_size=40).map("".join))
def test_any_input_keeps_every_byte_but_hrefs_and_the_pixel(source: str) -> None:
    result = instrument_html(source, PIXEL)

    def destination(match: re.Match[str]) -> str:
        event = tracking.verify_click(match[1])[1]
        assert event is not None
        return event.destination

    # The only trackable hrefs these fragments make are written as their destination,
    # so putting the destinations back and taking the pixel out gives the input.
    assert CLICK_URL.sub(destination, result).replace(str(PIXEL.img()), "", 1) == source


def test_attributes_without_values_and_named_references() -> None:
    source = (
        '<a href="https:&sol;&sol;e.example/&quot;q" data-ptrack data-ptrack-name>x</a>'
        '<a href=https://f.example/ data-ptrack-name=" ">y</a>'
    )
    result = instrument_html(source, PIXEL, opens=False)
    assert clicks_in(result) == [("https://e.example/%22q", "1"), ("https://f.example/", "2")]


@override_settings(PTRACK_APP_URL="https://track.example.com/?a=1&b=2")
def test_an_unquoted_href_is_quoted_when_the_click_url_needs_it() -> None:
    result = instrument_html("<a href=https://e.example/>x</a>", PIXEL, opens=False)
    assert result.startswith('<a href="https://track.example.com/?a=1&amp;b=2/ptrack/c/')
    assert result.endswith('/">x</a>')


def test_a_token_that_needs_quoting_is_reversed(client: Client, recorded: Recorded) -> None:
    ptrack.ptrack_encoder = SpacedEncoder
    result = instrument_html('<a href="https://e.example/">x</a>', PIXEL, opens=False)
    url = re.search(r'href="([^"]+)"', result)
    assert url is not None
    assert url[1].startswith("https://track.example.com/ptrack/c/a%20token/with%20spaces%25")
    response = client.get(urlsplit(url[1]).path)
    assert response["Location"] == "https://e.example/"


def test_an_href_with_a_malformed_host_is_left_alone_and_the_rest_tracked(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bad = '<a href="https://[oops/">bad</a>'
    source = f'<body>{bad}<a href="https://e.example/ok">ok</a></body>'
    with caplog.at_level(logging.WARNING, logger="ptrack"):
        result = instrument_html(source, PIXEL)
    assert clicks_in(result) == [("https://e.example/ok", "1")]
    assert result.startswith(f"<body>{bad}")
    assert f"{PIXEL.img()}</body>" in result
    [warning] = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warning.startswith("Left a link untracked: ")
    assert "'https://[oops/'" in warning
    assert "malformed host" in warning
