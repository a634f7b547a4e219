"""Consent per recipient: links name whom they are for, and every load asks the consent
source again before a recorder sees anything (ptrack.consent)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

import pytest
from asgiref.sync import async_to_sync
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.test import override_settings
from freezegun import freeze_time
from jinja2 import Environment

import ptrack
from ptrack import consent, tasks, tracking
from ptrack.consent import Consent
from ptrack.exceptions import PixelValueError
from tests import consent_sources
from tests.conftest import Recorded
from tests.fronts import Front, assert_pixel
from tests.helpers import flip, render, tracking_in_front_of
from tests.recorders import make_recorders
from tests.task_backends import DUMMY, IMMEDIATE, SHARED, dummy_results

SOURCE = "tests.consent_sources.level"
ASYNC_SOURCE = "tests.consent_sources.alevel"
DEST = "https://www.example.com/offer"
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
LOADED_AT = datetime(2026, 12, 7, 15, 42, 10, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def levels() -> Iterator[dict[str, object]]:
    consent_sources.LEVELS.clear()
    consent_sources.ASKED.clear()
    consent_sources.RELEASE.clear()
    yield consent_sources.LEVELS
    consent_sources.RELEASE.set()


def token_of(url: str) -> str:
    parts = urlsplit(url).path.split("/")
    return parts[3] if parts[2] == "c" else parts[2]


def load(front: Front, url: str) -> Any:
    return front.request(urlsplit(url).path, headers={"User-Agent": CHROME, "Referer": "x"})


# --- the levels ---------------------------------------------------------------------------


def test_the_levels_are_a_str_enum_with_exactly_these_values() -> None:
    assert {level.value for level in Consent} == {"full", "deliverability", "aggregate", "none"}
    assert ptrack.Consent is Consent
    assert Consent("deliverability") is Consent.DELIVERABILITY
    assert Consent.AGGREGATE == "aggregate"
    assert str(Consent.NONE) == "none"


# --- who a link is for --------------------------------------------------------------------


def test_without_a_consent_source_a_link_names_its_recipient_and_records_as_today(
    front: Front, recorded: Recorded
) -> None:
    url = ptrack.Pixel("newsletter", user_id=42).url(recipient="sub-42")
    assert_pixel(front, load(front, url))
    [event] = recorded.events
    assert (event.recipient, event.consent) == ("sub-42", Consent.FULL)
    assert (event.args, dict(event.kwargs)) == (("newsletter",), {"user_id": 42})
    assert event.ip == "127.0.0.1"
    assert event.user_agent == CHROME
    assert consent_sources.ASKED == []


def test_a_link_without_a_recipient_names_nobody(recorded: Recorded) -> None:
    event = tracking.track(token_of(ptrack.Pixel("n").url()))
    assert event is not None
    assert (event.recipient, event.consent) == (None, Consent.FULL)


@pytest.mark.parametrize(
    ("recipient", "message"),
    [
        ("ada@example.com", "looks like an email address"),
        ("ada%40example.com", "looks like an email address"),
        ("", "should be a non-empty str"),
        (42, "should be a non-empty str"),
        ("x" * 129, "129 characters long, over 128"),
    ],
)
def test_a_recipient_must_be_an_opaque_key(recipient: Any, message: str) -> None:
    for make in (
        lambda: ptrack.Pixel("n").url(recipient=recipient),
        lambda: ptrack.Pixel("n").img(recipient=recipient),
        lambda: ptrack.Pixel("n").link(DEST, recipient=recipient),
    ):
        with pytest.raises(PixelValueError, match=message):
            make()
    assert ptrack.Pixel("n").url(recipient="x" * 128)


def test_the_recipient_is_signed_with_the_link(recorded: Recorded) -> None:
    token = token_of(ptrack.Pixel("n").url(recipient="sub-1"))
    assert tracking.track(flip(token, len(token) // 3)) is None
    assert recorded.events == []


def test_an_event_with_its_recipient_and_level_round_trips() -> None:
    event = ptrack.PixelEvent(
        event_type=ptrack.EventType.LOADED,
        args=("n",),
        timestamp=LOADED_AT,
        recipient="sub-1",
        consent=Consent.DELIVERABILITY,
    )
    data = json.loads(json.dumps(event.to_dict()))
    assert (data["recipient"], data["consent"]) == ("sub-1", "deliverability")
    back = ptrack.PixelEvent.from_dict(data)
    assert back == event
    assert back.consent is Consent.DELIVERABILITY
    del data["recipient"], data["consent"]  # queued by an earlier release
    assert ptrack.PixelEvent.from_dict(data).consent is Consent.FULL


def test_an_encoder_that_cannot_carry_a_recipient_says_so() -> None:
    class OldEncoder:
        @staticmethod
        def encrypt(*args: Any, **kwargs: Any) -> str:
            raise AssertionError  # pragma: no cover

        @staticmethod
        def decrypt(token: str) -> Any:
            raise AssertionError  # pragma: no cover

        @staticmethod
        def encode(args: Any, kwargs: Any, *, max_age: int | None = None) -> str:
            return ptrack.SignedEncoder.encode(args, kwargs, max_age=max_age)

    ptrack.ptrack_encoder = OldEncoder
    assert ptrack.Pixel("n").url()  # links naming nobody still work
    with pytest.raises(TypeError, match="OldEncoder has no encode\\(\\) that takes recipient="):
        ptrack.Pixel("n").url(recipient="sub-1")


def test_the_fernet_encoder_carries_the_recipient(recorded: Recorded) -> None:
    pytest.importorskip("cryptography")
    with override_settings(PTRACK_ENCODER="ptrack.FernetEncoder"):
        event = tracking.track(token_of(ptrack.Pixel("n").url(recipient="sub-1")))
    assert event is not None
    assert event.recipient == "sub-1"


# --- render time ----------------------------------------------------------------------------


@override_settings(PTRACK_CONSENT=SOURCE)
def test_none_renders_no_pixel_and_leaves_links_as_they_are(levels: dict[str, object]) -> None:
    levels["sub-1"] = "none"
    pixel = ptrack.Pixel("n")
    assert pixel.url(recipient="sub-1") == ""
    assert pixel.img(recipient="sub-1") == ""
    assert pixel.link(DEST, recipient="sub-1") == DEST
    assert ptrack.build_url(["n"], {}, recipient="sub-1") == ""


@override_settings(PTRACK_CONSENT=SOURCE)
def test_aggregate_renders_links_that_never_name_the_recipient(
    levels: dict[str, object],
) -> None:
    levels["sub-1"] = "aggregate"
    url = ptrack.Pixel("n").url(recipient="sub-1")
    link = ptrack.Pixel("n").link(DEST, recipient="sub-1")
    assert url == ptrack.Pixel("n").url()
    assert tracking.verify(token_of(url)) is not None
    _destination, event = tracking.verify_click(token_of(link))
    assert event is not None
    assert event.recipient is None


@override_settings(PTRACK_CONSENT=SOURCE)
@pytest.mark.parametrize("level", ["full", "deliverability"])
def test_full_and_deliverability_render_links_naming_the_recipient(
    levels: dict[str, object], level: str
) -> None:
    levels["sub-1"] = level
    event = tracking.verify(token_of(ptrack.Pixel("n").url(recipient="sub-1")))
    assert event is not None
    assert event.recipient == "sub-1"


@override_settings(PTRACK_CONSENT=SOURCE)
def test_an_unknown_recipient_gets_the_default_level(levels: dict[str, object]) -> None:
    assert ptrack.Pixel("n").url(recipient="stranger") == ""
    with override_settings(PTRACK_CONSENT_DEFAULT="full"):
        assert ptrack.Pixel("n").url(recipient="stranger")
    with override_settings(PTRACK_CONSENT_DEFAULT="yes"):  # ptrack.E051 meanwhile
        assert ptrack.Pixel("n").url(recipient="stranger") == ""


def test_a_source_may_answer_a_consent_member_and_none_is_asked_without_a_source(
    levels: dict[str, object],
) -> None:
    levels["sub-1"] = Consent.DELIVERABILITY
    with override_settings(PTRACK_CONSENT=SOURCE):
        assert consent.level("sub-1") is Consent.DELIVERABILITY
        assert async_to_sync(consent.alevel)("sub-1") is Consent.DELIVERABILITY
    assert consent.level("sub-1") is Consent.FULL
    assert async_to_sync(consent.alevel)("sub-1") is Consent.FULL


# --- load time --------------------------------------------------------------------------------


@override_settings(PTRACK_CONSENT=SOURCE)
def test_a_withdrawal_stops_a_link_already_sent(
    front: Front, recorded: Recorded, levels: dict[str, object]
) -> None:
    levels["sub-1"] = "full"
    url = ptrack.Pixel("newsletter", user_id=1).url(recipient="sub-1")
    levels["sub-1"] = "none"  # withdrawn after the mail went out
    assert_pixel(front, load(front, url))
    assert recorded.events == []
    assert consent_sources.ASKED == ["sub-1", "sub-1"]  # at render, and again at load


@override_settings(PTRACK_CONSENT=SOURCE)
def test_a_downgrade_to_aggregate_keeps_the_count_and_drops_who(
    front: Front, recorded: Recorded, levels: dict[str, object]
) -> None:
    levels["sub-1"] = "full"
    url = ptrack.Pixel("newsletter", campaign=7).url(recipient="sub-1")
    levels["sub-1"] = "aggregate"
    assert_pixel(front, load(front, url))
    [event] = recorded.events
    assert event.consent is Consent.AGGREGATE
    assert (event.args, dict(event.kwargs)) == (("newsletter",), {"campaign": 7})
    assert (event.recipient, event.ip, event.user_agent, event.referer, event.token) == (
        None,
        None,
        "",
        "",
        "",
    )
    assert event.classification is not None  # what kind of client, kept: not who


@override_settings(PTRACK_CONSENT=SOURCE)
def test_deliverability_gives_only_the_recipient_and_the_day(
    front: Front, recorded: Recorded, levels: dict[str, object]
) -> None:
    levels["sub-1"] = "deliverability"
    with freeze_time("2026-12-07 09:00:00"):
        url = ptrack.Pixel("newsletter", user_id=1).url(recipient="sub-1", expires=86400 * 7)
    with freeze_time(LOADED_AT):
        assert_pixel(front, load(front, url))
    [event] = recorded.events
    assert event.consent is Consent.DELIVERABILITY
    assert event.recipient == "sub-1"
    assert event.timestamp == datetime(2026, 12, 7, tzinfo=timezone.utc)
    assert (event.args, dict(event.kwargs), event.ip, event.user_agent, event.referer) == (
        (),
        {},
        None,
        "",
        "",
    )
    assert (event.token, event.issued_at, event.expires_at) == ("", None, None)


@override_settings(PTRACK_CONSENT=SOURCE)
@pytest.mark.parametrize("level", ["deliverability", "none"])
def test_a_click_still_redirects_whatever_the_level(
    front: Front, clicked: Recorded, levels: dict[str, object], level: str
) -> None:
    levels["sub-1"] = "full"
    link = ptrack.Pixel("n").link(DEST, name="offer", recipient="sub-1")
    levels["sub-1"] = level
    response = load(front, link)
    assert (response.status_code, response["Location"]) == (302, DEST)
    if level == "none":
        assert clicked.events == []
    else:
        [event] = clicked.events
        assert (event.recipient, event.destination, event.link_name) == ("sub-1", "", "")


@override_settings(PTRACK_CONSENT=SOURCE)
def test_an_upgrade_after_sending_records_what_the_link_was_rendered_without(
    recorded: Recorded, levels: dict[str, object]
) -> None:
    # Rendered without the recipient (aggregate), so no later level can say who it was.
    levels["sub-1"] = "aggregate"
    url = ptrack.Pixel("n").url(recipient="sub-1")
    levels["sub-1"] = "full"
    event = tracking.track(token_of(url))
    assert event is not None
    assert event.recipient is None


@override_settings(PTRACK_CONSENT=SOURCE)
def test_a_link_naming_nobody_is_recorded_at_the_unnamed_level(recorded: Recorded) -> None:
    url = ptrack.Pixel("n", user_id=1).url()
    tracking.track(token_of(url), tracking.RequestContext("192.0.2.1", CHROME))
    [event] = recorded.events
    assert (event.consent, event.ip, event.args) == (Consent.AGGREGATE, None, ("n",))
    with override_settings(PTRACK_CONSENT_UNNAMED="none"):
        assert tracking.track(token_of(url)) is None
    with override_settings(PTRACK_CONSENT_UNNAMED="all of it"):  # ptrack.E051 meanwhile
        assert tracking.track(token_of(url)) is None
    with override_settings(PTRACK_CONSENT_UNNAMED="full"):
        event = tracking.track(token_of(url), tracking.RequestContext("192.0.2.1", CHROME))
    assert event is not None
    assert (event.consent, event.ip) == (Consent.FULL, "192.0.2.1")
    assert consent_sources.ASKED == []


@override_settings(PTRACK_CONSENT=ASYNC_SOURCE)
def test_an_async_source_serves_sync_and_async_front_ends(
    front: Front, recorded: Recorded, levels: dict[str, object]
) -> None:
    levels["sub-1"] = "full"
    url = ptrack.Pixel("n").url(recipient="sub-1")  # asked from sync code
    levels["sub-1"] = "aggregate"
    assert_pixel(front, load(front, url))
    [event] = recorded.events
    assert (event.consent, event.recipient) == (Consent.AGGREGATE, None)


@override_settings(PTRACK_CONSENT=SOURCE)
def test_a_background_recorder_gets_the_level_decided_at_load(
    register: Any, levels: dict[str, object]
) -> None:
    if tasks.FRAMEWORK is None:
        pytest.skip("needs a task framework")
    levels["sub-1"] = "aggregate"
    url = ptrack.Pixel("n").url(recipient="sub-1")
    levels["sub-1"] = "full"
    url_full = ptrack.Pixel("n").url(recipient="sub-1")
    levels["sub-1"] = "deliverability"
    _inline, background = make_recorders(register, background=True)
    with override_settings(TASKS=DUMMY):
        from importlib import import_module

        backend = import_module(str(tasks.FRAMEWORK)).default_task_backend
        backend.clear()  # type: ignore[attr-defined]
        tracking.track(token_of(url_full), tracking.RequestContext("192.0.2.1", CHROME))
        levels["sub-1"] = "full"  # too late: the level was decided when it loaded
        [result] = backend.results  # type: ignore[attr-defined]
        name, data = result.args
        assert (data["consent"], data["ip"], data["args"]) == ("deliverability", None, [])
        tasks.record_in_background.call(name, data)
    [event] = background.events
    assert (event.consent, event.recipient, event.user_agent) == (
        Consent.DELIVERABILITY,
        "sub-1",
        "",
    )
    with override_settings(TASKS=IMMEDIATE):
        tracking.track(token_of(url))
    assert background.events[1].consent is Consent.AGGREGATE


@override_settings(
    PTRACK_CONSENT=SOURCE, TASKS=SHARED, PTRACK_BATCH_SIZE=10, PTRACK_BATCH_SECONDS=60
)
def test_a_batch_carries_each_event_at_its_own_level(
    register: Any, levels: dict[str, object]
) -> None:
    if tasks.FRAMEWORK is None:
        pytest.skip("needs a task framework")
    backend = dummy_results()
    _inline, _background = make_recorders(register, background=True)
    backend.clear()
    levels.update({"a": "full", "b": "full"})
    urls = [ptrack.Pixel("n").url(recipient=key) for key in "ab"]
    levels["b"] = "none"
    for url in urls:
        tracking.track(token_of(url), tracking.RequestContext("192.0.2.1", CHROME))
    ptrack.tracker.flush()
    [result] = backend.results
    _name, batch = result.args
    assert [(data["recipient"], data["consent"]) for data in batch] == [("a", "full")]


# --- a source that fails ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "logged"),
    [
        ("tests.consent_sources.raising", "PTRACK_CONSENT failed for recipient 'sub-1'"),
        ("tests.consent_sources.araising", "PTRACK_CONSENT failed for recipient 'sub-1'"),
        ("tests.consent_sources.missing", "cannot be imported"),
        ("tests.consent_sources.NOT_CALLABLE", "is not callable"),
    ],
)
def test_a_failing_source_records_nothing_and_still_answers(
    front: Front,
    recorded: Recorded,
    caplog: pytest.LogCaptureFixture,
    source: str,
    logged: str,
) -> None:
    url = ptrack.Pixel("n").url(recipient="sub-1")  # rendered before the source broke
    with override_settings(PTRACK_CONSENT=source), caplog.at_level(logging.ERROR, "ptrack"):
        assert_pixel(front, load(front, url))
        link = ptrack.Pixel("n").link(DEST)  # naming nobody: no source asked
        assert ptrack.Pixel("n").url(recipient="sub-1") == ""
    assert recorded.events == []
    assert logged in caplog.text
    assert load(front, link).status_code == 302


@override_settings(PTRACK_CONSENT=SOURCE)
def test_an_answer_that_is_no_level_records_nothing(
    recorded: Recorded, levels: dict[str, object], caplog: pytest.LogCaptureFixture
) -> None:
    levels["sub-1"] = "full"
    url = ptrack.Pixel("n").url(recipient="sub-1")
    levels["sub-1"] = "yes please"
    assert tracking.track(token_of(url)) is None
    assert recorded.events == []
    assert "answered 'yes please' for recipient 'sub-1', which is no level" in caplog.text


@pytest.mark.parametrize(
    "source", ["tests.consent_sources.hanging", "tests.consent_sources.ahanging"]
)
def test_a_source_past_its_timeout_records_nothing(
    front: Front, recorded: Recorded, caplog: pytest.LogCaptureFixture, source: str
) -> None:
    url = ptrack.Pixel("n").url(recipient="sub-1")
    with override_settings(PTRACK_CONSENT=source, PTRACK_CONSENT_TIMEOUT=0.05):
        assert_pixel(front, load(front, url))
    assert recorded.events == []
    assert "took longer than PTRACK_CONSENT_TIMEOUT (0.05 s)" in caplog.text


# --- templates and whole emails ----------------------------------------------------------------


@override_settings(PTRACK_CONSENT=SOURCE)
def test_the_django_tags_take_a_recipient_clause(levels: dict[str, object]) -> None:
    levels.update({"sub-1": "full", "sub-2": "none"})
    url = render("{% ptrack_url 'n' recipient key expires 3600 %}", key="sub-1")
    event = tracking.verify(token_of(url))
    assert event is not None
    assert event.recipient == "sub-1"
    assert event.expires_at is not None
    assert render("{% ptrack 'n' expires 3600 recipient 'sub-2' %}") == ""
    assert render("{% ptrack_link dest 'n' recipient 'sub-2' %}", dest=DEST) == DEST
    assert render("{% ptrack_url 'n' recipient='sub-2' %}")  # the pixel's own data
    link = render("{% ptrack_link dest 'n' recipient 'sub-1' as x %}{{ x }}", dest=DEST)
    _destination, click = tracking.verify_click(token_of(link))
    assert click is not None
    assert click.recipient == "sub-1"


def test_a_recipient_clause_given_twice_is_an_error() -> None:
    from django.template import TemplateSyntaxError

    with pytest.raises(TemplateSyntaxError, match="'ptrack' received 'recipient' twice"):
        render("{% ptrack 'n' recipient 'a' recipient 'b' %}")
    env = Environment(extensions=["ptrack.jinja2.ptrack"])
    with pytest.raises(Exception, match="'ptrack' received 'recipient' twice"):
        env.from_string("{% ptrack 'n', recipient 'a', recipient 'b' %}")


@override_settings(PTRACK_CONSENT=SOURCE)
def test_the_jinja2_tags_take_a_recipient_clause(levels: dict[str, object]) -> None:
    levels.update({"sub-1": "full", "sub-2": "none"})
    env = Environment(extensions=["ptrack.jinja2.ptrack"])
    url = env.from_string("{% ptrack_url 'n' recipient key %}").render(key="sub-1")
    event = tracking.verify(token_of(url))
    assert event is not None
    assert event.recipient == "sub-1"
    assert env.from_string("{% ptrack 'n' recipient 'sub-2' %}").render() == ""
    link = env.from_string("{% ptrack_link d, 'n', recipient 'sub-2' %}").render(d=DEST)
    assert link == DEST


HTML = f'<html><body><p><a href="{DEST}">Offer</a></p></body></html>'


@override_settings(PTRACK_CONSENT=SOURCE)
def test_instrument_html_renders_what_the_level_allows(levels: dict[str, object]) -> None:
    levels.update({"full": "full", "agg": "aggregate", "no": "none"})
    pixel = ptrack.Pixel("n")
    assert ptrack.instrument_html(HTML, pixel, recipient="no") == HTML
    assert ptrack.instrument_text(f"See {DEST}", pixel, recipient="no") == f"See {DEST}"
    full = ptrack.instrument_html(HTML, pixel, recipient="full")
    aggregate = ptrack.instrument_html(HTML, pixel, recipient="agg")
    assert aggregate == ptrack.instrument_html(HTML, pixel)
    assert full != aggregate
    assert "/ptrack/c/" in full
    assert "<img" in full
    text = ptrack.instrument_text(f"See {DEST}", pixel, recipient="full")
    _destination, event = tracking.verify_click(token_of(text.split()[1]))
    assert event is not None
    assert event.recipient == "full"


@tracking_in_front_of("django.core.mail.backends.locmem.EmailBackend")
@override_settings(
    PTRACK_CONSENT=SOURCE,
    PTRACK_MESSAGE_RECIPIENT="tests.consent_sources.message_recipient",
)
def test_the_backend_asks_the_hook_for_each_messages_recipient(
    levels: dict[str, object],
) -> None:
    levels.update({"sub-ada": "full", "sub-bob": "none", "given": "full"})
    for to in ("ada@example.com", "bob@example.com", "eve@example.com"):
        message = EmailMultiAlternatives("Hi", "text", to=[to])
        message.attach_alternative(HTML, "text/html")
        ptrack.track_message(message, ptrack.Pixel("n"))
        message.send()
    message = EmailMultiAlternatives("Hi", "text", to=["bob@example.com"])
    message.attach_alternative(HTML, "text/html")
    ptrack.track_message(message, ptrack.Pixel("n"), recipient="given")  # given wins
    message.send()
    ada, bob, eve, given = (m.alternatives[0][0] for m in mail.outbox)  # type: ignore[attr-defined]
    assert bob == HTML  # withdrawn: sent as it was written
    assert "/ptrack/c/" in eve  # no key for eve: a link naming nobody
    for html, key in ((ada, "sub-ada"), (eve, None), (given, "given")):
        href = html.split('href="', 1)[1].split('"', 1)[0]
        _destination, event = tracking.verify_click(token_of(href))
        assert event is not None
        assert event.recipient == key


@override_settings(PTRACK_CONSENT=SOURCE)
def test_a_3x_link_cannot_bypass_consent(front: Front, recorded: Recorded) -> None:
    pytest.importorskip("nacl")
    from tests.ptrack3 import SECRET, TOKENS

    [entry] = [t for t in TOKENS if t["secret"] == SECRET and "html" in t]
    path = urlsplit(entry["html"].split("'")[1]).path
    with override_settings(PTRACK_LEGACY_SECRET=SECRET, PTRACK_CONSENT_UNNAMED="none"):
        assert_pixel(front, front.request(path, headers={"User-Agent": CHROME}))
    assert recorded.events == []  # it names nobody, and links naming nobody record nothing here
    with override_settings(PTRACK_LEGACY_SECRET=SECRET):
        front.request(path, headers={"User-Agent": CHROME})
    [event] = recorded.events  # at the default unnamed level: counted, never who
    assert (event.legacy, event.consent, event.ip, event.user_agent) == (
        True,
        Consent.AGGREGATE,
        None,
        "",
    )
