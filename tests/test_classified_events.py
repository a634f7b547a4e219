"""Every load's event carries its classification, from the view and both fast paths."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

import pytest
from asgiref.sync import async_to_sync
from django.test import Client, override_settings
from freezegun import freeze_time

import ptrack
from ptrack import Classification, Kind, tasks
from ptrack.exceptions import PtrackRegistrationError
from tests.conftest import Recorded, pixel_path
from tests.fronts import Front

CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
GMAIL = "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"
ISSUED = datetime(2026, 6, 1, 9, 0, tzinfo=timezone.utc)


def get(client: Client, ua: str, name: str = "n", **extra: str) -> None:
    """Load a pixel an hour after it was issued, as a reader would."""
    with freeze_time(ISSUED):
        path = pixel_path(name)
    with freeze_time(ISSUED + timedelta(hours=1)):
        client.get(path, HTTP_USER_AGENT=ua, **extra)


def load(front: Front, headers: dict[str, str], *, after: timedelta = timedelta(hours=1)) -> None:
    with freeze_time(ISSUED):
        path = pixel_path("campaign", user_id=7)
    with freeze_time(ISSUED + after):
        front.request(path, headers=headers)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"User-Agent": GMAIL}, ("mail_proxy", "gmail_image_proxy")),
        (
            {"User-Agent": CHROME, "Sec-Purpose": "prefetch"},
            ("privacy_prefetch", "prefetch_header"),
        ),
        ({"User-Agent": CHROME, "X-Moz": "prefetch"}, ("privacy_prefetch", "prefetch_header")),
        (
            {"User-Agent": CHROME, "X-Sec-Purpose": "prefetch"},
            ("privacy_prefetch", "prefetch_header"),
        ),
        ({"User-Agent": CHROME, "DNT": "1"}, ("human", "browser")),
        ({"User-Agent": "curl/8.5.0"}, ("bot", "http_library")),
        ({}, ("bot", "no_user_agent")),
    ],
)
def test_every_front_end_classifies_from_the_same_headers(
    front: Front, recorded: Recorded, headers: dict[str, str], expected: tuple[str, str]
) -> None:
    load(front, headers)
    [event] = recorded.events
    assert event.classification is not None
    assert (event.classification.kind.value, event.classification.reason) == expected


def test_time_since_the_link_was_issued_reaches_the_classifier(
    front: Front, recorded: Recorded
) -> None:
    load(front, {"User-Agent": CHROME}, after=timedelta(seconds=2))
    load(front, {"User-Agent": CHROME}, after=timedelta(minutes=5))
    assert [e.classification for e in recorded.events] == [
        Classification(Kind.SECURITY_SCANNER, "within_machine_window"),
        Classification(Kind.HUMAN, "browser"),
    ]


def test_the_classification_survives_json(client: Client, recorded: Recorded) -> None:
    get(client, GMAIL)
    [event] = recorded.events
    again = ptrack.PixelEvent.from_dict(json.loads(json.dumps(event.to_dict())))
    assert again == event
    assert again.to_dict()["classification"] == {
        "kind": "mail_proxy",
        "reason": "gmail_image_proxy",
    }
    assert again.classification is not None
    assert again.classification.counts_as_open


def test_an_event_made_by_hand_has_no_classification_and_round_trips() -> None:
    event = ptrack.PixelEvent(event_type=ptrack.EventType.LOADED, args=(), timestamp=ISSUED)
    assert event.classification is None
    assert ptrack.PixelEvent.from_dict(event.to_dict()) == event


@pytest.mark.skipif(tasks.FRAMEWORK is None, reason="needs a task framework")
def test_a_background_recorder_gets_the_classification(client: Client, register: Any) -> None:
    seen: list[ptrack.PixelEvent] = []

    class Background(ptrack.TrackingPixel):
        background = True

        def record_event(self, event: ptrack.PixelEvent) -> None:
            seen.append(event)

    register(Background)
    immediate = {"default": {"BACKEND": f"{tasks.FRAMEWORK}.backends.immediate.ImmediateBackend"}}
    with override_settings(TASKS=immediate):
        get(client, GMAIL)
    [event] = seen
    assert event.classification == Classification(Kind.MAIL_PROXY, "gmail_image_proxy")


def test_record_kinds_keeps_other_kinds_from_every_recorder(
    client: Client, recorded: Recorded
) -> None:
    with override_settings(PTRACK_RECORD_KINDS=["human", "mail_proxy"]):
        get(client, "curl/8.5.0", "bot")
        get(client, CHROME, "person")
        event = ptrack.tracking.track(
            pixel_path("x").split("/")[2], ptrack.tracking.RequestContext(user_agent="curl/8.5.0")
        )
    assert [e.args for e in recorded.events] == [("person",)]
    assert event is not None  # verified and classified, just not recorded


def test_a_recorder_can_take_only_some_kinds(
    client: Client, register: Any, recorded: Recorded
) -> None:
    people: list[ptrack.PixelEvent] = []

    class People(ptrack.TrackingPixel):
        kinds = frozenset({"human", "mail_proxy"})

        def record_event(self, event: ptrack.PixelEvent) -> None:
            people.append(event)

    register(People)
    for ua in (CHROME, GMAIL, "curl/8.5.0", "Mozilla/5.0"):
        get(client, ua)
    assert [e.user_agent for e in people] == [CHROME, GMAIL]
    assert len(recorded.events) == 4


def test_a_recorder_can_take_only_some_kinds_under_asgi(register: Any) -> None:
    seen: list[str] = []

    class Machines(ptrack.TrackingPixel):
        kinds = ("bot",)

        def record_event(self, event: ptrack.PixelEvent) -> None:
            seen.append(event.user_agent)

    register(Machines)
    token = pixel_path("n").split("/")[2]
    async_to_sync(ptrack.tracking.atrack)(token, ptrack.tracking.RequestContext(user_agent=CHROME))
    async_to_sync(ptrack.tracking.atrack)(
        token, ptrack.tracking.RequestContext(user_agent="curl/8.5.0")
    )
    assert seen == ["curl/8.5.0"]


@pytest.mark.parametrize("kinds", ["human", ["human", "robot"]])
def test_unknown_kinds_are_refused_at_registration(kinds: Any) -> None:
    class Odd(ptrack.TrackingPixel):
        def record(self, *args: Any, **kwargs: Any) -> None: ...

    Odd.kinds = kinds
    with pytest.raises(PtrackRegistrationError, match=r"Odd\.kinds should be None or a collection"):
        ptrack.tracker.register(Odd)
    assert not ptrack.tracker.is_registered(Odd)


@pytest.mark.parametrize("header", [{"Sec-GPC": "1"}, {"DNT": "1"}])
def test_opt_out_signals_are_honoured_when_switched_on(
    front: Front, recorded: Recorded, header: dict[str, str]
) -> None:
    load(front, {"User-Agent": CHROME, **header})
    assert len(recorded.events) == 1  # off by default
    with override_settings(PTRACK_HONOR_OPT_OUT=True):
        load(front, {"User-Agent": CHROME, **header})
        load(front, {"User-Agent": CHROME, "Sec-GPC": "0"})
    assert len(recorded.events) == 2


def test_anonymized_addresses_reach_recorders_after_classification(
    client: Client, recorded: Recorded
) -> None:
    with override_settings(PTRACK_ANONYMIZE_IP=True):
        get(client, CHROME, REMOTE_ADDR="40.92.4.17")
        get(client, CHROME, REMOTE_ADDR="2001:db8:abcd:12::9")
    get(client, CHROME, REMOTE_ADDR="203.0.113.9")
    assert [e.ip for e in recorded.events] == ["40.92.4.0", "2001:db8:abcd::", "203.0.113.9"]
    assert recorded.events[0].classification == Classification(
        Kind.SECURITY_SCANNER, "microsoft_eop"
    )


def test_a_load_from_a_gateways_published_range_is_that_gateway_whatever_it_claims(
    client: Client, recorded: Recorded
) -> None:
    outlook = "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17928; Pro)"
    get(client, outlook, REMOTE_ADDR="170.10.129.124")
    get(client, outlook, REMOTE_ADDR="170.10.130.1")
    assert [e.classification for e in recorded.events] == [
        Classification(Kind.SECURITY_SCANNER, "mimecast"),
        Classification(Kind.HUMAN, "mail_client"),
    ]


def broken_classifier(*args: Any, **kwargs: Any) -> Classification:
    raise RuntimeError("classifier bug")


class _Duck:
    kind = "bot"
    reason = "duck"


def duck_classifier(*args: Any, **kwargs: Any) -> _Duck:
    return _Duck()


def test_a_failing_classifier_is_logged_and_the_load_still_recorded(
    client: Client, recorded: Recorded, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        override_settings(
            PTRACK_CLASSIFIER="tests.test_classified_events.broken_classifier",
            PTRACK_RECORD_KINDS=["human"],
        ),
        caplog.at_level(logging.ERROR, "ptrack"),
    ):
        response = client.get(pixel_path("n"), HTTP_USER_AGENT=CHROME)
    assert response.status_code == 200
    [event] = recorded.events
    assert event.classification is None
    assert "classifier bug" in caplog.text
    assert "PTRACK_CLASSIFIER" in caplog.text


@override_settings(PTRACK_CLASSIFIER="tests.test_classified_events.duck_classifier")
def test_a_replacement_classifier_may_return_any_object_with_kind_and_reason(
    client: Client, recorded: Recorded
) -> None:
    get(client, CHROME)
    [event] = recorded.events
    assert event.classification == Classification(Kind.BOT, "duck")


@override_settings(PTRACK_RECORD_KINDS=3)
def test_an_unusable_record_kinds_records_everything(client: Client, recorded: Recorded) -> None:
    get(client, "curl/8.5.0")
    assert len(recorded.events) == 1


# Clicks take the load's path, classification included.

DEST = "https://www.example.com/welcome"


def click(front: Front, headers: dict[str, str], *, after: timedelta = timedelta(hours=1)) -> Any:
    with freeze_time(ISSUED):
        path = urlsplit(ptrack.Pixel("campaign", user_id=7).link(DEST)).path
    with freeze_time(ISSUED + after):
        return front.request(path, headers=headers)


@pytest.mark.parametrize(
    ("headers", "after", "expected"),
    [
        ({"User-Agent": CHROME}, timedelta(hours=1), ("human", "browser")),
        (
            {"User-Agent": CHROME},
            timedelta(seconds=3),
            ("security_scanner", "within_machine_window"),
        ),
        (
            {"User-Agent": CHROME, "Sec-Purpose": "prefetch"},
            timedelta(hours=1),
            ("privacy_prefetch", "prefetch_header"),
        ),
        (  # Turbo's hover prefetch of a link in a page
            {"User-Agent": CHROME, "X-Sec-Purpose": "prefetch"},
            timedelta(hours=1),
            ("privacy_prefetch", "prefetch_header"),
        ),
        (
            {"User-Agent": "Mozilla/5.0 (compatible; Barracuda Sentinel)"},
            timedelta(hours=1),
            ("security_scanner", "scanner_user_agent"),
        ),
        ({"User-Agent": "curl/8.5.0"}, timedelta(hours=1), ("bot", "http_library")),
    ],
)
def test_every_front_end_classifies_a_click(
    front: Front,
    clicked: Recorded,
    headers: dict[str, str],
    after: timedelta,
    expected: tuple[str, str],
) -> None:
    response = click(front, headers, after=after)
    assert response.status == 302
    assert response.headers["location"] == DEST
    [event] = clicked.events
    assert event.event_type == ptrack.EventType.CLICKED
    assert event.classification is not None
    assert (event.classification.kind.value, event.classification.reason) == expected


def test_a_clicks_classification_survives_json(front: Front, clicked: Recorded) -> None:
    click(front, {"User-Agent": CHROME})
    [event] = clicked.events
    again = ptrack.PixelEvent.from_dict(json.loads(json.dumps(event.to_dict())))
    assert again == event
    assert again.to_dict()["classification"] == {"kind": "human", "reason": "browser"}
    assert again.destination == DEST


@pytest.mark.skipif(tasks.FRAMEWORK is None, reason="needs a task framework")
def test_a_background_recorder_gets_the_clicks_classification(
    client: Client, register: Any
) -> None:
    seen: list[ptrack.PixelEvent] = []

    class Background(ptrack.TrackingPixel):
        background = True
        event_types = frozenset({ptrack.EventType.CLICKED})

        def record_event(self, event: ptrack.PixelEvent) -> None:
            seen.append(event)

    register(Background)
    immediate = {"default": {"BACKEND": f"{tasks.FRAMEWORK}.backends.immediate.ImmediateBackend"}}
    with override_settings(TASKS=immediate):
        response = client.get(ptrack.Pixel("c").link(DEST), HTTP_USER_AGENT="curl/8.5.0")
    assert response.status_code == 302
    [event] = seen
    assert event.classification == Classification(Kind.BOT, "http_library")


def test_kinds_and_record_kinds_apply_to_clicks_and_the_reader_is_still_redirected(
    front: Front, clicked: Recorded, register: Any
) -> None:
    people: list[ptrack.PixelEvent] = []

    class PeoplesClicks(ptrack.TrackingPixel):
        event_types = frozenset({ptrack.EventType.CLICKED})
        kinds = frozenset({"human"})

        def record_event(self, event: ptrack.PixelEvent) -> None:
            people.append(event)

    register(PeoplesClicks)
    assert click(front, {"User-Agent": "curl/8.5.0"}).status == 302
    assert click(front, {"User-Agent": CHROME}).status == 302
    assert [e.user_agent for e in people] == [CHROME]
    assert len(clicked.events) == 2
    with override_settings(PTRACK_RECORD_KINDS=["bot"]):
        response = click(front, {"User-Agent": CHROME})
    assert response.status == 302
    assert response.headers["location"] == DEST
    assert len(clicked.events) == 2


def test_opt_out_signals_are_honoured_for_clicks(front: Front, clicked: Recorded) -> None:
    with override_settings(PTRACK_HONOR_OPT_OUT=True):
        response = click(front, {"User-Agent": CHROME, "Sec-GPC": "1"})
        click(front, {"User-Agent": CHROME})
    assert response.status == 302
    assert response.headers["location"] == DEST
    assert [e.classification for e in clicked.events] == [Classification(Kind.HUMAN, "browser")]


def test_anonymized_addresses_reach_click_recorders(front: Front, clicked: Recorded) -> None:
    with override_settings(PTRACK_ANONYMIZE_IP=True):
        click(front, {"User-Agent": CHROME})
    [event] = clicked.events
    assert event.ip == "127.0.0.0"


calls: list[tuple[str, float | None]] = []


def counting_classifier(
    user_agent: str, headers: Any, ip: str | None, **kwargs: Any
) -> Classification:
    calls.append((user_agent, kwargs.get("seconds_since_issued")))
    return ptrack.classify(user_agent, headers, ip, **kwargs)


@override_settings(PTRACK_CLASSIFIER="tests.test_classified_events.counting_classifier")
def test_each_load_and_click_is_classified_once_whatever_the_recorders(
    front: Front, clicked: Recorded, recorded: Recorded, register: Any
) -> None:
    class Third(ptrack.TrackingPixel):
        event_types = frozenset({ptrack.EventType.LOADED, ptrack.EventType.CLICKED})
        kinds = frozenset({"human"})

        def record_event(self, event: ptrack.PixelEvent) -> None: ...

    register(Third)
    calls.clear()
    load(front, {"User-Agent": CHROME})
    click(front, {"User-Agent": CHROME})
    assert calls == [(CHROME, 3600.0), (CHROME, 3600.0)]
    assert len(clicked.events) == 2
    assert len(recorded.events) == 1
