"""Making click links (template tag and Python), the click event, recorders'
``event_types`` and the fallback URL's check."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.template import TemplateSyntaxError
from django.test import Client, override_settings
from django.urls import reverse
from freezegun import freeze_time
from hypothesis import given, settings
from hypothesis import strategies as st

import ptrack
from ptrack import answers, checks, clicks, tokens, tracking
from ptrack.events import EventType
from ptrack.exceptions import (
    ExpiredToken,
    InvalidDestination,
    PixelURLTooLong,
    PixelValueError,
    PtrackRegistrationError,
)
from tests.conftest import Recorded
from tests.helpers import render

DEST = "https://www.example.com/pricing?plan=pro&from=mail"
T0 = datetime(2026, 5, 1, 8, 0, 0, 999000, tzinfo=timezone.utc)


@freeze_time(T0)
def test_link_is_the_click_url_with_the_destination_signed_in() -> None:
    token = tokens.dumps([[clicks.MARK, DEST], "newsletter"], {"user_id": 42})
    expected = f"https://track.example.com/ptrack/c/{token}/"
    assert ptrack.Pixel("newsletter", user_id=42).link(DEST) == expected
    assert ptrack.build_link(DEST, ["newsletter"], {"user_id": 42}) == expected
    assert reverse("ptrack_click", kwargs={"ptrack_encoded_data": token}) == f"/ptrack/c/{token}/"
    assert reverse("ptrack", kwargs={"ptrack_encoded_data": token}) == f"/ptrack/{token}/"


@freeze_time(T0)
def test_tag_renders_the_escaped_url_for_an_href() -> None:
    token = tokens.dumps([[clicks.MARK, DEST], "newsletter"], {"user_id": 42})
    url = f"https://track.example.com/ptrack/c/{token}/"
    html = render(
        "<a href=\"{% ptrack_link dest 'newsletter' user_id=42 %}\">Pricing</a>", dest=DEST
    )
    assert html == f'<a href="{url}">Pricing</a>'
    assert render(
        "{% autoescape off %}{% ptrack_link 'https://a.example/?x=1&y=2' %}{% endautoescape %}"
    ) == ptrack.Pixel().link("https://a.example/?x=1&y=2")


def test_an_ampersand_in_the_url_is_escaped_for_html() -> None:
    with override_settings(PTRACK_APP_URL="https://track.example.com/?a=1&b=2"):
        assert "&amp;b=2" in render("{% ptrack_link 'https://a.example/' %}")


@freeze_time(T0)
def test_tag_as_var_and_expires() -> None:
    html = render(
        "{% ptrack_link dest 'n' expires window as link %}<a href=\"{{ link }}\">x</a>",
        dest=DEST,
        window=timedelta(days=7),
    )
    url = ptrack.Pixel("n").link(DEST, expires=timedelta(days=7))
    assert html == f'<a href="{url}">x</a>'
    decoded = tokens.loads(urlsplit(url).path.split("/")[3])
    assert decoded.expires_at == datetime(2026, 5, 8, 8, 0, 1, tzinfo=timezone.utc)


def test_tag_needs_a_destination() -> None:
    with pytest.raises(TemplateSyntaxError, match="'ptrack_link' needs the destination URL"):
        render("{% ptrack_link %}")
    with pytest.raises(TemplateSyntaxError, match="'ptrack_link' needs the destination URL"):
        render("{% ptrack_link user_id=1 %}")


def test_tag_refuses_a_bad_destination_at_render_time_naming_it() -> None:
    with pytest.raises(InvalidDestination, match=r"'javascript:alert\(1\)'"):
        render("{% ptrack_link dest 'n' %}", dest="javascript:alert(1)")


@pytest.mark.parametrize(
    ("url", "destination"),
    [
        ("http://a.example", "http://a.example/"),
        ("https://a.example/", "https://a.example/"),
        ("HTTPS://A.EXAMPLE/Path?q=%20#frag", "https://a.example/Path?q=%20#frag"),
        ("https://a.example:8443/x", "https://a.example:8443/x"),
        ("https://[2001:db8::1]/", "https://[2001:db8::1]/"),
        ("https://xn--bcher-kva.example/", "https://xn--bcher-kva.example/"),
        ("https://b\u00fccher.example/", "https://xn--bcher-kva.example/"),
        ("https://a.example/?q=a\\b", "https://a.example/?q=a\\b"),
    ],
)
def test_accepted_destinations(url: str, destination: str) -> None:
    # The link leads where a browser would go, written as the URL standard writes it.
    assert clicks.problem(destination) is None
    link = ptrack.Pixel("n").link(url)
    assert tracking.verify_click(urlsplit(link).path.split("/")[3])[0] == destination


@pytest.mark.parametrize(
    "url", ["https://[oops/", "https://[::1/x", "http://[12345::]/", "https://[::1]evil.example/"]
)
def test_a_malformed_bracketed_host_is_refused_as_a_destination(url: str) -> None:
    assert clicks.problem(url) == "has a malformed host"
    with pytest.raises(InvalidDestination, match="it has a malformed host"):
        ptrack.Pixel("n").link(url)


def test_the_destination_may_be_as_long_as_a_url_may() -> None:
    with override_settings(PTRACK_MAX_URL_LENGTH=100):
        with pytest.raises(InvalidDestination, match="101 characters long, over the limit of 100"):
            ptrack.Pixel().link("https://a.example/" + "x" * 83)
        with pytest.raises(PixelURLTooLong, match="The click URL would be"):
            ptrack.Pixel().link("https://a.example/" + "x" * 60)


def test_a_pixel_cannot_carry_the_click_mark() -> None:
    with pytest.raises(PixelValueError, match="marks click links"):
        ptrack.Pixel([clicks.MARK, DEST]).url()
    with pytest.raises(PixelValueError, match="marks click links"):
        ptrack.Pixel([clicks.MARK]).img()
    assert ptrack.Pixel([], [clicks.MARK]).url()  # only the first argument is the mark's place


def test_link_needs_the_app_url_and_the_urls() -> None:
    with override_settings(PTRACK_APP_URL=""), pytest.raises(ImproperlyConfigured):
        ptrack.Pixel().link(DEST)
    with override_settings(ROOT_URLCONF="tests.urls_empty"), pytest.raises(ImproperlyConfigured):
        ptrack.Pixel().link(DEST)


def test_click_urls_follow_a_re_path_include(client: Client, recorded: Recorded) -> None:
    with override_settings(ROOT_URLCONF="tests.urls_re_path"):
        url = ptrack.Pixel("n").link(DEST)
        assert urlsplit(url).path.startswith("/pixels/c/")
        response = client.get(urlsplit(url).path)
    assert response.status_code == 302
    assert response["Location"] == DEST


class _LegacyEncoder:
    """An encoder of the original library's shape: encrypt() and decrypt() only."""

    @staticmethod
    def encrypt(*args: Any, **kwargs: Any) -> str:
        return "legacy" + ptrack.SignedEncoder.encrypt(*args, **kwargs)

    @staticmethod
    def decrypt(token: str) -> tuple[Sequence[Any], Mapping[str, Any]]:
        return ptrack.SignedEncoder.decrypt(token.removeprefix("legacy"))


def test_a_legacy_encoder_carries_click_links(client: Client) -> None:
    seen: list[ptrack.PixelEvent] = []

    class Clicks(ptrack.TrackingPixel):
        event_types = (EventType.CLICKED,)

        def record_event(self, event: ptrack.PixelEvent) -> None:
            seen.append(event)

    ptrack.ptrack_encoder = _LegacyEncoder
    ptrack.tracker.register(Clicks)
    try:
        url = ptrack.Pixel("n", k=1).link(DEST)
        assert "/ptrack/c/legacy" in url
        response = client.get(urlsplit(url).path)
        pixel = client.get(urlsplit(ptrack.Pixel("n").url()).path.replace("/ptrack/", "/ptrack/c/"))
    finally:
        ptrack.tracker.unregister(Clicks)
    assert (response.status_code, response["Location"]) == (302, DEST)
    assert pixel.status_code == 404
    assert [(e.args, dict(e.kwargs), e.destination) for e in seen] == [(("n",), {"k": 1}, DEST)]


class _ExpiringEncoder:
    """An encoder whose decode() reports expiry without the link's data."""

    @staticmethod
    def encrypt(*args: Any, **kwargs: Any) -> str:
        return ptrack.SignedEncoder.encrypt(*args, **kwargs)

    @staticmethod
    def decrypt(token: str) -> tuple[Sequence[Any], Mapping[str, Any]]:
        raise NotImplementedError

    @staticmethod
    def decode(token: str) -> Any:
        raise ExpiredToken("gone", issued_at=None, expires_at=None)


def test_an_expired_link_whose_destination_is_unknown_answers_404(client: Client) -> None:
    url = ptrack.Pixel("n").link(DEST)
    ptrack.ptrack_encoder = _ExpiringEncoder
    assert client.get(urlsplit(url).path).status_code == 404


def test_an_expired_pixel_token_at_the_click_url_answers_404(client: Client) -> None:
    with freeze_time(T0):
        token = tokens.dumps(["n"], {}, max_age=1)
    with freeze_time(T0 + timedelta(seconds=5)):
        assert client.get(f"/ptrack/c/{token}/").status_code == 404


# --- the event ---


def test_click_event_round_trips_through_a_dict() -> None:
    event = ptrack.PixelEvent(
        event_type=EventType.CLICKED,
        args=("n",),
        kwargs={"k": 1},
        timestamp=T0,
        destination=DEST,
    )
    data = event.to_dict()
    assert data["destination"] == DEST
    assert ptrack.PixelEvent.from_dict(data) == event
    del data["destination"]  # an event enqueued before clicks existed
    assert ptrack.PixelEvent.from_dict(data).destination == ""


# --- recorders' event_types ---


def test_recorders_receive_loads_only_by_default() -> None:
    assert ptrack.TrackingPixel.event_types == {EventType.LOADED}
    assert frozenset({"loaded", "clicked"}) == EventType.ALL


@pytest.mark.parametrize(
    "value",
    ["clicked", b"loaded", set(), {"opened"}, {EventType.LOADED, 3}, 7, None, [["clicked"]]],
)
def test_register_refuses_bad_event_types(value: Any) -> None:
    class Recorder(ptrack.TrackingPixel):
        event_types = value

        def record(self, *args: Any, **kwargs: Any) -> None:
            raise AssertionError  # pragma: no cover

    with pytest.raises(
        PtrackRegistrationError, match=r"Recorder\.event_types should be a non-empty set"
    ):
        ptrack.tracker.register(Recorder)
    assert not ptrack.tracker.is_registered(Recorder)


# --- PTRACK_CLICK_FALLBACK_URL ---


@pytest.mark.parametrize("url", [None, "", "https://www.example.com/", "http://a.example/x?y=1"])
def test_good_click_fallback_urls(url: Any) -> None:
    with override_settings(PTRACK_CLICK_FALLBACK_URL=url):
        assert checks.check_settings() == []


def test_click_links_follow_key_rotation(client: Client, clicks_recorded: list[Any]) -> None:
    old = "old-click-key-" + "r" * 50
    with override_settings(PTRACK_SECRET=old):
        path = urlsplit(ptrack.Pixel("n").link(DEST)).path
    new = "new-click-key-" + "s" * 50
    with override_settings(PTRACK_SECRET=new, PTRACK_SECRET_FALLBACKS=[old]):
        assert client.get(path)["Location"] == DEST
    with override_settings(PTRACK_SECRET=new, PTRACK_SECRET_FALLBACKS=[]):
        assert client.get(path).status_code == 404
    assert [e.destination for e in clicks_recorded] == [DEST]


# --- a short fuzz of the click step: any payload the site's key signs ---

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None, database=None)
@given(
    destination=st.one_of(
        st.text(max_size=60),
        st.sampled_from(["https://a.example/", "javascript:x", "//a.example", "https://u@a.b/"]),
        _JSON,
    ),
    rest=st.lists(_JSON, max_size=3),
    marked=st.booleans(),
    text=st.text(max_size=80),
)
def test_signed_click_payloads_redirect_only_to_sound_destinations(
    destination: Any, rest: list[Any], marked: bool, text: str
) -> None:
    # Signed with the site's key, past build_link's checks: the click step never raises,
    # and redirects only to a destination that passes them.
    args = [[clicks.MARK, destination], *rest] if marked else [destination, *rest]
    for token in (tokens.dumps(args, {}), text):
        found, event = tracking.verify_click(token)
        status, headers, _body, _location = answers.click_answer(found)
        if found is not None:
            assert clicks.problem(found) is None
            assert event is not None
            assert event.destination == found
            assert (status, headers[-1]) == (302, ("Location", found))
        else:
            assert event is None
            assert status == 404


def test_a_backslash_leads_where_a_browser_goes_and_is_never_redirected_to() -> None:
    # Browsers read "\" as "/": this link leads to evil.example, whatever urlsplit() says.
    url = "https://evil.example\\.bank.example/"
    assert clicks.problem(url.replace("\\", "/")) is None  # the backslash is its only fault
    assert clicks.problem(url) == "contains a control character, a space or a backslash"
    link = ptrack.Pixel("n").link(url)
    destination = tracking.verify_click(urlsplit(link).path.split("/")[3])[0]
    assert destination == "https://evil.example/.bank.example/"
    assert clicks.split(clicks.click_args(url, ["n"])) is None  # nor is it followed if signed
