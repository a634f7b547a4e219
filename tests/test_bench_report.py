"""bench/report.py: one formatter, as text and as the Markdown of docs/performance.md."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench import report
from bench.report import Table

BENCH = Path(__file__).resolve().parent.parent / "bench"
# The results files bench.run wrote (bench/instrument.py and bench/classifier.py write others).
RESULTS = sorted(
    path
    for path in BENCH.glob("results*.json")
    if isinstance(json.loads(path.read_text()).get("machine"), dict)
)


def _load(name: str) -> dict[str, Any]:
    results: dict[str, Any] = json.loads((BENCH / name).read_text())
    return results


def test_a_table_renders_as_markdown_and_as_aligned_text() -> None:
    table = Table(["case", "req/s"], [6])
    table.add("view", "1,967")
    table.add("a long label", "3")
    assert table.render(markdown=True) == [
        "| case | req/s |",
        "|---|--:|",
        "| view | 1,967 |",
        "| a long label | 3 |",
    ]
    assert table.render(markdown=False) == [
        "| case         | req/s |",
        "|--------------|------:|",
        "| view         | 1,967 |",
        "| a long label |     3 |",
    ]


def test_the_committed_results_are_found() -> None:
    assert {"results.json", "results-background.json"} <= {path.name for path in RESULTS}


def _cells(lines: list[str]) -> list[list[str]]:
    """The cells of every table row, without the alignment or the rule under the titles."""
    return [
        [cell.strip() for cell in line.strip("|").split(" | ")]
        for line in lines
        if line.startswith("| ")
    ]


@pytest.mark.parametrize("path", RESULTS, ids=lambda path: path.name)
def test_text_and_markdown_hold_the_same_figures(path: Path) -> None:
    results = json.loads(path.read_text())
    text = report.render(results, markdown=False).splitlines()
    markdown = report.render(results, markdown=True).splitlines()
    assert text[0] == markdown[0]
    assert text[0].startswith("Measured on ")
    assert _cells(text) == _cells(markdown)
    assert [line for line in text if not line.startswith("|")] == [
        line for line in markdown if not line.startswith("|")
    ]
    assert any(line.startswith("|---|--:|") for line in markdown)
    assert not any(line.startswith("|---|--:|") for line in text)


def test_every_token_case_is_shown_and_the_docs_order_kept() -> None:
    results = _load("results.json")
    assert "ptrack classify()" not in results["tokens"]["per_second"]
    markdown = report.render(results, markdown=True)
    assert "| Verify a token: `ptrack.encoders.decode()` | 124,931 | 8.0 | 2.73x |" in markdown
    assert "ptrack.classify()" not in markdown
    results["tokens"]["per_second"]["a new case"] = 1234.5
    results["tokens"]["median_us"]["a new case"] = 810.0
    rows = _cells(report.render(results, markdown=True).splitlines())
    labels = [row[0] for row in rows]
    assert (
        labels.index("Mint a token: `ptrack.encoders.encode()`")
        < labels.index("The same email without the tag")
        < labels.index("a new case")
    )
    assert ["a new case", "1,234", "810.0", ""] in rows


def test_every_ratio_of_a_run_is_shown() -> None:
    results = _load("results.json")
    rows = {row[0]: row[1:] for row in _cells(report.render(results, markdown=False).splitlines())}
    assert rows["view / bare view, req/s"] == [
        "≥ 0.95",
        "0.97 (0.89 to 1.08)",
        "1.06 (0.78 to 1.11)",
    ]
    for server in ("gunicorn", "uvicorn"):
        for key, value in results["http"]["ratios"][server].items():
            assert any(f"{value:.2f}" in cell for row in rows.values() for cell in row), key
    assert rows["fast path / raw callable (p99, 64 conn)"][0] == ""


def test_the_background_tables() -> None:
    results = _load("results-background.json")
    markdown = report.render(results, markdown=True).splitlines()
    assert "| bare view | 1,907 | 33.3 | 52.1 | 1.00 | 1.00 | 1.9 | 3.5 |" in markdown
    assert (
        "| background, RQ on Redis, pooled, PTRACK_BATCH_SIZE=100 | - | - | 9,564 (20,811) "
        "| 20,525 | 20,811 | 20,811 | 0 | 0 | 0 | 0 |"
    ) in markdown
    assert any("`manage.py db_worker --batch" in line for line in markdown)


def test_a_run_without_wrk_says_so() -> None:
    results = _load("results.json")
    results["http"] = None
    text = report.render(results, markdown=False)
    assert text.endswith("No endpoint figures: wrk was not installed for this run.")


def test_the_store_table() -> None:
    results = _load("results-store.json")
    rows = {row[0]: row[1:] for row in _cells(report.render(results, markdown=True).splitlines())}
    cases = results["store"]["cases"]
    assert len(cases) == 8
    for case in cases:
        label = f"{case['database']}, batches of {case['batch']}"
        if case.get("workers", 1) > 1:
            label += f", {case['workers']} workers at once"
        median, lowest, highest, _stats = rows[label]
        rates = sorted(case["events_per_second"])
        assert (lowest, highest) == (f"{rates[0]:,.0f}", f"{rates[-1]:,.0f}")
        assert median == f"{rates[len(rates) // 2]:,.0f}"


def test_the_store_kill_tables() -> None:
    results = _load("results-store-kill.json")
    k = results["store_kill"]
    rows = {row[0]: row[1:] for row in _cells(report.render(results, markdown=True).splitlines())}
    for label, seen in (
        ("after the drain", k["before_requeue"]),
        ("after `ptrack_store_requeue` and a drain", k["after_requeue"]),
    ):
        assert rows[label] == [
            f"{k['answered']:,}",
            f"{seen['events']:,}",
            f"{seen['lost']:,}",
            f"{seen['duplicated']:,}",
        ]
    after = k["after_requeue"]
    assert rows["people's opens (`opens`)"] == [
        f"{after['answered_by_kind']['person']:,}",
        f"{after['opens_total']:,}",
    ]
    assert rows["machines' loads (`machine_loads:*`)"] == [
        f"{after['answered_by_kind']['machine']:,}",
        f"{after['machine_loads_total']:,}",
    ]


def test_the_store_scale_tables() -> None:
    results = _load("results-store-scale.json")
    s = results["store_scale"]
    rows = {row[0]: row[1:] for row in _cells(report.render(results, markdown=True).splitlines())}
    day = s["stats"]["day"]
    assert rows[f"`stats(campaign, period='day')` ({day['buckets']} buckets)"] == [
        f"{day['ms']['median']:.1f}",
        f"{day['ms']['low']:.1f}",
        f"{day['ms']['high']:.1f}",
        str(day["queries"]),
    ]
    for label, figures in s["admin"].items():
        assert rows[f"admin: {label}"][0] == f"{figures['ms']['median']:.1f}"
    during = s["purge"]["during"]
    assert rows["during the purge"] == [
        f"{during['batches']:,}",
        f"{during['median_ms']:.1f}",
        f"{during['p99_ms']:.1f}",
        f"{during['max_ms']:.1f}",
        str(during["over_100_ms"]),
    ]
    assert s["purge"]["totals_right"]
    assert not any(s["sample"]["mismatches"].values())


@pytest.mark.parametrize(
    "name",
    [
        "results.json",
        "results-background.json",
        "results-inprocess.json",
        "results-inprocess-before.json",
        "results-instructions.json",
        "results-instructions-before.json",
        "results-instructions-modes.json",
        "results-instructions-consent.json",
        "results-instructions-after.json",
        "results-instructions-after-middleware.json",
        "results-instructions-click-before.json",
        "results-instructions-click-after.json",
        "results-store.json",
        "results-store-kill.json",
        "results-store-scale.json",
    ],
)
def test_the_docs_quote_the_committed_run_as_the_formatter_renders_it(name: str) -> None:
    docs = (BENCH.parent / "docs" / "performance.md").read_text()
    assert report.render(_load(name), markdown=True) in docs
