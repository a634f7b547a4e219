"""The benchmark's results as tables: printed after a run, and quoted in docs/performance.md.

``render()`` is the one formatter: it lays out every figure a run produced in
the same tables either way, aligned for a terminal or as Markdown for the docs
(``python -m bench.run --markdown bench/results.json``), so the two never
disagree on what a run measured.
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def main(parser: argparse.ArgumentParser, run: Callable[[Any], dict[str, Any]]) -> None:
    """A benchmark's command line, with ``--json`` and ``--markdown`` added to ``parser``:
    print a results file as Markdown, or ``run`` the benchmark, write and print its results."""
    parser.add_argument("--json", type=Path, help="write the results to this file")
    parser.add_argument("--markdown", type=Path, help="print a results file as Markdown")
    options = parser.parse_args()
    if options.markdown:
        print(render(json.loads(options.markdown.read_text()), markdown=True))
        return
    results = run(options)
    if options.json:
        options.json.write_text(json.dumps(results, indent=2) + "\n")
    print(render(results, markdown=False))


@dataclass
class Table:
    """Rows of cells under titles: a label, then figures, which are right-aligned."""

    titles: Sequence[str]
    widths: Sequence[int] = ()  # the least width of each column as aligned text
    rows: list[Sequence[str]] = field(default_factory=list)

    def add(self, *cells: str) -> None:
        self.rows.append(cells)

    def render(self, markdown: bool) -> list[str]:
        """The table as Markdown, or aligned in columns for a terminal."""
        if markdown:
            return [
                "| " + " | ".join(self.titles) + " |",
                "|---|" + "--:|" * (len(self.titles) - 1),
                *("| " + " | ".join(row) + " |" for row in self.rows),
            ]
        least = [*self.widths, *[0] * len(self.titles)]
        widths = [
            max(least[i], *(len(row[i]) for row in (self.titles, *self.rows)))
            for i in range(len(self.titles))
        ]

        def line(cells: Sequence[str]) -> str:
            label, *figures = cells
            aligned = (cell.rjust(width) for cell, width in zip(figures, widths[1:], strict=True))
            return "| " + " | ".join([label.ljust(widths[0]), *aligned]) + " |"

        rule = "|" + "-" * (widths[0] + 2) + "|" + "".join("-" * (w + 1) + ":|" for w in widths[1:])
        return [line(self.titles), rule, *(line(row) for row in self.rows)]


# A section of a report: a line of prose, or a table.
Block = str | Table


def render(results: dict[str, Any], *, markdown: bool) -> str:
    """Every figure of a run's results, as aligned text or as the Markdown of the docs."""
    m = results["machine"]
    blocks: list[Block] = [_machine(m)]
    if results.get("background"):
        blocks += _background(results["background"], m["versions"])
    if results.get("tokens"):
        blocks += _tokens(results["tokens"])
    if results.get("inprocess"):
        blocks += _inprocess(results["inprocess"])
    if results.get("instructions"):
        blocks += _instructions(results["instructions"])
    if results.get("store"):
        blocks += _store(results["store"])
    if results.get("store_kill"):
        blocks += _store_kill(results["store_kill"])
    if results.get("store_scale"):
        blocks += _store_scale(results["store_scale"])
    if results.get("http"):
        blocks += _http(results["http"])
    elif (
        "http" in results
        and not {"background", "store", "store_kill", "store_scale"} & results.keys()
    ):
        blocks.append("No endpoint figures: wrk was not installed for this run.")
    lines: list[str] = []
    for block in blocks:
        lines += ["", *(block.render(markdown) if isinstance(block, Table) else [block])]
    return "\n".join(lines[1:])


def _machine(m: dict[str, Any]) -> str:
    v = m["versions"]
    servers = (
        f", gunicorn {v['gunicorn']}, uvicorn {v['uvicorn']} "
        f"(uvloop {v['uvloop']}, httptools {v['httptools']}), wrk {v.get('wrk')}"
        if "gunicorn" in v
        else ""
    )
    return (
        f"Measured on {m['cpu']} ({m['nproc']} CPUs, {m['memory_gib']} GiB), "
        f"{m['platform']}, Python {m['python']}, Django {v['django']}, "
        f"itsdangerous {v['itsdangerous']}{servers}; "
        f"load average {m['load_average_at_start'][0]:.1f} at the start and "
        f"{m['load_average_at_end'][0]:.1f} at the end (a shared machine)."
    )


def _bare_first(endpoints: dict[str, Any]) -> list[tuple[str, Any]]:
    """The bare view first, then the cases in the order they were set up."""
    return sorted(endpoints.items(), key=lambda item: item[0] != "bare view")


def _total(tables: Iterable[dict[str, Any]], key: str) -> int:
    return sum(e.get(key, 0) for table in tables for e in table.values())


# --- in process, paired ----------------------------------------------------------------


def _inprocess(p: dict[str, Any]) -> list[Block]:
    blocks: list[Block] = []
    for mode, figures in p["modes"].items():
        kept = len(figures["kept_rounds"])
        times = Table((f"In process, {mode}", "µs per request, median", "lowest", "highest"))
        for name, t in figures["us_per_request"].items():
            times.add(name, f"{t['median']:.1f}", f"{t['low']:.1f}", f"{t['high']:.1f}")
        pairs = Table(
            (
                f"Paired, {mode}: median of the {kept} fastest of {p['rounds']} rounds "
                "(lowest to highest)",
                "extra µs per request",
                "extra / baseline",
            )
        )
        peer = p.get("peer", {}).get("modes", {}).get(mode)
        rows = [(f"{c['case']} over {c['baseline']}", c) for c in figures["comparisons"]]
        if peer:
            versions = p["peer"]["versions"]
            label = (
                f"django-ptrack {versions['django-ptrack']} view over its bare view "
                f"(Django {versions['django']}, its own environment)"
            )
            rows.insert(1, (label, peer["comparisons"][0]))
        for label, c in rows:
            extra, ratio = c["extra_us"], c["extra_over_baseline"]
            pairs.add(
                label,
                f"{extra['median']:+.1f} ({extra['low']:+.1f} to {extra['high']:+.1f})",
                f"{ratio['median']:.2f} ({ratio['low']:.2f} to {ratio['high']:.2f})",
            )
        blocks += [times, pairs]
        if peer:
            ours = figures["comparisons"][0]["extra_us"]["median"]
            theirs = peer["comparisons"][0]["extra_us"]["median"]
            blocks.append(
                f"{mode.capitalize()}: the pixel view's extra cost is {ours / theirs:.2f} times "
                f"django-ptrack {versions['django-ptrack']}'s ({ours:+.1f} µs against "
                f"{theirs:+.1f} µs per request, medians of separate runs)."
            )
    calls = sum(f["recorder_calls"] for f in p["modes"].values())
    blocks.append(
        f"{p['requests_per_batch']:,} requests per case per round; {calls:,} recorder calls, "
        f"one for every pixel and click request made; {p['seconds']} s in all."
    )
    return blocks


def _instructions(i: dict[str, Any]) -> list[Block]:
    counts = Table(("Instructions per request, under callgrind", "instructions"))
    for name, count in i["per_request"].items():
        counts.add(name, f"{count:,}")
    pairs = Table(("Instructions, case over baseline", "extra per request", "extra / baseline"))
    for c in i["comparisons"]:
        pairs.add(
            f"{c['case']} over {c['baseline']}",
            f"{c['extra']:+,}",
            f"{c['extra_over_baseline']:.3f}",
        )
    return [
        counts,
        pairs,
        f"Each figure: a process making {i['requests']:,} requests after {i['warm_up']} of "
        f"warm-up, less one making none, divided by {i['requests']:,}; {i['seconds']} s in all.",
    ]


# --- token work ---------------------------------------------------------------------

# Token cases in the docs' order: their label there, and the ratio they are read against
# (None: the baseline itself).
_TOKEN_ROWS = [
    ("Mint a token: `ptrack.encoders.encode()`", "ptrack mint token",
     "mint token vs itsdangerous dumps"),
    ("Mint a URL: `ptrack.Pixel(...).url()`", "ptrack mint URL", "mint URL vs itsdangerous dumps"),
    ("plain itsdangerous `dumps()`", "itsdangerous dumps", None),
    ("Verify a token: `ptrack.encoders.decode()`", "ptrack verify", "verify vs itsdangerous loads"),
    ("plain itsdangerous `loads()`", "itsdangerous loads", None),
    ("`ptrack.tracking.track()`: verify, event, one recorder", "ptrack track()", ""),
    ("`ptrack.tracking.track()` of a link naming its recipient, no consent source",
     "ptrack track(), naming a recipient, no consent source", ""),
    ("`ptrack.tracking.track()` of a link naming its recipient, consent asked from memory",
     "ptrack track(), naming a recipient", ""),
    ("`ptrack.classify()`, cycling the labelled request shapes", "ptrack classify()", ""),
    ("Render a 5-story email with `{% ptrack %}`", "email render, with {% ptrack %}", ""),
    ("The same email without the tag", "email render, without it", ""),
]  # fmt: skip


def _tokens(t: dict[str, Any]) -> list[Block]:
    ps, us, r = t["per_second"], t["median_us"], t["ratios"]
    table = Table([
        f"Token work, in process (median of {t['rounds']} alternating rounds)", "per second",
        "µs, median", "vs itsdangerous",
    ])  # fmt: skip
    known = set()
    for label, key, ratio in _TOKEN_ROWS:
        known.add(key)
        if key in ps:  # else a case added after the run
            cell = "1x" if ratio is None else f"{r[ratio]:.2f}x" if ratio else ""
            table.add(label, f"{ps[key]:,.0f}", f"{us[key]:.1f}", cell)
    for key in [key for key in ps if key not in known]:  # a case the docs do not quote yet
        table.add(key, f"{ps[key]:,.0f}", f"{us[key]:.1f}", "")
    extra = [
        f"{name}: {us:+.2f} µs per load (median of per-round differences)."
        for name, us in t.get("extra_us", {}).items()
    ]
    return [
        table,
        *extra,
        f"Token {t['token_length']} characters (plain itsdangerous: {t['plain_token_length']}), "
        f"URL {t['url_length']} characters, for `'campaign-42', user_id=123456, "
        f"email='someone@example.com', variant='b'`.",
    ]


# --- the endpoints, served ---------------------------------------------------------------

# The ratios in the docs' order: label, key in the results, target. Any other ratio a
# run gives follows under its key.
_RATIO_ROWS = [
    ("view / bare view, req/s", "view / bare view (rps)", "≥ 0.95"),
    (
        "view / bare view, req/s, no middleware",
        "view, no middleware / bare view, no middleware (rps)",
        "",
    ),
    ("view / bare view, p99 at 64 connections", "view / bare view (p99, 64 conn)", "≤ 1.10"),
    ("fast path / raw callable, req/s", "fast path / raw callable (rps)", "≥ 0.9"),
    (
        "fast path without request signals / raw callable, req/s",
        "fast path, no request signals / raw callable (rps)",
        "",
    ),
    (
        "fast path with an async recorder / raw callable, req/s",
        "fast path, async recorder / raw callable (rps)",
        "",
    ),
    (
        "view / the same view with a constant classifier, req/s",
        "view / view, constant classifier (rps)",
        "",
    ),
    (
        "fast path / the same fast path with a constant classifier, req/s",
        "fast path / fast path, constant classifier (rps)",
        "",
    ),
    ("fast path / bare view, req/s", "fast path / bare view (rps)", ""),
    ("raw callable / bare view, req/s", "raw callable / bare view (rps)", ""),
    (
        "raw callable / bare view, no middleware, req/s",
        "raw callable / bare view, no middleware (rps)",
        "",
    ),
]

_SERVERS = ("gunicorn", "uvicorn")


def _http(h: dict[str, Any]) -> list[Block]:
    c64 = Table([
        f"Endpoint, 64 connections, {h['workers_per_server']} workers per server",
        "gunicorn req/s", "p50 ms", "p99 ms", "uvicorn req/s", "p50 ms", "p99 ms",
    ])  # fmt: skip
    for label in dict.fromkeys(k.split(": ", 1)[1] for k in h["c64"]):
        cells = []
        for server in _SERVERS:
            e = h["c64"].get(f"{server}: {label}")
            cells += (
                [f"{e['rps']:,.0f}", f"{e['p50_ms']:.1f}", f"{e['p99_ms']:.1f}"]
                if e
                else ["", "", ""]
            )
        c64.add(label, *cells)
    c4 = Table(["Endpoint, 4 connections", "gunicorn p50 ms", "p99 ms", "uvicorn p50 ms", "p99 ms"])
    for label in dict.fromkeys(k.split(": ", 1)[1] for k in h["c4"]):
        cells = []
        for server in _SERVERS:
            e = h["c4"].get(f"{server}: {label}")
            cells += [f"{e['p50_ms']:.2f}", f"{e['p99_ms']:.2f}"] if e else ["", ""]
        c4.add(label, *cells)
    tables = (h["c64"], h["c4"])

    def cell(server: str, key: str) -> str:
        value = h["ratios"].get(server, {}).get(key)
        if value is None:
            return ""
        spread = h.get("ratio_rounds", {}).get(server, {}).get(key)
        return f"{value:.2f} ({min(spread):.2f} to {max(spread):.2f})" if spread else f"{value:.2f}"

    ratios = Table(["Ratio: median over rounds (lowest to highest round)", "target", *_SERVERS])
    rows = [*_RATIO_ROWS]
    quoted = {key for _, key, _ in _RATIO_ROWS}
    for server in _SERVERS:
        rows += ((key, key, "") for key in h["ratios"].get(server, {}) if key not in quoted)
        quoted |= h["ratios"].get(server, {}).keys()
    for label, key, target in rows:
        cells = [cell(server, key) for server in _SERVERS]
        if any(cells):  # else a case added after the run
            ratios.add(label, target, *cells)
    memory = Table([
        "Worker RSS, MiB", "after warm-up", "after round 1", "at the end", "most growth",
        "growth after round 1", "recorded",
    ])  # fmt: skip
    for name, mem in h["memory"].items():
        memory.add(
            name,
            *(
                ", ".join(map(str, mem[key]))
                for key in ("rss_before_mib", "rss_after_round_1_mib", "rss_after_mib")
            ),
            f"{mem['max_growth_mib']}",
            f"{mem['growth_after_round_1_mib']}",
            f"{mem['requests'] or 0:,}",
        )
    return [
        c64,
        c4,
        f"{_total(tables, 'requests'):,} requests, {_total(tables, 'errors')} errors; "
        f"{_total(tables, 'recorder_calls'):,} recorder calls for the pixel runs, "
        f"{_total(tables, 'lost')} successful pixel responses without one.",
        ratios,
        memory,
    ]


# --- a slow recorder, inline and in the background ----------------------------------------

_PACKAGES = ("django-tasks", "django-tasks-db", "django-tasks-rq", "django-rq", "rq", "redis")
_DRAIN_PHASES = ("with_recorder", "without_sleep", "until_empty")


def _background(b: dict[str, Any], versions: dict[str, Any]) -> list[Block]:
    ms = b["recorder_seconds"] * 1000
    endpoints = Table([
        f"Endpoint, {ms:.0f} ms recorder", f"req/s, {b['connections']} connections",
        "p50 ms", "p99 ms", "req/s / bare", "p99 / bare", "p50 ms, 4 connections", "p99 ms",
    ])  # fmt: skip
    for label, e in _bare_first(b["endpoint"]):
        rps = b["ratios"].get(f"{label} / bare view (req/s)", 1.0)
        p99 = b["ratios"].get(f"{label} / bare view (p99)", 1.0)
        c4 = b["endpoint_c4"][label]
        endpoints.add(
            label, f"{e['rps']:,.0f}", f"{e['p50_ms']:.1f}", f"{e['p99_ms']:.1f}",
            f"{rps:.2f}", f"{p99:.2f}", f"{c4['p50_ms']:.1f}", f"{c4['p99_ms']:.1f}",
        )  # fmt: skip
    tables = (b["endpoint"], b["endpoint_c4"])
    spread = (
        ", req/s lowest to highest round: "
        + "; ".join(
            f"{key.split(' / ')[0]} {min(v):.2f} to {max(v):.2f}"
            for key, v in b["ratio_rounds"].items()
            if key.endswith("(req/s)")
        )
        if b.get("ratio_rounds")
        else ""
    )
    out: list[Block] = [
        "Task backends: "
        + ", ".join(f"{name} {versions.get(name)}" for name in _PACKAGES)
        + f" (redis-py), redis-server {b.get('redis')}.",
        endpoints,
        f"gunicorn with {b['workers_per_server']} sync workers per server, "
        f"{b['rounds']} rounds of {b['seconds_per_run']} s runs, each case back to back with "
        f"the bare view in ABBA order ({b['seconds_per_latency_run']} s at 4 connections); "
        f"{_total(tables, 'requests'):,} requests, {_total(tables, 'errors')} errors. "
        f"Ratios are medians of per-round ratios{spread}.",
    ]
    if b.get("track_us"):
        track = Table(["`ptrack.tracking.track()` in process, one recorder", "µs per pixel load"])
        for name, us in b["track_us"].items():
            track.add(name, f"{us:,.0f}")
        out.append(track)
    cleanup = next(iter(b["drain"].values()))["until_empty"]["processes"]
    drains = Table([
        "Task workers, events/s (events)", f"one, {ms:.0f} ms recorder", "one, no sleep",
        f"{cleanup}, no sleep, until empty", "pixel responses", "enqueued", "recorded",
        "left", "failed", "lost", "duplicated",
    ])  # fmt: skip
    commands: list[str] = []
    for d in b["drain"].values():
        phases = [d.get(key) for key in _DRAIN_PHASES]
        drains.add(
            d["label"],
            *(
                "-"
                if w is None or w["per_second"] is None
                else f"{w['per_second']:,.0f} ({w['events']:,})"
                for w in phases
            ),
            f"{d['pixel_responses']:,}", f"{d['enqueued'] + d['ran_inline']:,}",
            f"{d['recorded'] + d['ran_inline']:,}", f"{d['left_in_queue']}", f"{d['failed']}",
            f"{d['lost']}", f"{d['duplicated']}",
        )  # fmt: skip
        commands += (
            f"- {d['label']}, {w['processes']} worker(s), recorder sleeping "
            f"{w['recorder_seconds'] * 1000:.0f} ms, start-up {w['startup_s'] or 0:.1f} s"
            f"{', TIMED OUT' if w['timed_out'] else ''}: `{w['command']}`"
            for w in phases
            if w is not None
        )
    return [*out, drains, "\n".join(["Task worker commands:", *commands])]


# --- ptrack.store -----------------------------------------------------------------------


def _store(s: dict[str, Any]) -> list[Block]:
    table = Table(
        ("ptrack.store, recording", "events/s, median", "lowest", "highest", "stats() ms"),
        (0, 16, 6, 7, 10),
    )
    for case in s["cases"]:
        rates = case["events_per_second"]
        workers = case.get("workers", 1)
        table.add(
            f"{case['database']}, batches of {case['batch']}"
            + (f", {workers} workers at once" if workers > 1 else ""),
            f"{statistics.median(rates):,.0f}",
            f"{min(rates):,.0f}",
            f"{max(rates):,.0f}",
            f"{statistics.median(case['stats_ms']):.1f}",
        )
    v = s["versions"]
    postgres = (
        f", PostgreSQL {v['postgresql']} (psycopg {v['psycopg']})" if "postgresql" in v else ""
    )
    return [
        table,
        f"{s['events']:,} events (people's opens and clicks, machines' loads) over "
        f"{s['messages']:,} messages of one campaign, recorded by the store's recorder in "
        f"batches, {s['rounds']} rounds; stats() of the campaign, median of 20 calls. "
        f"SQLite {v['sqlite']}{postgres}.",
    ]


def _tasks(left: dict[str, int]) -> str:
    """What a killed worker left running: its tasks, their events, those recorded."""
    tasks = f"{left['tasks']} task{'' if left['tasks'] == 1 else 's'}"
    return (
        f"{tasks} of {left['events']} events running, "
        f"{left['already_recorded']} of them already in the store"
    )


def _store_kill(k: dict[str, Any]) -> list[Block]:
    before, after = k["before_requeue"], k["after_requeue"]
    table = Table(
        ("ptrack.store, task worker killed", "answered", "events", "lost", "duplicated"),
        (0, 8, 6, 4, 10),
    )
    for label, seen in (
        ("after the drain", before),
        ("after `ptrack_store_requeue` and a drain", after),
    ):
        table.add(
            label,
            f"{k['answered']:,}",
            f"{seen['events']:,}",
            f"{seen['lost']:,}",
            f"{seen['duplicated']:,}",
        )
    counters = Table(("counter, after requeueing", "answered loads", "store"), (0, 14, 5))
    counters.add(
        "people's opens (`opens`)",
        f"{after['answered_by_kind']['person']:,}",
        f"{after['opens_total']:,}",
    )
    counters.add(
        "messages opened (`unique_opens`)",
        f"{after['answered_by_kind']['person']:,}",
        f"{after['unique_opens_total']:,}",
    )
    counters.add(
        "machines' loads (`machine_loads:*`)",
        f"{after['answered_by_kind']['machine']:,}",
        f"{after['machine_loads_total']:,}",
    )
    kills = ", ".join(
        f"{kill['at_s']:.1f} s (leaving {_tasks(kill['left_running'])})" for kill in k["kills"]
    )
    unanswered = sum(k["unanswered"].values())
    v = k["versions"]
    return [
        table,
        counters,
        f"{k['answered']:,} pixel loads answered in {k['seconds']:.0f} s "
        f"({k['answered_per_second']:,.0f}/s; {unanswered:,} not answered with the pixel) by "
        f"gunicorn ({k['web_workers']} sync workers), each a distinct message of one campaign, "
        f"from {k['clients']} client threads; PTRACK_BATCH_SIZE={k['batch']}; one `db_worker` "
        f"(django-tasks-db) killed with SIGKILL at {kills}, and started again each time. "
        f"{after['recorded_not_answered']:,} events recorded of loads the client saw fail. "
        f"PostgreSQL {v['postgresql']} (psycopg {v['psycopg']}); `{k['command']}`.",
    ]


def _store_scale(s: dict[str, Any]) -> list[Block]:
    n = s["repeat"]
    reads = Table(
        (
            f"ptrack.store, {s['messages']:,} messages and {s['events']:,} events, PostgreSQL",
            f"ms, median of {n}",
            "lowest",
            "highest",
            "queries",
        )
    )
    for period in ("day", "hour"):
        figures = s["stats"][period]
        reads.add(
            f"`stats(campaign, period={period!r})` ({figures['buckets']} buckets)",
            *_ms(figures["ms"]),
            str(figures["queries"]),
        )
    for label, figures in s["admin"].items():
        reads.add(f"admin: {label}", *_ms(figures["ms"]), str(figures["queries"]))
    p = s["purge"]
    stalls = Table(
        (
            "Recording batches of 100 through `ingest()`",
            "batches",
            "ms, median",
            "p99",
            "longest",
            "over 100 ms",
        )
    )
    for label, key in (("alone", "alone"), ("during the purge", "during")):
        b = p[key]
        stalls.add(
            label,
            f"{b['batches']:,}",
            f"{b['median_ms']:.1f}",
            f"{b['p99_ms']:.1f}",
            f"{b['max_ms']:.1f}",
            str(b["over_100_ms"]),
        )
    removed = ", ".join(
        f"{count:,} {model.split('.')[-1]}" for model, count in sorted(p["removed"].items())
    )
    sample = s["sample"]
    v = s["versions"]
    w, t = p["lock_waits"], p["locking_transactions"]
    if w["count"]:
        waited = (
            f"The worker waited for a lock {w['count']} times for more than "
            f"{w['logged_over_ms']} ms, at most {w['longest_ms']:.0f} ms ({w['over_100_ms']} "
            f"over 100 ms; PostgreSQL's `log_lock_waits`), and no batch for more than "
            f"{w['longest_per_batch_ms']:.0f} ms in all"
        )
    else:
        waited = (
            f"The worker never waited for a lock for more than {w['logged_over_ms']} ms "
            f"(PostgreSQL's `log_lock_waits`)"
        )
    return [
        reads,
        stalls,
        f"The campaign's rows made by SQL in {s['populated']['seconds']:.0f} s and its counters "
        f"derived from them by the rules the recorder follows, checked against "
        f"{sample['events']:,} events over {sample['messages']:,} messages recorded through it; "
        f"{s['populated']['database_size']} in all. The purge removed {removed} rows "
        f"({p['rows_removed']:,}) in {p['seconds']:.0f} s while a worker recorded "
        f"{p['worker_events']['live']:,} loads and clicks of a live campaign and "
        f"{p['worker_events']['old']:,} scanners' loads of the messages being purged; the "
        f"campaigns' totals were right after it. {waited}; the purge's {t['batches']:,} "
        f"transactions that lock messages held them "
        f"{t['median_ms']:.0f} ms at the median, at most {t['max_ms']:.0f} ms "
        f"({t['over_100_ms']} over 100 ms), {t['waited_for_recorder']} of them after waiting "
        f"for a recorder's batch to commit. {_backend(p)}"
        f"PostgreSQL {v['postgresql']} "
        f"(psycopg {v['psycopg']}); {s['seconds']} s in all.",
    ]


# pg_stat_activity's wait event types, as the store-at-scale run sums them.
_WAITS = {
    "running": "running",
    "between statements": "between statements (the worker's own Python)",
    "Lock": "waiting for a lock",
    "LWLock": "waiting for PostgreSQL's internal locks (LWLock)",
    "IO": "waiting for I/O",
    "Client": "waiting for the worker's next message (Client)",
}


def _backend(p: dict[str, Any]) -> str:
    """What the worker's backend was doing while busy with a batch, during and apart from the
    purge, by kind of wait."""
    backend = p.get("backend")
    if not backend:
        return ""
    parts = []
    sums = {}
    for when in ("during", "alone"):
        by_kind: dict[str, float] = {}
        for label, share in backend[when]["shares"].items():
            kind = label.split(":")[0]
            kind = kind if kind in _WAITS else "other waits"
            by_kind[kind] = by_kind.get(kind, 0.0) + share
        sums[when] = by_kind
    for kind in (*_WAITS, "other waits"):
        during, alone = sums["during"].get(kind, 0.0), sums["alone"].get(kind, 0.0)
        if during or alone:
            parts.append(f"{_WAITS.get(kind, kind)} {during:.1%} ({alone:.1%})")
    return (
        f"Sampled every {backend['sampled_every_ms']:.0f} ms while busy with a batch "
        f"({backend['during']['samples']:,} samples during the purge, "
        f"{backend['alone']['samples']:,} apart from it), the worker's PostgreSQL backend was "
        f"{', '.join(parts)} of the time during the purge (apart from it). "
    )


def _ms(spread: dict[str, float]) -> tuple[str, str, str]:
    return f"{spread['median']:.1f}", f"{spread['low']:.1f}", f"{spread['high']:.1f}"
