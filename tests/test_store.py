"""ptrack.store end to end: messages recorded as they are sent, their loads and clicks
recorded through the real endpoint, and the numbers ``stats()`` reads from the counters;
on SQLite and on PostgreSQL (the ``store_db`` fixture)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.test import Client, override_settings
from freezegun import freeze_time

import ptrack
from ptrack import encoders, store, tasks, tracking
from ptrack.consent import Consent
from ptrack.events import PixelEvent
from ptrack.exceptions import PixelValueError
from ptrack.store import keys, sending
from ptrack.store.models import Campaign, Event, Message, MessageLink, RecipientDay
from ptrack.store.numbers import numbers as store_numbers
from ptrack.store.recording import StoreRecorder, ingest
from tests.consent_sources import LEVELS
from tests.helpers import tracking_in_front_of
from tests.store_support import STORE_DATABASES
from tests.task_backends import SHARED, dummy_results

pytestmark = pytest.mark.django_db(databases=STORE_DATABASES)

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=timezone.utc)
BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
GMAIL = "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"
SCANNER = "Mozilla/5.0 (compatible; Barracuda Sentinel (EE))"
BOT = "curl/8.5.0"
BROWSER_CONTEXT = tracking.request_context(
    {"HTTP_USER_AGENT": BROWSER, "REMOTE_ADDR": "203.0.113.9"}
)
HTML = (
    '<p>Hello <a href="https://shop.example.com/sale" data-ptrack-name="sale">sale</a> '
    'and <a href="https://example.com/about">about</a></p>'
)
PIXEL = re.compile(r'<img src="([^"]+)"')
LINK = re.compile(r'href="(https://track\.example\.com/[^"]+)"')
LOCMEM = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture(autouse=True)
def _backend(store_db: str) -> Iterator[None]:
    with tracking_in_front_of(LOCMEM):
        yield


def send(
    to: str = "ann@example.com", campaign: str | None = "spring", **options: Any
) -> dict[str, Any]:
    """Send one tracked message through the backend: its pixel path and link paths."""
    message = EmailMultiAlternatives("Sale", "Hello", "shop@example.com", [to])
    message.attach_alternative(HTML, "text/html")
    ptrack.track_message(message, ptrack.Pixel("newsletter"), campaign=campaign, **options)
    before = len(mail.outbox)
    message.send()
    [sent] = mail.outbox[before:]
    html = sent.alternatives[0][0]
    pixel = PIXEL.search(html)
    return {
        "pixel": urlsplit(pixel[1].replace("&amp;", "&")).path if pixel else None,
        "links": [urlsplit(url).path for url in LINK.findall(html)],
        "html": html,
    }


def token_of(path: str) -> Any:
    """What the token at the end of a pixel or click path carries."""
    return encoders.decode(path.rstrip("/").rsplit("/", 1)[-1])


def get(path: str, user_agent: str = BROWSER, at: datetime | None = None) -> Any:
    with freeze_time(at or T0 + timedelta(hours=1)):
        return Client().get(path, HTTP_USER_AGENT=user_agent, REMOTE_ADDR="203.0.113.9")


def sent_at_t0(**kwargs: Any) -> dict[str, Any]:
    with freeze_time(T0):
        return send(**kwargs)


# --- sending --------------------------------------------------------------------------------


def test_a_sent_message_is_one_row_under_a_hashed_address_and_its_links_name_it(
    store_db: str,
) -> None:
    email = sent_at_t0(to="Ann <Ann@Example.com>")
    [message] = Message.objects.using(store_db).all()
    assert message.campaign.name == "spring"
    assert message.sent_at == T0
    assert message.recipient.startswith("h:")
    assert "ann" not in message.recipient.lower()
    assert message.recipient == keys.address_key("ann@example.com")
    for path in [email["pixel"], *email["links"]]:
        decoded = token_of(path)
        assert (decoded.campaign, decoded.message) == ("spring", message.message_id)
    numbers = store.stats("spring")
    assert (numbers.sent, numbers.tracked, numbers.open_rate) == (1, 1, 0.0)


def test_the_consent_key_is_the_recipient_key_when_given(store_db: str) -> None:
    sent_at_t0(recipient="sub-1")
    assert Message.objects.using(store_db).get().recipient == "sub-1"


def test_a_campaign_name_is_checked_where_it_is_given(store_db: str) -> None:
    with pytest.raises(PixelValueError, match="campaign"):
        ptrack.Pixel("x").url(campaign="x" * 101)
    with pytest.raises(PixelValueError, match="campaign"):
        ptrack.Pixel("x").url(campaign=5)  # type: ignore[arg-type]


def test_nothing_is_recorded_without_the_store_s_recorder(store_db: str) -> None:
    ptrack.tracker.unregister(StoreRecorder)
    try:
        email = sent_at_t0()
        get(email["pixel"])
    finally:
        ptrack.tracker.register(StoreRecorder)
    assert not Message.objects.using(store_db).exists()
    assert not Campaign.objects.using(store_db).exists()


# --- recording and numbers -----------------------------------------------------------------


@override_settings(TIME_ZONE="Pacific/Auckland")
def test_days_are_utc_days_whatever_the_site_s_time_zone(store_db: str) -> None:
    # 23:30 and 00:30 UTC are the same day in Auckland (UTC+12): two days all the same.
    email = sent_at_t0()
    midnight = datetime(2026, 6, 2, tzinfo=timezone.utc)
    get(email["pixel"], at=midnight - timedelta(minutes=30))
    get(email["pixel"], at=midnight + timedelta(minutes=30))
    days = store.stats("spring", period="day").over_time
    assert [(day.start, day.opens) for day in days] == [
        (midnight - timedelta(days=1), 1),
        (midnight, 1),
    ]
    assert days[0].sent == 1
    hours = store.stats("spring", period="hour").over_time
    assert [(hour.start.hour, hour.opens) for hour in hours] == [(9, 0), (23, 1), (0, 1)]


def test_people_and_machines_make_the_numbers_they_should(store_db: str) -> None:
    ann, bob, cy = (sent_at_t0(to=f"{n}@example.com") for n in ("ann", "bob", "cy"))
    sale = ann["links"][0]
    get(ann["pixel"], SCANNER, at=T0 + timedelta(seconds=30))
    get(ann["pixel"], BROWSER, at=T0 + timedelta(hours=1))
    get(ann["pixel"], BROWSER, at=T0 + timedelta(hours=5))
    get(ann["links"][0], BROWSER, at=T0 + timedelta(hours=5, minutes=1))
    get(ann["links"][0], BROWSER, at=T0 + timedelta(hours=5, minutes=2))
    get(bob["pixel"], GMAIL, at=T0 + timedelta(days=1))  # a person behind Gmail's proxy
    get(bob["links"][1], SCANNER, at=T0 + timedelta(days=1))
    get(cy["links"][1], BROWSER, at=T0 + timedelta(days=1, hours=2))  # images blocked
    get(cy["pixel"], BOT, at=T0 + timedelta(days=2))
    assert sale != cy["links"][1]

    n = store.stats("spring", period="day")
    assert (n.sent, n.tracked) == (3, 3)
    assert (n.unique_opens, n.opens, n.implied_opens) == (3, 4, 1)
    assert n.machine_loads == {"security_scanner": 1, "bot": 1}
    assert (n.clicks, n.unique_clicks) == (3, 2)
    assert n.machine_clicks == {"security_scanner": 1}
    assert n.open_rate == 1.0
    assert n.click_rate == pytest.approx(2 / 3)
    assert n.click_to_open_rate == pytest.approx(2 / 3)
    assert [(link.name, link.destination, link.clicks, link.unique_clicks) for link in n.links] == [
        ("sale", "https://shop.example.com/sale", 2, 1),
        ("2", "https://example.com/about", 1, 1),
    ]
    assert n.links[1].machine_clicks == 1
    day1, day2, day3 = n.over_time
    assert (day1.start, day1.sent, day1.unique_opens, day1.opens, day1.clicks) == (
        datetime(2026, 6, 1, tzinfo=timezone.utc),
        3,
        1,
        2,
        2,
    )
    assert (day2.unique_opens, day2.opens, day2.clicks, day2.unique_clicks) == (2, 2, 1, 1)
    assert (day3.machine_loads, day3.opens) == (1, 0)
    hours = store.stats("spring", period="hour").over_time
    assert [b.start.hour for b in hours[:3]] == [9, 10, 14]

    ann_key = keys.address_key("ann@example.com")
    message = Message.objects.using(store_db).get(recipient=ann_key)
    assert (message.opens, message.clicks) == (2, 2)
    assert message.first_open_at == T0 + timedelta(hours=1)
    assert message.last_open_at == T0 + timedelta(hours=5)
    assert message.machine_loads == {"security_scanner": 1}
    assert MessageLink.objects.using(store_db).get(message=message).clicks == 2


def test_a_click_before_the_pixel_loads_stands_for_the_open_until_the_pixel_comes(
    store_db: str,
) -> None:
    email = sent_at_t0()
    get(email["links"][0], at=T0 + timedelta(hours=1))
    n = store.stats("spring", period="hour")
    assert (n.unique_opens, n.opens, n.implied_opens) == (1, 1, 1)
    assert [(b.start.hour, b.opens, b.unique_opens) for b in n.over_time] == [(9, 0, 0), (10, 1, 1)]
    get(email["pixel"], at=T0 + timedelta(hours=2))
    n = store.stats("spring", period="hour")
    # The load takes the click's open's place, in its own hour: one open, not two.
    assert (n.unique_opens, n.opens, n.implied_opens) == (1, 1, 0)
    assert [(b.start.hour, b.opens, b.unique_opens) for b in n.over_time] == [
        (9, 0, 0),
        (10, 0, 0),
        (11, 1, 1),
    ]
    message = Message.objects.using(store_db).get()
    assert (message.opens, message.first_open_at, message.last_open_at) == (
        1,
        T0 + timedelta(hours=2),
        T0 + timedelta(hours=2),
    )
    get(email["pixel"], at=T0 + timedelta(hours=3))
    assert store.stats("spring", period=None).opens == 2


def test_rates_are_none_before_anything_is_tracked(store_db: str) -> None:
    numbers = store_numbers("x", {})
    assert (numbers.open_rate, numbers.click_rate, numbers.click_to_open_rate) == (None,) * 3
    with pytest.raises(LookupError, match="'nope'"):
        store.stats("nope")
    with pytest.raises(ValueError, match="period"):
        store.stats("nope", period="week")  # type: ignore[arg-type]


def test_a_hand_made_pixel_naming_a_campaign_counts_for_it_without_unique_counts(
    store_db: str,
) -> None:
    with freeze_time(T0):
        path = urlsplit(ptrack.Pixel("banner").url(campaign="site")).path
    get(path)
    get(path, BOT)
    n = store.stats("site")
    assert (n.sent, n.opens, n.unique_opens, n.machine_loads) == (0, 1, 0, {"bot": 1})
    assert n.open_rate is None


def test_a_template_s_campaign_clause_counts_for_the_campaign(store_db: str) -> None:
    from django.template import Context, Template

    with freeze_time(T0):
        img = Template("{% load ptrack %}{% ptrack 'banner' campaign name %}").render(
            Context({"name": "site"})
        )
    get(urlsplit(PIXEL.search(img)[1]).path)  # type: ignore[index]
    assert store.stats("site").opens == 1


def test_pixels_naming_no_campaign_are_left_to_the_site(store_db: str) -> None:
    with freeze_time(T0):
        path = urlsplit(ptrack.Pixel("page").url()).path
    get(path)
    assert not Event.objects.using(store_db).exists()
    assert not Campaign.objects.using(store_db).exists()


def test_raw_ip_and_user_agent_are_kept_only_when_asked(store_db: str) -> None:
    email = sent_at_t0()
    get(email["pixel"], at=T0 + timedelta(hours=1))
    with override_settings(PTRACK_STORE_CLIENT=True):
        get(email["pixel"], at=T0 + timedelta(hours=2))
    first, second = Event.objects.using(store_db).order_by("at")
    assert (first.ip, first.user_agent) == ("", "")
    assert (second.ip, second.user_agent) == ("203.0.113.9", BROWSER)
    assert first.kind == "human"


# --- batches and retries ------------------------------------------------------------------


def test_a_batch_recorded_twice_counts_once(store_db: str) -> None:
    email = sent_at_t0()
    with override_settings(TASKS=SHARED, PTRACK_BATCH_SIZE=50, PTRACK_BATCH_SECONDS=60):
        backend = dummy_results()
        backend.clear()
        get(email["pixel"], at=T0 + timedelta(hours=1))
        get(email["links"][0], at=T0 + timedelta(hours=1, minutes=1))
        get(email["pixel"], BOT, at=T0 + timedelta(hours=2))
        ptrack.tracker.flush()
        [result] = backend.results
        assert len(result.args[1]) == 3
        assert not Event.objects.using(store_db).exists()  # nothing written during the requests
        tasks.record_batch_in_background.call(*result.args)
        tasks.record_batch_in_background.call(*result.args)  # retried
    n = store.stats("spring")
    assert (n.opens, n.unique_opens, n.clicks, n.machine_loads) == (1, 1, 1, {"bot": 1})
    assert Event.objects.using(store_db).count() == 3


def test_events_repeated_within_a_batch_count_once(store_db: str) -> None:
    email = sent_at_t0()
    with freeze_time(T0 + timedelta(hours=1)):
        token = email["pixel"].rstrip("/").rsplit("/", 1)[-1]
        event = tracking.verify(token, BROWSER_CONTEXT)
    assert event is not None
    ingest([event, event])
    ingest([event])
    assert store.stats("spring").opens == 1


def test_a_failing_batch_is_recorded_event_by_event(
    store_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    email = sent_at_t0()
    events = []
    for hours in (1, 2):
        with freeze_time(T0 + timedelta(hours=hours)):
            token = email["pixel"].rstrip("/").rsplit("/", 1)[-1]
            event = tracking.verify(token, BROWSER_CONTEXT)
            assert event is not None
            events.append(event.to_dict())
    recorder = StoreRecorder
    calls: list[int] = []

    def broken(self: Any, batch: list[PixelEvent]) -> None:
        calls.append(len(batch))
        raise RuntimeError("database is locked")

    monkeypatch.setattr(recorder, "record_events", broken)
    name = f"{recorder.__module__}.{recorder.__qualname__}"
    with override_settings(TASKS={"default": {"BACKEND": SHARED["default"]["BACKEND"]}}):
        backend = dummy_results()
        backend.clear()
        tasks.record_batch_in_background.call(name, events)
        assert calls == [2]
        assert [list(r.args) for r in backend.results] == [[name, e] for e in events]
        for result in backend.results:
            tasks.record_in_background.call(*result.args)
    assert store.stats("spring").opens == 2


# --- consent ------------------------------------------------------------------------------


@pytest.fixture
def consent() -> Iterator[dict[str, object]]:
    LEVELS.clear()
    with override_settings(PTRACK_CONSENT="tests.consent_sources.level"):
        yield LEVELS
    LEVELS.clear()


def test_deliverability_keeps_only_the_day_of_the_last_open(
    store_db: str, consent: dict[str, object]
) -> None:
    consent["sub-1"] = "deliverability"
    email = sent_at_t0(recipient="sub-1")
    get(email["pixel"], at=T0 + timedelta(days=1, hours=3))
    get(email["pixel"], at=T0 + timedelta(days=3, hours=3))
    get(email["pixel"], at=T0 + timedelta(days=2, hours=3))  # late, out of order
    get(email["links"][0], BOT, at=T0 + timedelta(days=4))
    day = RecipientDay.objects.using(store_db).get()
    assert (day.recipient, day.last_open) == ("sub-1", (T0 + timedelta(days=3)).date())
    assert not Event.objects.using(store_db).exists()
    n = store.stats("spring")
    assert (n.sent, n.opens, n.clicks, n.machine_loads) == (1, 0, 0, {})


def test_aggregate_keeps_counts_and_no_row_about_the_person(
    store_db: str, consent: dict[str, object]
) -> None:
    consent["sub-1"] = "aggregate"
    email = sent_at_t0(recipient="sub-1")
    get(email["pixel"])
    get(email["links"][0])
    assert not Message.objects.using(store_db).exists()
    assert not RecipientDay.objects.using(store_db).exists()
    assert list(Event.objects.using(store_db).values_list("message", "recipient")) == [
        (None, ""),
        (None, ""),
    ]
    for path in [email["pixel"], *email["links"]]:
        decoded = token_of(path)
        assert (decoded.recipient, decoded.campaign, decoded.message) == (None, "spring", None)
    n = store.stats("spring")
    assert (n.sent, n.tracked, n.opens, n.unique_opens, n.clicks) == (1, 0, 1, 0, 1)
    assert [link.clicks for link in n.links] == [1]


@pytest.mark.parametrize(
    ("level", "carried"), [("full", ("sub-1", "m-1")), ("aggregate", (None, None))]
)
def test_a_link_names_its_message_only_where_it_may_name_the_person(
    store_db: str, consent: dict[str, object], level: str, carried: tuple[Any, ...]
) -> None:
    consent["sub-1"] = level
    pixel = ptrack.Pixel("x")
    for url in (
        pixel.url(recipient="sub-1", campaign="c", message="m-1"),
        pixel.link("https://example.com/", recipient="sub-1", campaign="c", message="m-1"),
    ):
        decoded = token_of(urlsplit(url).path)
        assert (decoded.recipient, decoded.message) == carried
        assert decoded.campaign == "c"


def test_a_downgrade_after_sending_stops_naming_the_message(
    store_db: str, consent: dict[str, object]
) -> None:
    consent["sub-1"] = "full"
    email = sent_at_t0(recipient="sub-1")
    consent["sub-1"] = "aggregate"
    get(email["pixel"])
    message = Message.objects.using(store_db).get()
    assert (message.opens, message.first_open_at) == (0, None)
    assert Event.objects.using(store_db).get().message is None
    assert store.stats("spring").opens == 1


def test_a_recipient_allowing_nothing_counts_as_sent_only(
    store_db: str, consent: dict[str, object]
) -> None:
    consent["sub-1"] = "none"
    email = sent_at_t0(recipient="sub-1")
    assert email["pixel"] is None
    assert email["links"] == []
    assert not Message.objects.using(store_db).exists()
    n = store.stats("spring")
    assert (n.sent, n.tracked, n.open_rate) == (1, 0, None)
    assert Consent.NONE.value == "none"


# --- message helpers ------------------------------------------------------------------------


def test_instrument_message_records_the_message_at_once(store_db: str) -> None:
    message = EmailMultiAlternatives("Hi", "Hello", "shop@example.com", ["dee@example.com"])
    message.attach_alternative(HTML, "text/html")
    with freeze_time(T0):
        ptrack.instrument_message(message, ptrack.Pixel("n"), campaign="summer")
    row = Message.objects.using(store_db).get()
    assert (row.campaign.name, row.sent_at) == ("summer", T0)
    pixel = PIXEL.search(message.alternatives[0][0])
    assert pixel is not None
    assert token_of(urlsplit(pixel[1]).path).message == row.message_id
    assert store.stats("summer").sent == 1


def test_a_message_tracked_without_a_campaign_counts_for_the_unnamed_one(store_db: str) -> None:
    sent_at_t0(campaign=None)
    assert store.stats("").sent == 1
    assert str(Campaign.objects.using(store_db).get()) == "(no campaign)"


def test_a_message_the_database_refuses_is_sent_anyway_and_logged(
    store_db: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def down(sent: Any) -> None:
        raise RuntimeError("database is down")

    monkeypatch.setattr(sending, "_record", down)
    email = sent_at_t0()
    assert email["pixel"] is not None
    assert "could not record 1 sent messages" in caplog.text
    assert not Message.objects.using(store_db).exists()


def test_unnamed_messages_follow_the_unnamed_level_with_a_consent_source(
    store_db: str, consent: dict[str, object]
) -> None:
    with override_settings(PTRACK_CONSENT_UNNAMED="aggregate"):
        email = sent_at_t0()
    assert token_of(email["pixel"]).message is None
    with override_settings(PTRACK_CONSENT_UNNAMED="full"):
        email = sent_at_t0()
    assert token_of(email["pixel"]).message is not None
    assert (store.stats("spring").sent, store.stats("spring").tracked) == (2, 1)


def test_a_message_to_nobody_is_kept_under_no_key(store_db: str) -> None:
    message = EmailMultiAlternatives("Hi", "Hello", "shop@example.com", [])
    message.attach_alternative(HTML, "text/html")
    ptrack.instrument_message(message, ptrack.Pixel("n"), campaign="c")
    assert Message.objects.using(store_db).get().recipient == ""
    assert keys.recipient_key(None, ["", "  "]) == ""


def test_the_store_s_rows_say_what_they_are(store_db: str) -> None:
    email = sent_at_t0(recipient="sub-1")
    get(email["pixel"], at=T0 + timedelta(hours=1))
    get(email["links"][0], at=T0 + timedelta(hours=2))
    message = Message.objects.using(store_db).get()
    assert str(message) == message.message_id
    assert str(Campaign.objects.using(store_db).get()) == "spring"
    assert str(message.campaign.totals.get(metric="sent")) == "spring: sent = 1"
    assert str(message.campaign.hours.get(metric="sent")) == "spring 2026-06-01 09h: sent = 1"
    link = message.campaign.links.get()
    assert str(link) == "sale: https://shop.example.com/sale"
    assert str(MessageLink.objects.using(store_db).get()) == f"{message}: {link}"
    assert str(Event.objects.using(store_db).order_by("at").first()) == (
        "loaded by human at 2026-06-01T10:00:00+00:00"
    )
    day = RecipientDay(recipient="sub-1", last_open=T0.date())
    assert str(day) == "sub-1: 2026-06-01"
