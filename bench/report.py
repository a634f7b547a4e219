"""The benchmark's results as text (printed after a run) or as the tables of docs/performance.md.

``text()`` lists every figure a run produced, case by case under the names the
benchmark gives them; ``markdown()`` lays out the ones the docs quote, side by
side and under the docs' labels. Both draw their tables with one ``Table``,
which renders either aligned for a terminal or as plain Markdown.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any


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


def _bare_first(endpoints: dict[str, Any]) -> list[tuple[str, Any]]:
    """The bare view first, then the cases in the order they were set up."""
    return sorted(endpoints.items(), key=lambda item: item[0] != "bare view")


def _total(tables: Iterable[dict[str, Any]], key: str) -> int:
    return sum(e.get(key, 0) for table in tables for e in table.values())


# --- text ----------------------------------------------------------------------------


def text(results: dict[str, Any]) -> str:
    """Every figure of a run, as printed at its end."""
    m = results["machine"]
    lines = [
        f"Machine: {m['cpu']}, {m['nproc']} CPUs, {m['memory_gib']} GiB, Python {m['python']}, "
        f"Django {m['versions']['django']}, itsdangerous {m['versions']['itsdangerous']}"
    ]
    if results.get("tokens"):
        lines += _tokens_text(results["tokens"])
    if results.get("http"):
        lines += _http_text(results["http"])
    if results.get("background"):
        lines += _background_text(results["background"])
    return "\n".join(lines)


def _endpoint_table(title: str, recorded: bool = False) -> Table:
    titles = [title, "req/s", "p50 ms", "p99 ms", "errors", "recorded / lost"]
    widths = [38, 8, 7, 7, 6, 17]
    return Table(titles, widths) if recorded else Table(titles[:-1], widths[:-1])


def _endpoint_cells(e: dict[str, Any]) -> list[str]:
    return [f"{e['rps']:,.0f}", f"{e['p50_ms']:.2f}", f"{e['p99_ms']:.2f}", f"{e['errors']}"]


def _tokens_text(t: dict[str, Any]) -> list[str]:
    table = Table(["case", "per second", "median µs"], [34, 11])
    for name, value in t["per_second"].items():
        table.add(name, f"{value:,.0f}", f"{t['median_us'][name]:.1f}")
    return [
        "",
        f"Token work, in process (median of {t['rounds']} alternating rounds)",
        *table.render(markdown=False),
        *(f"{name}: {value:.2f}x" for name, value in t["ratios"].items()),
        f"token length {t['token_length']} (plain itsdangerous {t['plain_token_length']}), "
        f"URL length {t['url_length']}",
    ]


def _http_text(h: dict[str, Any]) -> list[str]:
    lines = []
    for conns, key in ((64, "c64"), (4, "c4")):
        table = _endpoint_table("server: case", recorded=True)
        for name, e in h[key].items():
            rec = f"{e['recorder_calls']} / {e['lost']}" if "lost" in e else "-"
            table.add(name, *_endpoint_cells(e), rec)
        lines += [
            "",
            f"Endpoint, {conns} connections, {h['workers_per_server']} workers per server "
            "(medians of alternating runs)",
            *table.render(markdown=False),
        ]
    lines.append("")
    for kind, ratios in h["ratios"].items():
        lines += (f"{kind}: {name} = {value:.3f}" for name, value in ratios.items())
    lines.append("")
    for name, mem in h["memory"].items():
        lines.append(
            f"{name}: worker RSS {mem['rss_before_mib']} -> {mem['rss_after_round_1_mib']} "
            f"-> {mem['rss_after_mib']} MiB (growth {mem['max_growth_mib']} MiB, "
            f"{mem['growth_after_round_1_mib']} after round 1; "
            f"{mem['requests'] or 0:,} recorded)"
        )
    return lines


def _background_text(b: dict[str, Any]) -> list[str]:
    c64, c4 = _endpoint_table("case"), _endpoint_table("case")
    for name, e in _bare_first(b["endpoint"]):
        c64.add(name, *_endpoint_cells(e))
    for name, e in b["endpoint_c4"].items():
        c4.add(name, *_endpoint_cells(e))
    lines = [
        "",
        f"Slow recorder ({b['recorder_seconds'] * 1000:.0f} ms), gunicorn, "
        f"{b['workers_per_server']} workers per server, {b['connections']} connections "
        f"(medians of {b['rounds']} alternating runs of {b['seconds_per_run']} s)",
        *c64.render(markdown=False),
        "",
        f"The same at 4 connections ({b['seconds_per_latency_run']} s runs)",
        *c4.render(markdown=False),
        "",
        *(f"{name} = {value:.3f}" for name, value in b["ratios"].items()),
        "",
        *(
            f"track() in process, {name}: {us:,.0f} µs per pixel load"
            for name, us in b.get("track_us", {}).items()
        ),
    ]
    for d in b["drain"].values():
        lines.append("")
        lines.append(
            f"{d['label']}: {d['pixel_responses']:,} pixel responses (wrk), "
            f"{d['enqueued']:,} enqueued ({d.get('tasks_enqueued', d['enqueued']):,} tasks), "
            f"{d['ran_inline']} ran inline, "
            f"{d['recorded']:,} recorded by the worker, {d['left_in_queue']} left, "
            f"{d['failed']} failed, {d['lost']} lost, {d['duplicated']} duplicated"
        )
        for key in ("with_recorder", "without_sleep", "until_empty"):
            if key not in d:
                continue
            w = d[key]
            rate = "-" if w["per_second"] is None else f"{w['per_second']:,.1f}"
            lines.append(
                f"  {w['processes']} worker(s), recorder sleeping "
                f"{w['recorder_seconds'] * 1000:.0f} ms: "
                f"{w['events']:,} events at {rate}/s (start-up {w['startup_s'] or 0:.1f} s"
                f"{', TIMED OUT' if w['timed_out'] else ''}): {w['command']}"
            )
    return lines


# --- markdown --------------------------------------------------------------------------

# Token cases in the docs' order: their label there, and the ratio they are read against.
_TOKEN_ROWS = [
    ("Mint a token: `ptrack.encoders.encode()`", "ptrack mint token",
     "mint token vs itsdangerous dumps", True),
    ("Mint a URL: `ptrack.Pixel(...).url()`", "ptrack mint URL",
     "mint URL vs itsdangerous dumps", False),
    ("plain itsdangerous `dumps()`", "itsdangerous dumps", None, False),
    ("Verify a token: `ptrack.encoders.decode()`", "ptrack verify",
     "verify vs itsdangerous loads", True),
    ("plain itsdangerous `loads()`", "itsdangerous loads", None, False),
    ("`ptrack.tracking.track()`: verify, event, one recorder", "ptrack track()", "", False),
    ("`ptrack.classify()`, cycling the labelled request shapes", "ptrack classify()", "", False),
    ("Render a 5-story email with `{% ptrack %}`", "email render, with {% ptrack %}", "", False),
    ("The same email without the tag", "email render, without it", "", False),
]  # fmt: skip

# The ratios of the docs' table: label, key in the results, target.
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


def markdown(results: dict[str, Any]) -> str:
    """The tables of docs/performance.md, from a results JSON."""
    m = results["machine"]
    v = m["versions"]
    out = [
        f"Measured on {m['cpu']} ({m['nproc']} CPUs, {m['memory_gib']} GiB), "
        f"{m['platform']}, Python {m['python']}, Django {v['django']}, "
        f"itsdangerous {v['itsdangerous']}, gunicorn {v['gunicorn']}, uvicorn {v['uvicorn']} "
        f"(uvloop {v['uvloop']}, httptools {v['httptools']}), wrk {v.get('wrk')}; "
        f"load average {m['load_average_at_start'][0]:.1f} at the start and "
        f"{m['load_average_at_end'][0]:.1f} at the end (a shared machine)."
    ]
    if "background" in results:  # a --background run: that scenario only
        return "\n".join(out + _background_markdown(results["background"], v))
    out += _tokens_markdown(results["tokens"])
    if results.get("http"):
        out += _http_markdown(results["http"])
    return "\n".join(out)


def _tokens_markdown(t: dict[str, Any]) -> list[str]:
    ps, us, r = t["per_second"], t["median_us"], t["ratios"]
    table = Table(["Token work, in process", "per second", "µs, median", "vs itsdangerous"])
    for label, key, ratio, bold in _TOKEN_ROWS:
        if key not in ps:  # a case added after the run
            continue
        cell = "1x" if ratio is None else f"{r[ratio]:.2f}x" if ratio else ""
        table.add(label, f"{ps[key]:,.0f}", f"{us[key]:.1f}", f"**{cell}**" if bold else cell)
    return [
        "",
        *table.render(markdown=True),
        "",
        f"Token {t['token_length']} characters (plain itsdangerous: {t['plain_token_length']}), "
        f"URL {t['url_length']} characters, for `'campaign-42', user_id=123456, "
        f"email='someone@example.com', variant='b'`.",
    ]


def _http_markdown(h: dict[str, Any]) -> list[str]:
    c64 = Table([
        "Endpoint, 64 connections", "gunicorn req/s", "p50 ms", "p99 ms",
        "uvicorn req/s", "p50 ms", "p99 ms",
    ])  # fmt: skip
    for label in dict.fromkeys(k.split(": ", 1)[1] for k in h["c64"]):
        cells = []
        for kind in ("gunicorn", "uvicorn"):
            e = h["c64"].get(f"{kind}: {label}")
            cells += (
                [f"{e['rps']:,.0f}", f"{e['p50_ms']:.1f}", f"{e['p99_ms']:.1f}"]
                if e
                else ["", "", ""]
            )
        c64.add(label, *cells)
    c4 = Table(["Endpoint, 4 connections", "gunicorn p50 ms", "p99 ms", "uvicorn p50 ms", "p99 ms"])
    for label in [k.split(": ", 1)[1] for k in h["c4"] if k.startswith("gunicorn: ")]:
        g, u = h["c4"][f"gunicorn: {label}"], h["c4"][f"uvicorn: {label}"]
        c4.add(
            label, f"{g['p50_ms']:.2f}", f"{g['p99_ms']:.2f}", f"{u['p50_ms']:.2f}",
            f"{u['p99_ms']:.2f}",
        )  # fmt: skip
    tables = (h["c64"], h["c4"])

    ratios = Table(
        ["Ratio: median over rounds (lowest to highest round)", "target", "gunicorn", "uvicorn"]
    )

    def cell(kind: str, key: str) -> str:
        value = h["ratios"][kind].get(key)
        if value is None:
            return ""
        spread = h.get("ratio_rounds", {}).get(kind, {}).get(key)
        return f"{value:.2f} ({min(spread):.2f} to {max(spread):.2f})" if spread else f"{value:.2f}"

    for label, key, target in _RATIO_ROWS:
        ratios.add(label, target, cell("gunicorn", key), cell("uvicorn", key))
    memory = Table(["Worker RSS, MiB", "after warm-up", "after round 1", "at the end"])
    for name, mem in h["memory"].items():
        memory.add(
            name,
            *(
                ", ".join(map(str, mem[key]))
                for key in ("rss_before_mib", "rss_after_round_1_mib", "rss_after_mib")
            ),
        )
    return [
        "",
        *c64.render(markdown=True),
        "",
        *c4.render(markdown=True),
        "",
        f"{_total(tables, 'requests'):,} requests, {_total(tables, 'errors')} errors; "
        f"{_total(tables, 'recorder_calls'):,} recorder calls for the pixel runs, "
        f"{_total(tables, 'lost')} successful pixel responses without one.",
        "",
        *ratios.render(markdown=True),
        "",
        *memory.render(markdown=True),
    ]


def _background_markdown(b: dict[str, Any], versions: dict[str, Any]) -> list[str]:
    """The slow-recorder tables of docs/performance.md, from a ``--background`` results JSON."""
    ms = b["recorder_seconds"] * 1000
    packages = ("django-tasks", "django-tasks-db", "django-tasks-rq", "django-rq", "rq", "redis")
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
    out = [
        "",
        "Task backends: "
        + ", ".join(f"{name} {versions.get(name)}" for name in packages)
        + f" (redis-py), redis-server {b.get('redis')}.",
        "",
        *endpoints.render(markdown=True),
        "",
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
        out += ["", *track.render(markdown=True)]
    cleanup = next(iter(b["drain"].values()))["until_empty"]["processes"]
    drains = Table([
        "Task workers, events/s (events)", f"one, {ms:.0f} ms recorder", "one, no sleep",
        f"{cleanup}, no sleep, until empty", "pixel responses", "enqueued", "recorded", "lost",
    ])  # fmt: skip
    for d in b["drain"].values():
        rates = [
            "-"
            if w is None or w["per_second"] is None
            else f"{w['per_second']:,.0f} ({w['events']:,})"
            for w in (d.get("with_recorder"), d.get("without_sleep"), d["until_empty"])
        ]
        drains.add(
            d["label"], *rates, f"{d['pixel_responses']:,}",
            f"{d['enqueued'] + d['ran_inline']:,}", f"{d['recorded'] + d['ran_inline']:,}",
            f"{d['lost']}",
        )  # fmt: skip
    return [*out, "", *drains.render(markdown=True)]
