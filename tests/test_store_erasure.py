"""ptrack.store's GDPR tools: ``forget()`` removes a person everywhere, the purge removes what
is past retention in batches; campaign numbers stay right through both. On SQLite and on
PostgreSQL (the ``store_db`` fixture)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from io import StringIO
from typing import Any

import pytest
from django.core.mail import EmailMultiAlternatives
from django.core.management import CommandError, call_command
from django.db import connections, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from freezegun import freeze_time

import ptrack
from ptrack import store, tracking
from ptrack.store import erasure, keys
from ptrack.store.models import Event, Message, MessageLink, RecipientDay
from ptrack.store.recording import ingest
from tests import postgres
from tests.helpers import tracking_in_front_of
from tests.store_support import STORE_DATABASES

pytestmark = pytest.mark.django_db(databases=STORE_DATABASES)

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=timezone.utc)
BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
CONTEXT = tracking.request_context({"HTTP_USER_AGENT": BROWSER, "REMOTE_ADDR": "203.0.113.9"})
HTML = '<p><a href="https://shop.example.com/sale">sale</a></p>'


@pytest.fixture(autouse=True)
def _backend(store_db: str) -> Iterator[None]:
    with (
        tracking_in_front_of("django.core.mail.backends.locmem.EmailBackend"),
        override_settings(PTRACK_STORE_BACKGROUND=False),
    ):
        yield


def send(to: str, at: datetime, **options: Any) -> Message:
    """Send one tracked message at ``at``; its row."""
    message = EmailMultiAlternatives("Sale", "Hello", "shop@example.com", [to])
    message.attach_alternative(HTML, "text/html")
    with freeze_time(at):
        ptrack.instrument_message(message, ptrack.Pixel("n"), campaign="spring", **options)
    html = str(message.alternatives[0][0])
    row = Message.objects.latest("pk")
    assert row.message_id in str(tracking.verify(_token(html)))
    return row


def _token(html: str) -> str:
    return html.split('<img src="', 1)[1].split('"', 1)[0].rstrip("/").rsplit("/", 1)[-1]


def open_and_click(row: Message, at: datetime) -> None:
    """A person's open and click of the message ``row``, recorded at ``at``."""
    with freeze_time(row.sent_at):
        pixel = ptrack.Pixel("n").url(campaign="spring", message=row.message_id)
        link = ptrack.Pixel("n").link(
            "https://shop.example.com/sale", name="1", campaign="spring", message=row.message_id
        )
    with freeze_time(at):
        events = [
            tracking.verify(pixel.rstrip("/").rsplit("/", 1)[-1], CONTEXT),
            tracking.verify_click(link.rstrip("/").rsplit("/", 1)[-1], CONTEXT)[1],
        ]
    ingest([e for e in events if e is not None])


def numbers() -> tuple[int, ...]:
    n = store.stats("spring", period=None)
    return (n.sent, n.tracked, n.opens, n.unique_opens, n.clicks, n.unique_clicks)


def test_forget_by_address_removes_the_person_and_keeps_the_numbers(store_db: str) -> None:
    ann = send("ann@example.com", T0)
    bob = send("bob@example.com", T0)
    open_and_click(ann, T0 + timedelta(hours=1))
    open_and_click(bob, T0 + timedelta(hours=1))
    before = numbers()
    assert before == (2, 2, 2, 2, 2, 2)
    removed = store.forget("Ann@Example.com")
    assert removed == {
        "ptrack_store.Message": 1,
        "ptrack_store.Event": 2,
        "ptrack_store.MessageLink": 1,
    }
    assert list(Message.objects.using(store_db).values_list("pk", flat=True)) == [bob.pk]
    assert Event.objects.using(store_db).filter(message=ann.pk).count() == 0
    assert MessageLink.objects.using(store_db).count() == 1
    assert numbers() == before
    assert [link.unique_clicks for link in store.stats("spring").links] == [2]


def test_forget_by_consent_key_reaches_events_naming_them_and_their_last_open_day(
    store_db: str,
) -> None:
    send("ann@example.com", T0, recipient="sub-1")
    with freeze_time(T0):
        pixel = ptrack.Pixel("banner").url(campaign="spring", recipient="sub-1")
    with freeze_time(T0 + timedelta(hours=1)):
        event = tracking.verify(pixel.rstrip("/").rsplit("/", 1)[-1], CONTEXT)
    assert event is not None
    ingest([event])
    RecipientDay.objects.using(store_db).create(recipient="sub-1", last_open=T0.date())
    RecipientDay.objects.using(store_db).create(recipient="sub-2", last_open=T0.date())
    removed = store.forget("sub-1")
    assert removed == {
        "ptrack_store.Message": 1,
        "ptrack_store.Event": 1,
        "ptrack_store.RecipientDay": 1,
    }
    assert list(RecipientDay.objects.using(store_db).values_list("recipient", flat=True)) == [
        "sub-2"
    ]
    assert store.forget("sub-1") == {}


def test_forget_finds_keys_hashed_before_a_secret_key_rotation(store_db: str) -> None:
    with override_settings(SECRET_KEY="the-old-secret-key-" + "x" * 40):
        send("ann@example.com", T0)
        old = keys.address_key("ann@example.com")
    with override_settings(
        SECRET_KEY="the-new-secret-key-" + "y" * 40,
        SECRET_KEY_FALLBACKS=["the-old-secret-key-" + "x" * 40],
    ):
        assert keys.address_key("ann@example.com") != old
        assert store.forget("ann@example.com") == {"ptrack_store.Message": 1}


@pytest.mark.parametrize("bad", ["", "  ", None, 5])
def test_forget_refuses_what_names_nobody(bad: Any) -> None:
    with pytest.raises(ValueError, match="recipient="):
        store.forget(bad)


def test_the_purge_deletes_rows_past_retention_in_batches_and_keeps_the_numbers(
    store_db: str,
) -> None:
    old = [send(f"old{n}@example.com", T0) for n in range(5)]
    new = send("new@example.com", T0 + timedelta(days=30))
    for row in old:
        open_and_click(row, T0 + timedelta(days=1))
    open_and_click(new, T0 + timedelta(days=30, hours=1))
    RecipientDay.objects.using(store_db).create(recipient="sub-1", last_open=T0.date())
    before = numbers()
    assert before == (6, 6, 6, 6, 6, 6)
    connection = connections[store_db]
    with (
        override_settings(PTRACK_STORE_RETENTION=20),
        freeze_time(T0 + timedelta(days=31)),
        CaptureQueriesContext(connection) as queries,
    ):
        out = StringIO()
        call_command("ptrack_store_purge", "--batch", "2", stdout=out)
    assert out.getvalue().splitlines() == [
        "ptrack_store.Event: 10 deleted",
        "ptrack_store.Message: 5 deleted",
        "ptrack_store.MessageLink: 5 deleted",
        "ptrack_store.RecipientDay: 1 deleted",
    ]
    deletes = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("DELETE")]
    # Events 2 at a time (5 rounds), messages 2 at a time (3 rounds) with their clicks, ...
    assert sum('"ptrack_store_event"' in sql.split(" WHERE")[0] for sql in deletes) >= 5
    assert list(Message.objects.using(store_db).values_list("pk", flat=True)) == [new.pk]
    assert Event.objects.using(store_db).count() == 2
    assert numbers() == before


def test_the_purge_command_needs_a_retention(store_db: str) -> None:
    with pytest.raises(CommandError, match="PTRACK_STORE_RETENTION is not set"):
        call_command("ptrack_store_purge")
    with (
        override_settings(PTRACK_STORE_RETENTION=timedelta(days=1)),
        pytest.raises(CommandError, match="--batch"),
    ):
        call_command("ptrack_store_purge", "--batch", "0")
    with pytest.raises(ValueError, match="PTRACK_STORE_RETENTION"):
        store.purge()


@override_settings(PTRACK_STORE_RETENTION=timedelta(days=1))
def test_nothing_past_retention_says_so(store_db: str) -> None:
    out = StringIO()
    call_command("ptrack_store_purge", stdout=out)
    assert out.getvalue() == "Nothing past retention.\n"


def _load(row: Message, at: datetime) -> Any:
    """A person's load of the message ``row``'s pixel at ``at``, as the endpoint verifies it."""
    with freeze_time(row.sent_at):
        pixel = ptrack.Pixel("n").url(campaign="spring", message=row.message_id)
    with freeze_time(at):
        return tracking.verify(pixel.rstrip("/").rsplit("/", 1)[-1], CONTEXT)


def test_the_purge_takes_a_message_s_many_events_a_batch_at_a_time(
    store_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Rows removed per transaction, not per message: a much opened message's events would
    # otherwise all go in the transaction that removes it.
    row = send("ann@example.com", T0)
    ingest([_load(row, T0 + timedelta(days=2, minutes=n)) for n in range(5)])
    before = numbers()
    deletes: list[dict[str, int]] = []
    original = erasure._by_ids

    def spy(model: Any, ids: list[int], using: str) -> Any:
        removed = original(model, ids, using)
        deletes.append(dict(removed))
        return removed

    monkeypatch.setattr(erasure, "_by_ids", spy)
    assert store.purge(T0 + timedelta(days=1), batch=2) == {
        "ptrack_store.Event": 5,
        "ptrack_store.Message": 1,
    }
    assert deletes == [
        {"ptrack_store.Event": 2},
        {"ptrack_store.Event": 2},
        {"ptrack_store.Event": 1},
        {"ptrack_store.Message": 1},
    ]
    assert numbers() == before


@pytest.mark.django_db(transaction=True, databases=STORE_DATABASES)
def test_a_load_recorded_while_the_purge_removes_its_message_waits_then_counts(
    store_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if store_db != postgres.ALIAS:
        pytest.skip("SQLite has one writer at a time: a load cannot come in mid-purge")
    row = send("ann@example.com", T0)
    event = _load(row, T0 + timedelta(days=40))
    before = numbers()
    loads = _LoadComingIn(event, monkeypatch)
    assert store.purge(T0 + timedelta(days=1)) == {"ptrack_store.Message": 1}
    assert loads.outcome() == (["waited"], [])
    assert not Message.objects.using(store_db).exists()
    recorded = Event.objects.using(store_db).get()
    assert recorded.message_id is None
    sent, tracked, opens, unique_opens, clicks, unique_clicks = before
    assert numbers() == (sent, tracked, opens + 1, unique_opens, clicks, unique_clicks)


class _LoadComingIn:
    """``event`` recorded by another thread as soon as messages are locked to be deleted
    (in ``erasure._by_ids``): whether it waited for the deletion, and what it raised."""

    def __init__(self, event: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        self.event = event
        self.seen: list[str] = []
        self.errors: list[BaseException] = []
        self.recorders: list[threading.Thread] = []
        self.original = erasure._by_ids
        monkeypatch.setattr(erasure, "_by_ids", self._by_ids)

    def _record(self) -> None:
        try:
            ingest([self.event])
        except BaseException as error:  # reported to the test by the list
            self.errors.append(error)
        finally:
            connections.close_all()

    def _by_ids(self, model: Any, ids: list[int], using: str) -> Any:
        if model is Message and ids:
            # The messages are locked by now: the load must wait for the deletion to commit.
            recorder = threading.Thread(target=self._record)
            recorder.start()
            self.seen.append(_waits_or_ends(recorder, using))
            self.recorders.append(recorder)
        return self.original(model, ids, using)

    def outcome(self) -> tuple[list[str], list[BaseException]]:
        for recorder in self.recorders:
            recorder.join(timeout=30)
        return self.seen, self.errors


def _waits_or_ends(thread: threading.Thread, using: str) -> str:
    """``"waited"`` once another connection waits for a lock, ``"ended"`` if ``thread`` ends
    first."""
    deadline = time.monotonic() + 30
    with connections[using].cursor() as cursor:
        while time.monotonic() < deadline:
            if not thread.is_alive():
                return "ended"
            # Within a transaction the activity is a snapshot unless cleared.
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND pid <> pg_backend_pid()"
            )
            if cursor.fetchone()[0]:
                return "waited"
            time.sleep(0.01)
    raise AssertionError("the recorder neither waited nor ended")


def test_the_purge_locks_messages_a_few_rows_at_a_time(
    store_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A transaction that locks messages reads past their events, gone or not: a much opened
    # message is locked alone, and a group of them weighs no more than _LOCKED_ROWS rows.
    rows = [send(f"r{n}@example.com", T0) for n in range(5)]
    for row, loads in zip(rows, (0, 5, 0, 1, 1), strict=True):
        ingest([_load(row, T0 + timedelta(days=2, minutes=n)) for n in range(loads)])
    locked: list[list[int]] = []
    original = erasure._by_ids

    def spy(model: Any, ids: list[int], using: str) -> Any:
        if model is Message:
            locked.append(ids)
        return original(model, ids, using)

    monkeypatch.setattr(erasure, "_by_ids", spy)
    monkeypatch.setattr(erasure, "_LOCKED_ROWS", 4)
    before = numbers()
    assert store.purge(T0 + timedelta(days=1)) == {
        "ptrack_store.Event": 7,
        "ptrack_store.Message": 5,
    }
    # Each message weighs 1 and its events: 1, 6, 1, 2, 2.
    first, heavy, third, fourth, fifth = (row.pk for row in rows)
    assert locked == [[first], [heavy], [third, fourth], [fifth]]
    assert numbers() == before


@pytest.mark.django_db(transaction=True, databases=STORE_DATABASES)
def test_the_purge_passes_over_a_message_being_recorded_and_comes_back_for_it(
    store_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Waiting for a recorder's lock while holding the locks of the rest of its group would
    # make the next recorder wait for both: the purge takes what is free, then the rest.
    if store_db != postgres.ALIAS:
        pytest.skip("SQLite has one writer at a time: a load cannot come in mid-purge")
    held, other = send("ann@example.com", T0), send("bob@example.com", T0)
    event = _load(held, T0 + timedelta(days=40))
    holding, passed = threading.Event(), threading.Event()
    passed_in_time: list[bool] = []
    errors: list[BaseException] = []

    def recorder() -> None:
        # A batch naming the message, slow to commit: the purge comes meanwhile.
        try:
            with transaction.atomic(using=store_db):
                Message.objects.using(store_db).select_for_update().get(pk=held.pk)
                holding.set()
                passed_in_time.append(passed.wait(timeout=10))
                ingest([event])
        except BaseException as error:  # reported to the test by the list
            errors.append(error)
        finally:
            connections.close_all()

    original = erasure._by_ids

    def spy(model: Any, ids: list[int], using: str) -> Any:
        removed = original(model, ids, using)
        if model is Message and held.pk not in ids:
            passed.set()
        return removed

    monkeypatch.setattr(erasure, "_by_ids", spy)
    thread = threading.Thread(target=recorder)
    thread.start()
    assert holding.wait(timeout=10)
    removed = store.purge(T0 + timedelta(days=1))
    thread.join(timeout=30)
    assert errors == []
    assert passed_in_time == [True]
    assert removed == {"ptrack_store.Message": 2, "ptrack_store.Event": 1}
    assert not Message.objects.using(store_db).filter(pk__in=[held.pk, other.pk]).exists()
    assert not Event.objects.using(store_db).exists()
    assert numbers() == (2, 2, 1, 1, 0, 0)


def test_messages_deleted_in_the_admin_go_with_their_events_and_keep_the_numbers(
    store_db: str, admin_client: Any
) -> None:
    ann = send("ann@example.com", T0)
    bob = send("bob@example.com", T0)
    open_and_click(ann, T0 + timedelta(hours=1))
    open_and_click(bob, T0 + timedelta(hours=1))
    before = numbers()
    response = admin_client.post(
        "/admin/ptrack_store/message/",
        {"action": "delete_selected", "_selected_action": [ann.pk], "post": "yes"},
    )
    assert response.status_code == 302
    assert list(Message.objects.using(store_db).values_list("pk", flat=True)) == [bob.pk]
    assert not Event.objects.using(store_db).filter(message=ann.pk).exists()
    assert numbers() == before
    response = admin_client.post(f"/admin/ptrack_store/message/{bob.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Message.objects.using(store_db).exists()
    assert MessageLink.objects.using(store_db).count() == 0
    assert numbers() == before


@pytest.mark.django_db(transaction=True, databases=STORE_DATABASES)
@pytest.mark.parametrize("deleted", ["message", "campaign"])
def test_a_load_recorded_while_the_admin_deletes_its_message_waits_then_counts(
    store_db: str, deleted: str, admin_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    if store_db != postgres.ALIAS:
        pytest.skip("SQLite has one writer at a time: a load cannot come in mid-delete")
    row = send("ann@example.com", T0)
    event = _load(row, T0 + timedelta(days=1))
    loads = _LoadComingIn(event, monkeypatch)
    url = (
        f"/admin/ptrack_store/message/{row.pk}/delete/"
        if deleted == "message"
        else f"/admin/ptrack_store/campaign/{row.campaign_id}/delete/"
    )
    response = admin_client.post(url, {"post": "yes"})
    assert loads.outcome() == (["waited"], [])
    assert response.status_code == 302
    assert not Message.objects.using(store_db).exists()
    # The load found no message: it counts for its campaign (made again if deleted) alone.
    recorded = Event.objects.using(store_db).get()
    assert recorded.message_id is None
    assert store.stats("spring", period=None).opens == 1
