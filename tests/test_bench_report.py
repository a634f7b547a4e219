"""bench/report.py: the benchmark's tables, as text and as the Markdown of docs/performance.md."""

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


@pytest.mark.parametrize("path", RESULTS, ids=lambda path: path.name)
def test_every_committed_results_file_renders(path: Path) -> None:
    results = json.loads(path.read_text())
    text, markdown = report.text(results), report.markdown(results)
    assert text.startswith("Machine: ")
    assert markdown.startswith("Measured on ")


def test_markdown_leaves_out_a_token_case_the_run_did_not_measure() -> None:
    results = _load("results.json")
    assert "ptrack classify()" not in results["tokens"]["per_second"]
    markdown = report.markdown(results)
    assert "| Verify a token: `ptrack.encoders.decode()` | 124,931 | 8.0 | **2.73x** |" in markdown
    assert "ptrack.classify()" not in markdown


def test_the_background_tables() -> None:
    results = _load("results-background.json")
    markdown = report.markdown(results).splitlines()
    assert "| bare view | 1,907 | 33.3 | 52.1 | 1.00 | 1.00 | 1.9 | 3.5 |" in markdown
    assert (
        "| background, RQ on Redis, pooled, PTRACK_BATCH_SIZE=100 | - | - | 9,564 (20,811) "
        "| 20,525 | 20,811 | 20,811 | 0 |"
    ) in markdown
    text = report.text(results).splitlines()
    assert "| case" in text[3]
    assert "inline recorder / bare view (req/s) = 0.046" in text
