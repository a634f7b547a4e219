"""Tracking Django email messages: instrument_message, track_message and the backend."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import django
import pytest
from django.core import mail
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.core.mail.backends.base import BaseEmailBackend
from django.test import override_settings

import ptrack
from ptrack import tracking
from ptrack.instrument import Tracking, instrument_text
from ptrack.mail import TrackingEmailBackend, track_message
from tests import helpers
from tests.helpers import T0, tracking_in_front_of

PIXEL = ptrack.Pixel("campaign", campaign_id=7)
CLICK_URL = re.compile(r"https://track\.example\.com/ptrack/c/([A-Za-z0-9_.\-]+)/")
HTML = '<html><body><p>Hi</p><a href="https://e.example/offer">Offer</a></body></html>'
TEXT = "Hi,\n\nOur offer: https://e.example/offer.\n\nUnsubscribe: https://e.example/unsub\n"
LOCMEM = "django.core.mail.backends.locmem.EmailBackend"
TRACKING = "ptrack.mail.TrackingEmailBackend"


pytestmark = pytest.mark.usefixtures("frozen")

# (destination, link name) of each click link in a text, verified, in order.
clicks_in = partial(helpers.clicks_in, pixel=PIXEL, pattern=CLICK_URL)


def campaign_mail() -> EmailMultiAlternatives:
    message = EmailMultiAlternatives("Offer", TEXT, "shop@example.com", ["ada@example.com"])
    message.attach_alternative(HTML, "text/html")
    return message


def html_of(message: EmailMessage) -> str:
    assert isinstance(message, EmailMultiAlternatives)
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    return str(html)


# --- instrument_message ---


def test_the_html_alternative_is_instrumented_and_the_text_left_alone() -> None:
    message = campaign_mail()
    ptrack.instrument_message(message, PIXEL)
    html = html_of(message)
    assert html == ptrack.instrument_html(HTML, PIXEL)
    assert clicks_in(html) == [("https://e.example/offer", "1")]
    assert message.body == TEXT


def test_text_true_turns_the_plain_text_urls_into_click_links() -> None:
    message = campaign_mail()
    ptrack.instrument_message(message, PIXEL, text=True)
    assert clicks_in(message.body) == [
        ("https://e.example/offer", "text-1"),
        ("https://e.example/unsub", "text-2"),
    ]
    assert re.fullmatch(
        r"Hi,\n\nOur offer: https://\S+/\.\n\nUnsubscribe: https://\S+/\n", message.body
    )


def test_an_html_body_is_instrumented() -> None:
    message = EmailMessage("Offer", HTML, "shop@example.com", ["ada@example.com"])
    message.content_subtype = "html"
    ptrack.instrument_message(message, PIXEL, opens=False)
    assert message.body == ptrack.instrument_html(HTML, PIXEL, opens=False)


def test_other_alternatives_and_attachments_are_not_touched() -> None:
    message = campaign_mail()
    message.attach_alternative("<amp>https://e.example/</amp>", "text/x-amp-html")
    message.attach("offer.html", HTML, "text/html")
    ptrack.instrument_message(message, PIXEL, clicks=False)
    assert [tuple(a) for a in message.alternatives][1] == (
        "<amp>https://e.example/</amp>",
        "text/x-amp-html",
    )
    assert message.attachments == [("offer.html", HTML, "text/html")]
    assert html_of_first(message) == HTML.replace("</body>", f"{PIXEL.img()}</body>")


def html_of_first(message: EmailMultiAlternatives) -> str:
    return str(message.alternatives[0][0])


def test_a_bytes_alternative_is_refused_naming_it() -> None:
    message = EmailMultiAlternatives("Offer", TEXT, to=["ada@example.com"])
    message.attach_alternative(HTML.encode(), "text/html")
    with pytest.raises(TypeError, match="text/html alternative: it is a bytes, not a str"):
        ptrack.instrument_message(message, PIXEL)


def test_a_message_is_tracked_with_a_pixel() -> None:
    with pytest.raises(TypeError, match=r"ptrack.Pixel\(...\).*not 'campaign'"):
        ptrack.instrument_message(campaign_mail(), "campaign")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "links"),
    [
        (
            "See https://e.example/a, then https://e.example/b!",
            ["https://e.example/a", "https://e.example/b"],
        ),
        ("(https://e.example/a)", ["https://e.example/a"]),
        ("https://en.wikipedia.org/wiki/Foo_(bar).", ["https://en.wikipedia.org/wiki/Foo_(bar)"]),
        ("<https://e.example/a?x=1&y=2>", ["https://e.example/a?x=1&y=2"]),
        ('"https://e.example/a"', ["https://e.example/a"]),
        ("mailto:a@e.example tel:+1555 ftp://e.example/ e.example/a", []),
        ("https://e.example/*|UNSUB|* https://e.example/{{ x }}", []),
        ("https://track.example.com/ptrack/c/old.link.token/", []),
        ("xhttps://e.example/a", []),
    ],
)
def test_urls_in_plain_text(text: str, links: list[str]) -> None:
    result = instrument_text(text, PIXEL)
    if not links:
        assert result == text
        return
    assert [destination for destination, _name in clicks_in(result)] == links
    destinations = iter(links)
    assert CLICK_URL.sub(lambda _match: next(destinations), result) == text


@pytest.mark.parametrize(
    ("url", "destination"),
    [
        ("HTTPS://E.EXAMPLE/A", "https://e.example/A"),
        ("https://caf\u00e9.example/men\u00fc?plat=cr\u00eape", "https://xn--caf-dma.example/men%C3%BC?plat=cr%C3%AApe"),
        ("https://例え.jp/パス", "https://xn--r8jz45g.jp/%E3%83%91%E3%82%B9"),
    ],
)  # fmt: skip
def test_plain_text_urls_lead_where_a_browser_goes(url: str, destination: str) -> None:
    result = instrument_text(f"Read it at {url} today.", PIXEL)
    assert clicks_in(result) == [(destination, "text-1")]
    assert CLICK_URL.sub(url, result) == f"Read it at {url} today."


# --- track_message and the backend ---


@tracking_in_front_of(LOCMEM)
def test_the_backend_sends_a_tracked_copy_of_a_marked_message() -> None:
    message = track_message(campaign_mail(), PIXEL, text=True)

    assert message.send() == 1

    [sent] = mail.outbox
    assert sent is not message
    assert clicks_in(html_of(sent)) == [("https://e.example/offer", "1")]
    assert str(PIXEL.img()) in html_of(sent)
    assert [name for _d, name in clicks_in(sent.body)] == ["text-1", "text-2"]
    # The original is as it was: it can be sent elsewhere untracked.
    assert html_of(message) == HTML
    assert message.body == TEXT


@tracking_in_front_of(LOCMEM)
def test_unmarked_messages_pass_through_untouched() -> None:
    message = campaign_mail()
    mail.send_mail("Hello", "Plain https://e.example/", "a@example.com", ["b@example.com"])
    message.send()
    assert mail.outbox[0].body == "Plain https://e.example/"
    assert html_of(mail.outbox[1]) == HTML
    assert mail.outbox[1].body == TEXT


@override_settings(PTRACK_EMAIL_BACKEND=LOCMEM)
def test_a_pixel_on_the_message_is_enough_and_anything_else_is_refused() -> None:
    connection = TrackingEmailBackend()
    message = campaign_mail()
    message.ptrack = PIXEL  # type: ignore[attr-defined]
    connection.send_messages([message])
    assert clicks_in(html_of(mail.outbox[0])) == [("https://e.example/offer", "1")]

    message.ptrack = {"campaign_id": 7}  # type: ignore[attr-defined]
    with pytest.raises(TypeError, match=r"message.ptrack should be set by .*track_message"):
        connection.send_messages([message])


@override_settings(PTRACK_EMAIL_BACKEND=LOCMEM)
def test_track_message_options_reach_the_backend() -> None:
    message = track_message(campaign_mail(), PIXEL, opens=False, clicks=True)
    assert message.ptrack == Tracking(PIXEL, opens=False)  # type: ignore[attr-defined]
    TrackingEmailBackend().send_messages([message])
    assert "<img" not in html_of(mail.outbox[0])
    assert mail.outbox[0].body == TEXT


class RecordingBackend(BaseEmailBackend):
    """Remembers how it was built and used."""

    instances: list[RecordingBackend] = []  # noqa: RUF012

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()
        self.args = args
        self.kwargs = kwargs
        self.calls: list[Any] = []
        RecordingBackend.instances.append(self)

    def open(self) -> bool:
        self.calls.append("open")
        return True

    def close(self) -> None:
        self.calls.append("close")

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        self.calls.append(list(email_messages))
        return len(email_messages)


@override_settings(PTRACK_EMAIL_BACKEND="tests.test_mail.RecordingBackend")
def test_the_wrapped_backend_gets_the_arguments_and_the_calls() -> None:
    RecordingBackend.instances.clear()
    with TrackingEmailBackend(True, host="smtp.example.com") as connection:
        assert connection.send_messages([track_message(campaign_mail(), PIXEL)]) == 1
    [inner] = RecordingBackend.instances
    assert (inner.args, inner.kwargs) == ((True,), {"host": "smtp.example.com"})
    assert inner.calls[0] == "open"
    assert inner.calls[2] == "close"
    [sent] = inner.calls[1]
    assert clicks_in(html_of(sent)) == [("https://e.example/offer", "1")]


def test_by_default_the_backend_wraps_smtp() -> None:
    from django.core.mail.backends.smtp import EmailBackend

    options = {"host": "smtp.example.com", "port": 2525}
    if django.VERSION >= (6, 1):  # backends are built by mail.mailers, with an alias
        from django.core.mail import mailers  # type: ignore[attr-defined]

        with override_settings(MAILERS={"default": {"BACKEND": TRACKING, "OPTIONS": options}}):
            connection = mailers["default"]
    else:
        connection = TrackingEmailBackend(**options)
    assert isinstance(connection, TrackingEmailBackend)
    assert isinstance(connection.backend, EmailBackend)
    assert (connection.backend.host, connection.backend.port) == ("smtp.example.com", 2525)


def test_the_email_api_is_imported_on_first_use_from_ptrack() -> None:
    from ptrack import mail as mail_module

    assert ptrack.track_message is mail_module.track_message
    assert ptrack.TrackingEmailBackend is TrackingEmailBackend
    with pytest.raises(AttributeError, match="module 'ptrack' has no attribute 'nope'"):
        ptrack.nope  # type: ignore[attr-defined]  # noqa: B018


@pytest.mark.skipif(django.VERSION < (6, 1), reason="MAILERS came with Django 6.1")
@override_settings(
    MAILERS={"default": {"BACKEND": TRACKING, "OPTIONS": {"host": "smtp.example.com"}}},
    PTRACK_EMAIL_BACKEND="tests.test_mail.RecordingBackend",
)
def test_a_mailer_s_options_and_alias_reach_the_wrapped_backend() -> None:
    from django.core.mail import mailers  # type: ignore[attr-defined]

    RecordingBackend.instances.clear()
    connection = mailers["default"]
    assert isinstance(connection, TrackingEmailBackend)
    assert connection.alias == "default"
    [inner] = RecordingBackend.instances
    assert inner.kwargs == {"alias": "default", "host": "smtp.example.com"}


def test_a_url_with_a_malformed_host_in_plain_text_is_left_alone_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    text = "Broken: https://[oops/ and fine: https://e.example/ok"
    with caplog.at_level(logging.WARNING, logger="ptrack"):
        result = instrument_text(text, PIXEL)
    assert clicks_in(result) == [("https://e.example/ok", "text-1")]
    assert result.startswith("Broken: https://[oops/ and fine: https://track.example.com/")
    [warning] = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert "'https://[oops/'" in warning
    assert "malformed host" in warning


@tracking_in_front_of(LOCMEM)
def test_the_backend_leaves_a_link_with_a_malformed_host_and_tracks_the_rest(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bad = '<a href="https://[oops/">bad</a>'
    message = EmailMultiAlternatives(
        "Offer", "Broken: https://[oops/\n" + TEXT, "shop@example.com", ["ada@example.com"]
    )
    message.attach_alternative(HTML.replace("</body>", f"{bad}</body>"), "text/html")
    track_message(message, PIXEL, text=True)

    with caplog.at_level(logging.WARNING, logger="ptrack"):
        assert message.send() == 1

    [sent] = mail.outbox
    assert clicks_in(html_of(sent)) == [("https://e.example/offer", "1")]
    assert f"{bad}{PIXEL.img()}</body>" in html_of(sent)
    assert clicks_in(sent.body) == [
        ("https://e.example/offer", "text-1"),
        ("https://e.example/unsub", "text-2"),
    ]
    assert sent.body.startswith("Broken: https://[oops/\nHi,")
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 2
    assert all("'https://[oops/'" in warning for warning in warnings)


def test_plain_text_link_names_count_only_the_tracked_urls() -> None:
    text = (
        "https://e.example/{{ name }} https://user:pw@e.example/ https://e.example/a "
        "https://[oops/ https://e.example/b"
    )
    assert clicks_in(instrument_text(text, PIXEL)) == [
        ("https://e.example/a", "text-1"),
        ("https://e.example/b", "text-2"),
    ]


def test_an_asterisk_after_a_url_in_plain_text_stays_outside_it() -> None:
    result = instrument_text("Read *https://e.example/a* or **https://e.example/b**.", PIXEL)
    assert [destination for destination, _name in clicks_in(result)] == [
        "https://e.example/a",
        "https://e.example/b",
    ]
    assert CLICK_URL.sub("URL", result) == "Read *URL* or **URL**."


def _expiries(text: str) -> list[datetime | None]:
    """When each click link in ``text`` stops recording."""
    found = []
    for match in CLICK_URL.finditer(text):
        _destination, event = tracking.verify_click(match[1])
        assert event is not None
        found.append(event.expires_at)
    return found


def test_expires_reaches_the_links_of_instrument_text() -> None:
    result = instrument_text(TEXT, PIXEL, expires=timedelta(days=3))
    assert _expiries(result) == [T0 + timedelta(days=3)] * 2


@tracking_in_front_of(LOCMEM)
def test_expires_reaches_every_link_through_track_message_and_the_backend() -> None:
    track_message(campaign_mail(), PIXEL, expires=timedelta(days=3), text=True).send()
    [sent] = mail.outbox
    assert _expiries(html_of(sent)) == [T0 + timedelta(days=3)]
    assert _expiries(sent.body) == [T0 + timedelta(days=3)] * 2
    [pixel] = re.findall(r"/ptrack/([A-Za-z0-9_.\-]+)/\"", html_of(sent))
    loaded = tracking.verify(pixel)
    assert loaded is not None
    assert loaded.expires_at == T0 + timedelta(days=3)


def test_text_true_tracks_text_plain_alternatives_too() -> None:
    def html_mail_with_a_text_alternative() -> EmailMultiAlternatives:
        message = EmailMultiAlternatives("Offer", HTML, "shop@example.com", ["ada@example.com"])
        message.content_subtype = "html"
        message.attach_alternative(TEXT, "text/plain")
        return message

    message = html_mail_with_a_text_alternative()
    ptrack.instrument_message(message, PIXEL, text=True)
    [(content, mimetype)] = message.alternatives
    assert mimetype == "text/plain"
    assert clicks_in(str(content)) == [
        ("https://e.example/offer", "text-1"),
        ("https://e.example/unsub", "text-2"),
    ]
    assert clicks_in(message.body) == [("https://e.example/offer", "1")]

    untouched = html_mail_with_a_text_alternative()
    ptrack.instrument_message(untouched, PIXEL)
    assert [tuple(a) for a in untouched.alternatives] == [(TEXT, "text/plain")]
