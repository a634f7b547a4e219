"""ptrack.store.statements, through the recorder: a batch in a few statements whatever its
size, values of every shape written intact, batches larger than one statement may bind; on
SQLite and on PostgreSQL (the ``store_db`` fixture)."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from django.db import connections
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from freezegun import freeze_time

import ptrack
from ptrack import store, tracking
from ptrack.events import PixelEvent
from ptrack.store import sending, statements
from ptrack.store.models import Campaign, Event, Link, Message
from ptrack.store.recording import ingest
from tests.store_support import STORE_DATABASES

pytestmark = pytest.mark.django_db(databases=STORE_DATABASES)

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=timezone.utc)
BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
SCANNER = "Mozilla/5.0 (compatible; Barracuda Sentinel (EE))"
# What PostgreSQL's array literals treat specially, and more.
ODD = ['a"b', "a\\b", "{x},y", "NULL", "", " spaced ", "é ✓", "'quote'"]


def _token(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def _events(
    count: int, messages: list[str], user_agent: str = BROWSER, names: list[str] | None = None
) -> list[PixelEvent]:
    """``count`` loads and clicks over ``messages`` of campaign "c", as a worker gets them."""
    context = tracking.request_context(
        {"HTTP_USER_AGENT": user_agent, "REMOTE_ADDR": "203.0.113.9"}
    )
    made = []
    with freeze_time(T0) as clock:
        tokens = []
        for n in range(count):
            message = messages[n % len(messages)]
            if n % 3 == 2:
                name = names[n % len(names)] if names else str(n % 4)
                url = ptrack.Pixel("n").link(
                    f"https://example.com/{n % 4}", name=name, campaign="c", message=message
                )
            else:
                url = ptrack.Pixel("n").url(campaign="c", message=message)
            tokens.append(_token(url))
        clock.move_to(T0 + timedelta(hours=1))  # read an hour after it was sent
        for n, token in enumerate(tokens):
            clock.tick(1)
            event = tracking.verify_click(token, context)[1] if n % 3 == 2 else None
            event = event or tracking.verify(token, context)
            assert event is not None
            made.append(event)
    return [PixelEvent.from_dict(e.to_dict()) for e in made]


def _sent(count: int) -> list[str]:
    ids = [f"m{n:04d}" for n in range(count)]
    sending.record([sending.Sent("c", f"sub-{n}", ids[n], T0) for n in range(count)])
    return ids


def test_a_batch_is_a_few_statements_whatever_its_size(store_db: str) -> None:
    ids = _sent(60)
    ingest(_events(12, ids[:6]))  # the campaign's links made
    connection = connections[store_db]
    counts = []
    for events in (_events(12, ids[6:12]), _events(120, ids[12:])):
        with CaptureQueriesContext(connection) as queries:
            ingest(events)
        counts.append(len(queries))
    # The transaction, then reads of messages, links, earlier clicks, the events' insert,
    # and one write per table (messages, clicks per message, totals, hours, links).
    assert counts[0] <= 11
    # Ten times the events, no more statements, but for the chunks that a low limit on a
    # statement's parameters asks for (999 on Django 4.2's SQLite backend).
    limit = connection.features.max_query_params or 10**9
    assert counts[0] <= counts[1] <= counts[0] + (120 * 16) // limit
    n = store.stats("c")
    assert (n.opens - n.implied_opens, n.clicks) == (96, 48)
    assert Event.objects.using(store_db).count() == 144


def test_values_are_written_as_they_are(store_db: str) -> None:
    ids = _sent(4)
    odd_agent = 'Mozilla/5.0 "quoted" \\ {brace},comma NULL'
    with override_settings(PTRACK_STORE_CLIENT=True):
        ingest(_events(3 * len(ODD), ids, user_agent=odd_agent, names=ODD))
    assert sorted(Link.objects.using(store_db).values_list("name", flat=True)) == sorted(ODD)
    assert set(Event.objects.using(store_db).values_list("user_agent", flat=True)) == {odd_agent}
    assert sorted(link.name for link in store.stats("c").links) == sorted(ODD)


def test_batches_larger_than_a_statement_binds_are_written_in_several(
    store_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = _sent(30)
    monkeypatch.setattr(statements, "param_limit", lambda connection: 25)
    events = _events(90, ids, user_agent=SCANNER) + _events(30, ids)
    ingest(events)
    ingest(events)  # recorded again: nothing more
    n = store.stats("c")
    assert n.machine_loads == {"security_scanner": 60}
    assert n.machine_clicks == {"security_scanner": 30}
    # Ten of the thirty messages were clicked, never loaded: their clicks are their opens.
    assert (n.opens, n.implied_opens, n.unique_opens) == (30, 10, 30)
    assert (n.clicks, n.unique_clicks) == (10, 10)
    assert Event.objects.using(store_db).count() == 120
    loads = {m.message_id: m.machine_loads for m in Message.objects.using(store_db)}
    # Each message had three of the machines' events, all loads or all clicks.
    assert loads == {i: {"security_scanner": 3} if n % 3 != 2 else {} for n, i in enumerate(ids)}


def test_on_postgresql_a_batch_sends_its_writes_together(store_db: str) -> None:
    connection = connections[store_db]
    on_postgres = connection.vendor == "postgresql"
    ids = _sent(6)
    ingest(_events(6, ids))  # the campaign's links made
    pipelined: dict[str, bool] = {}

    def watch(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        status = connection.connection.pgconn.pipeline_status if on_postgres else 0
        pipelined[sql.split("(")[0].split(" SET ")[0]] = bool(status)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(watch):
        ingest(_events(12, ids))
    written = {statement for statement, together in pipelined.items() if together}
    # Reads, and the insert whose answer says which events are new, wait for theirs.
    assert not any(s.startswith(("SELECT", 'INSERT INTO "ptrack_store_event"')) for s in written)
    assert len(pipelined) >= 9
    together = {
        'UPDATE "ptrack_store_message"',
        'INSERT INTO "ptrack_store_messagelink" ',
        'INSERT INTO "ptrack_store_campaigntotal" ',
        'INSERT INTO "ptrack_store_campaignhour" ',
        'INSERT INTO "ptrack_store_link" ',
    }
    assert written == (together if on_postgres else set())


def test_a_write_that_fails_leaves_the_batch_unrecorded_to_be_tried_again(
    store_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = _sent(6)
    events = _events(12, ids)
    real_insert = statements.insert

    def failing(using, model, columns, rows, **kwargs):  # type: ignore[no-untyped-def]
        if model.__name__ == "CampaignHour":
            columns = (*columns[:-1], "no_such_column")
        return real_insert(using, model, columns, rows, **kwargs)

    monkeypatch.setattr(statements, "insert", failing)
    with pytest.raises(Exception, match="no_such_column"):
        ingest(events)
    assert Event.objects.using(store_db).count() == 0
    assert store.stats("c").opens == 0
    monkeypatch.setattr(statements, "insert", real_insert)
    ingest(events)  # the task tried again
    n = store.stats("c")
    assert (n.opens - n.implied_opens, n.clicks) == (8, 4)
    assert Event.objects.using(store_db).count() == 12


def _snapshot(store_db: str) -> tuple[Any, ...]:
    n = store.stats("c", period="hour")
    totals = (n.opens, n.implied_opens, n.unique_opens, n.clicks, n.unique_clicks)
    rows = Message.objects.using(store_db).order_by("message_id")
    fields = ("message_id", "opens", "first_open_at", "last_open_at", "clicks", "first_click_at")
    return totals, n.over_time, [tuple(getattr(m, f) for f in fields) for m in rows]


def test_the_numbers_do_not_depend_on_the_order_events_are_recorded_in(store_db: str) -> None:
    # Each message's loads and clicks, interleaved, over a day and a half of hours.
    events = [
        dataclasses.replace(e, timestamp=e.timestamp + timedelta(minutes=53 * n))
        for n, e in enumerate(_events(42, _sent(7)))
    ]
    ingest(events)
    in_time_order = _snapshot(store_db)
    assert in_time_order[0][:2] == (28, 0)  # every clicked message was loaded too
    assert len(in_time_order[1]) > 30
    for order in (events[::-1], events[21:] + events[:21]):
        Campaign.objects.using(store_db).delete()
        _sent(7)
        for event in order:  # as workers sharing a queue may record them
            ingest([event])
        assert _snapshot(store_db) == in_time_order


def test_on_postgresql_values_are_bound_by_the_server_and_read_in_binary(store_db: str) -> None:
    connection = connections[store_db]
    ids = _sent(6)
    seen: list[Any] = []

    def watch(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        if "SAVEPOINT" not in sql:  # the transaction's own, Django's
            seen.append(context["cursor"].cursor)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(watch), CaptureQueriesContext(connection) as queries:
        ingest(_events(12, ids))
    assert len(queries) >= 9  # still logged, as Django's own statements are
    if connection.vendor != "postgresql":
        return
    import psycopg

    # Django's cursor would quote every value into the text in Python, and parse results
    # from text; the recorder's do neither.
    assert seen
    assert not any(isinstance(c, psycopg.ClientCursor) for c in seen)
    assert {c.format for c in seen} == {psycopg.pq.Format.BINARY}
    message = Message.objects.using(store_db).get(message_id=ids[0])
    assert message.first_open_at == T0 + timedelta(hours=1, seconds=1)
    assert message.first_open_at.tzinfo is not None


def test_on_postgresql_a_read_takes_its_values_as_one_array(
    store_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    connection = connections[store_db]
    ids = _sent(40)
    monkeypatch.setattr(statements, "param_limit", lambda connection: 25)
    reads: list[str] = []

    def watch(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        if sql.startswith("SELECT"):
            reads.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(watch):
        ingest(_events(120, ids))
    messages = [sql for sql in reads if '"message_id"' in sql.split("FROM")[0]]
    # Forty messages in one read on PostgreSQL, whatever the limit on parameters; in
    # chunks of the limit elsewhere.
    assert len(messages) == (1 if connection.vendor == "postgresql" else 2)
    assert Message.objects.using(store_db).filter(opens__gt=0).count() == 40


def test_the_store_has_no_index_that_no_lookup_uses(store_db: str) -> None:
    connection = connections[store_db]
    if connection.vendor != "postgresql":
        pytest.skip("Only PostgreSQL adds LIKE indexes to unique and indexed text columns.")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename LIKE 'ptrack_store_event' "
            "OR tablename LIKE 'ptrack_store_message'"
        )
        names = {name for (name,) in cursor.fetchall()}
    assert not [name for name in names if name.endswith("_like")]
    # The lookups' own indexes are there.
    assert {"ptrack_store_event_key", "ptrack_store_event_recipient"} <= names
    assert {"ptrack_store_msg_id_unique", "ptrack_store_msg_recipient"} <= names


def test_on_postgresql_a_batch_s_statements_read_the_same_whatever_its_size(
    store_db: str,
) -> None:
    connection = connections[store_db]
    ids = _sent(60)
    ingest(_events(12, ids[:6]))  # the campaign's links made
    texts: list[set[str]] = []
    for events in (_events(12, ids[6:12]), _events(120, ids[12:])):
        seen: set[str] = set()

        def watch(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
            if "SAVEPOINT" not in sql:
                seen.add(sql)  # noqa: B023 (called within this iteration)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(watch):
            ingest(events)
        texts.append(seen)
    if connection.vendor == "postgresql":
        # What PostgreSQL can prepare once (psycopg's "prepare_threshold") and plan no more.
        assert texts[0] == texts[1]
    else:
        assert texts[0] != texts[1]  # a placeholder per value
