"""A large campaign for bench/store_scale.py, written straight into PostgreSQL, and the check
that its counters say what its rows say, by the recorder's own definitions.

Recording a million messages' events through the recorder would take the better part of an
hour here, so the rows are made by ``INSERT ... SELECT`` over ``generate_series`` in the
schema the recorder writes, and every counter (each message's opens and clicks, links'
clicks, clicks per message and link, the campaign's totals and hours) is then derived from
those rows by ``derived_*()``: SQL that restates ptrack.store.tally's rules. The same SQL is
checked against a sample recorded through the real recorder (``matches_rows()``), so the
derivation, and with it the large campaign's counters, agree with what recording writes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from django.db import connection

from ptrack.store.recording import link_key

PEOPLE = ("human", "mail_proxy")  # ptrack.classifier's OPEN_KINDS: what counts as an open
LINKS = 5
SECONDS_PER_MESSAGE = 0.036  # a million messages sent over ten hours
EVENT_SPREAD = timedelta(days=30)  # events follow their message over 30 days, most at once

_PERSON = "kind IN ('human', 'mail_proxy')"


def _hour(column: str) -> str:
    return f"date_trunc('hour', {column} AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"


def _per_message(campaign: int) -> tuple[str, list[Any]]:
    """Each message's people's loads and clicks, from its events."""
    return (
        f"""
        SELECT message_id AS m,
          count(*) FILTER (WHERE {_PERSON} AND event_type = 'loaded') AS loads,
          min(at) FILTER (WHERE {_PERSON} AND event_type = 'loaded') AS first_load,
          max(at) FILTER (WHERE {_PERSON} AND event_type = 'loaded') AS last_load,
          count(*) FILTER (WHERE {_PERSON} AND event_type = 'clicked') AS clicks,
          min(at) FILTER (WHERE {_PERSON} AND event_type = 'clicked') AS first_click
        FROM ptrack_store_event WHERE campaign_id = %s AND message_id IS NOT NULL
        GROUP BY message_id
        """,
        [campaign],
    )


def derived_messages(campaign: int) -> tuple[str, list[Any]]:
    """(id, opens, first_open_at, last_open_at, clicks, first_click_at, machine_loads,
    implied_open) of each message with an event, by the tally's rules: a person's click on a
    message no person's load of which is recorded is also its open, whatever the order."""
    per, params = _per_message(campaign)
    return (
        f"""
        WITH per AS ({per}),
        machines AS (
          SELECT m, jsonb_object_agg(kind, n) AS loads FROM (
            SELECT message_id AS m, kind, count(*) AS n FROM ptrack_store_event
            WHERE campaign_id = %s AND message_id IS NOT NULL AND event_type = 'loaded'
              AND NOT {_PERSON}
            GROUP BY message_id, kind) k
          GROUP BY m)
        SELECT per.m,
          (per.loads + (per.first_click IS NOT NULL AND per.first_load IS NULL)::int)::int,
          coalesce(per.first_load, per.first_click),
          CASE WHEN per.first_load IS NULL THEN per.first_click ELSE per.last_load END,
          per.clicks::int, per.first_click, coalesce(machines.loads, '{{}}'::jsonb),
          per.first_click IS NOT NULL AND per.first_load IS NULL
        FROM per LEFT JOIN machines ON machines.m = per.m
        """,
        [*params, campaign],
    )


def derived_message_links(campaign: int) -> tuple[str, list[Any]]:
    """(message, link, clicks, first_at): a person's clicks per message and link."""
    return (
        f"""
        SELECT message_id, link_id, count(*)::int, min(at) FROM ptrack_store_event
        WHERE campaign_id = %s AND message_id IS NOT NULL AND event_type = 'clicked'
          AND {_PERSON}
        GROUP BY message_id, link_id
        """,
        [campaign],
    )


def derived_links(campaign: int) -> tuple[str, list[Any]]:
    """(link id, clicks, unique_clicks, machine_clicks) of each clicked link."""
    return (
        f"""
        SELECT link_id,
          count(*) FILTER (WHERE {_PERSON}),
          count(DISTINCT message_id) FILTER (WHERE {_PERSON}),
          count(*) FILTER (WHERE NOT {_PERSON})
        FROM ptrack_store_event WHERE campaign_id = %s AND event_type = 'clicked'
        GROUP BY link_id
        """,
        [campaign],
    )


def derived_hours(campaign: int) -> tuple[str, list[Any]]:
    """(hour, metric, value) of every counter of the campaign, from its rows."""
    per, params = _per_message(campaign)
    return (
        f"""
        WITH per AS ({per}),
        opened AS (
          SELECT m, coalesce(first_load, first_click) AS first_open, first_click,
            (first_click IS NOT NULL AND first_load IS NULL) AS implied
          FROM per WHERE first_load IS NOT NULL OR first_click IS NOT NULL),
        points(hour, metric) AS (
          SELECT {_hour("sent_at")}, 'sent' FROM ptrack_store_message WHERE campaign_id = %s
          UNION ALL
          SELECT {_hour("sent_at")}, 'tracked' FROM ptrack_store_message WHERE campaign_id = %s
          UNION ALL
          SELECT {_hour("at")},
            CASE WHEN {_PERSON} THEN
              CASE event_type WHEN 'loaded' THEN 'opens' ELSE 'clicks' END
            ELSE CASE event_type WHEN 'loaded' THEN 'machine_loads:' ELSE 'machine_clicks:' END
              || kind END
          FROM ptrack_store_event WHERE campaign_id = %s
          UNION ALL
          SELECT {_hour("first_open")}, 'unique_opens' FROM opened
          UNION ALL
          SELECT {_hour("first_click")}, 'unique_clicks' FROM opened WHERE first_click IS NOT NULL
          UNION ALL
          SELECT {_hour("first_click")}, 'opens' FROM opened WHERE implied
          UNION ALL
          SELECT {_hour("first_click")}, 'implied_opens' FROM opened WHERE implied)
        SELECT hour, metric, count(*) FROM points GROUP BY hour, metric
        """,
        [*params, campaign, campaign, campaign],
    )


def _rows(sql: str, params: list[Any]) -> set[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {tuple(row) for row in cursor.fetchall()}


def matches_rows(campaign: int) -> dict[str, int]:
    """How many rows of each kind of counter disagree with the campaign's rows (all zero when
    the counters say what the rows say). For a campaign whose rows were all kept."""
    import json

    def table(sql: str, params: list[Any]) -> set[tuple[Any, ...]]:
        return {tuple(json.dumps(v, sort_keys=True) if isinstance(v, dict) else v for v in r)
                for r in _rows(sql, params)}  # fmt: skip

    kept = {
        "messages": table(
            "SELECT id, opens, first_open_at, last_open_at, clicks, first_click_at, "
            "machine_loads, implied_open FROM ptrack_store_message WHERE campaign_id = %s "
            "AND (opens > 0 OR clicks > 0 OR machine_loads <> '{}'::jsonb)",
            [campaign],
        ),
        "message links": table(
            "SELECT ml.message_id, ml.link_id, ml.clicks, ml.first_at "
            "FROM ptrack_store_messagelink ml JOIN ptrack_store_link l ON l.id = ml.link_id "
            "WHERE l.campaign_id = %s",
            [campaign],
        ),
        "links": table(
            "SELECT id, clicks, unique_clicks, machine_clicks FROM ptrack_store_link "
            "WHERE campaign_id = %s AND (clicks > 0 OR machine_clicks > 0)",
            [campaign],
        ),
        "hours": table(
            "SELECT hour, metric, value FROM ptrack_store_campaignhour WHERE campaign_id = %s",
            [campaign],
        ),
        "totals": table(
            "SELECT metric, value FROM ptrack_store_campaigntotal WHERE campaign_id = %s",
            [campaign],
        ),
    }
    hours = table(*derived_hours(campaign))
    totals: dict[str, int] = {}
    for _start, metric, value in hours:
        totals[metric] = totals.get(metric, 0) + value
    derived = {
        # A message only machines clicked keeps its row as it was sent.
        "messages": {r for r in table(*derived_messages(campaign)) if r[1] or r[4] or r[6] != "{}"},
        "message links": table(*derived_message_links(campaign)),
        "links": table(*derived_links(campaign)),
        "hours": hours,
        "totals": set(totals.items()),
    }
    return {name: len(kept[name] ^ derived[name]) for name in kept}


@contextlib.contextmanager
def _loading(*tables: str) -> Iterator[None]:
    """``tables`` without their indexes and constraints (but their primary keys) while rows
    are loaded, then with them built again, as pg_restore does: far faster than keeping
    every index up to date row by row. The constraints are checked as they are added."""
    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '256MB'")
        kept = []
        for table in tables:
            cursor.execute(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = %s::regclass AND contype IN ('u', 'f')",
                [table],
            )
            constraints = cursor.fetchall()
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s AND indexname "
                "NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)",
                [table, table],
            )
            indexes = cursor.fetchall()
            for name, _definition in constraints:
                cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
            for name, _definition in indexes:
                cursor.execute(f'DROP INDEX "{name}"')
            kept.append((table, constraints, indexes))
        yield
        for table, constraints, indexes in kept:
            for _name, definition in indexes:
                cursor.execute(definition)
            for name, definition in constraints:
                cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')


def populate(name: str, messages: int, events: int, sent_from: datetime) -> int:
    """Make the campaign ``name``: ``messages`` messages sent from ``sent_from`` on, and
    ``events`` loads and clicks by people and machines, with every counter derived from them.
    Returns the campaign's id."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO ptrack_store_campaign (name, created_at) VALUES (%s, %s) RETURNING id",
            [name, sent_from],
        )
        campaign = cursor.fetchone()[0]
        for n in range(LINKS):
            destination = f"https://shop.example.com/{n}"
            cursor.execute(
                "INSERT INTO ptrack_store_link (campaign_id, key, name, destination, clicks, "
                "unique_clicks, machine_clicks) VALUES (%s, %s, %s, %s, 0, 0, 0)",
                [campaign, link_key(str(n + 1), destination), str(n + 1), destination],
            )
        cursor.execute(
            "SELECT array_agg(id ORDER BY id) FROM ptrack_store_link WHERE campaign_id = %s",
            [campaign],
        )
        links = cursor.fetchone()[0]
    with _loading("ptrack_store_message", "ptrack_store_event"), connection.cursor() as cursor:
        # Message n is sent SECONDS_PER_MESSAGE after message n - 1; ids follow n.
        cursor.execute(
            """
            INSERT INTO ptrack_store_message (message_id, campaign_id, recipient, sent_at,
              opens, clicks, machine_loads, implied_open)
            SELECT substr(md5(%s || ':' || n), 1, 16), %s, 'h:' || substr(md5('r' || n), 1, 32),
              %s::timestamptz + n * %s::float8 * interval '1 second', 0, 0, '{}'::jsonb, false
            FROM generate_series(0, %s - 1) n ORDER BY n
            RETURNING id
            """,
            [name, campaign, sent_from, SECONDS_PER_MESSAGE, messages],
        )
        ids = [row[0] for row in cursor.fetchall()]
        first = ids[0]
        assert ids == list(range(first, first + messages)), "message ids do not follow n"
        # Event e: its message is skewed towards the first ones (u², a few much opened, most
        # seldom), its time skewed towards the send (v³ of 30 days, plus e µs so that no two
        # events of a message share a time), its kind by r: 35% a person's browser, 20% a
        # mail provider's proxy (people's opens), 20% Apple's privacy prefetch and 10% a
        # security scanner (machines' loads), 12% people's and 3% scanners' clicks.
        cursor.execute(
            """
            INSERT INTO ptrack_store_event (key, campaign_id, message_id, recipient, event_type,
              kind, at, link_id, ip, user_agent)
            SELECT md5(%s || ':e' || e), %s, %s + m, '',
              CASE WHEN r < 85 THEN 'loaded' ELSE 'clicked' END,
              CASE WHEN r < 35 THEN 'human' WHEN r < 55 THEN 'mail_proxy'
                   WHEN r < 75 THEN 'privacy_prefetch' WHEN r < 85 THEN 'security_scanner'
                   WHEN r < 97 THEN 'human' ELSE 'security_scanner' END,
              %s::timestamptz + m * %s::float8 * interval '1 second'
                 + floor(%s::float8 * v * v * v) * interval '1 second'
                 + (e %% 1000000) * interval '1 microsecond',
              CASE WHEN r >= 85 THEN (%s::bigint[])[1 + (hashint8extended(e, 4) & 65535) %% %s]
              END,
              '', ''
            FROM (
              SELECT e,
                floor(%s * power((hashint8extended(e, 1) & 4294967295) / 4294967296.0::float8,
                  2))::int
                  AS m,
                (hashint8extended(e, 3) & 4294967295) / 4294967296.0::float8 AS v,
                (hashint8extended(e, 2) & 65535) %% 100 AS r
              FROM generate_series(0, %s - 1) e) g
            """,
            [
                name,
                campaign,
                first,
                sent_from,
                SECONDS_PER_MESSAGE,
                EVENT_SPREAD.total_seconds(),
                links,
                LINKS,
                messages,
                events,
            ],
        )
        # Planned without statistics, the derivation's joins of a million rows run for ages.
        cursor.execute("ANALYZE ptrack_store_message, ptrack_store_event")
        derive(campaign)  # before the indexes are back: every row of the messages changes
    return campaign


def derive(campaign: int) -> None:
    """Write every counter of ``campaign`` from its rows (which the recorder keeps as it goes)."""
    with connection.cursor() as cursor:
        sql, params = derived_messages(campaign)
        cursor.execute(
            f"""
            UPDATE ptrack_store_message AS msg SET opens = d.opens, first_open_at = d.fo,
              last_open_at = d.lo, clicks = d.clicks, first_click_at = d.fc, machine_loads = d.ml,
              implied_open = d.implied
            FROM ({sql}) AS d(m, opens, fo, lo, clicks, fc, ml, implied) WHERE msg.id = d.m
            """,
            params,
        )
        sql, params = derived_message_links(campaign)
        cursor.execute(
            f"INSERT INTO ptrack_store_messagelink (message_id, link_id, clicks, first_at) {sql}",
            params,
        )
        sql, params = derived_links(campaign)
        cursor.execute(
            f"""
            UPDATE ptrack_store_link AS l SET clicks = d.c, unique_clicks = d.u,
              machine_clicks = d.mc
            FROM ({sql}) AS d(id, c, u, mc) WHERE l.id = d.id
            """,
            params,
        )
        sql, params = derived_hours(campaign)
        cursor.execute(
            "INSERT INTO ptrack_store_campaignhour (campaign_id, hour, metric, value) "
            f"SELECT %s, hour, metric, count FROM ({sql}) d",
            [campaign, *params],
        )
        cursor.execute(
            "INSERT INTO ptrack_store_campaigntotal (campaign_id, metric, value) "
            "SELECT campaign_id, metric, sum(value) FROM ptrack_store_campaignhour "
            "WHERE campaign_id = %s GROUP BY campaign_id, metric",
            [campaign],
        )
