"""bench/inprocess.py: the paired in-process comparison, its round selection and its figures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench import inprocess, instructions, ptrack3_inprocess, report
from ptrack.answers import PIXEL_GIF, PIXEL_HEADERS
from tests.helpers import REPO


def test_the_fastest_half_of_the_rounds_is_kept_by_the_reference_case() -> None:
    times = {"bare view": [5.0, 1.0, 9.0, 2.0, 3.0], "pixel view": [1.0, 1.0, 1.0, 1.0, 1.0]}
    assert inprocess.fast_rounds(times, "bare view") == [1, 3, 4]
    assert inprocess.fast_rounds({"bare view": [4.0]}, "bare view") == [0]


def test_a_comparison_pairs_each_kept_round_with_itself() -> None:
    # Round 1 is slow for both cases: pairing keeps its difference, not its level.
    times = {"bare view": [10e-6, 50e-6, 20e-6], "pixel view": [14e-6, 56e-6, 25e-6]}
    found = inprocess.compare(times, [0, 1, 2], "pixel view", "bare view")
    assert found["extra_us"] == {"median": 5.0, "low": 4.0, "high": 6.0}
    assert found["extra_over_baseline"] == {"median": 0.25, "low": 0.12, "high": 0.4}
    only_first = inprocess.compare(times, [0], "pixel view", "bare view")
    assert only_first["extra_us"] == {"median": 4.0, "low": 4.0, "high": 4.0}


def test_a_short_run_times_whole_requests_and_counts_every_load(tmp_path: Path) -> None:
    # In its own process: the run sets up Django with the benchmark's project.
    out = tmp_path / "results.json"
    command = ["-m", "bench.inprocess", "--rounds", "2", "--requests", "5", "--warm-up", "1"]
    subprocess.run(
        [sys.executable, *command, "--json", str(out)],
        cwd=REPO,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings"},
        check=True,
        capture_output=True,
    )
    results = json.loads(out.read_text())
    for mode in ("startproject middleware", "no middleware"):
        figures = results["inprocess"]["modes"][mode]
        assert figures["recorder_calls"] == 5 * 2 * (5 + 1)  # five recording cases
        assert list(figures["us_per_request"]) == [
            "bare view",
            "pixel view",
            "pixel view, naming a recipient",
            "pixel view, naming a recipient, memory consent source",
            "bare view, labelled request shapes",
            "pixel view, labelled request shapes",
            "bare redirect view",
            "click view",
        ]
        assert figures["us_per_request"]["bare view"]["median"] > 0
        assert figures["kept_rounds"] in ([0], [1])
    text = report.render(results, markdown=False)
    assert "| pixel view, naming a recipient, memory consent source over pixel view " in text
    assert (
        "5 requests per case per round; 120 recorder calls, one for every pixel and click" in text
    )


def test_the_peers_figures_are_read_beside_ours() -> None:
    def figures(extra: float) -> dict[str, object]:
        spread = {"median": extra, "low": extra - 1, "high": extra + 1}
        return {"extra_us": spread, "extra_over_baseline": {"median": 0.5, "low": 0.4, "high": 0.6}}

    ours = {**figures(20.0), "case": "pixel view", "baseline": "bare view"}
    mode = {"us_per_request": {}, "kept_rounds": [0], "recorder_calls": 1, "comparisons": [ours]}
    results = {
        "machine": _MACHINE,
        "inprocess": {
            "rounds": 1,
            "requests_per_batch": 1,
            "seconds": 1,
            "modes": {"no middleware": mode},
            "peer": {
                "versions": {"django-ptrack": "3.0.0", "django": "4.2.27", "python": "3.11"},
                "modes": {"no middleware": {"comparisons": [figures(25.0)]}},
            },
        },
    }
    lines = report.render(results, markdown=True).splitlines()
    assert lines.index(
        "| pixel view over bare view | +20.0 (+19.0 to +21.0) | 0.50 (0.40 to 0.60) |"
    ) + 1 == lines.index(
        "| django-ptrack 3.0.0 view over its bare view (Django 4.2.27, its own environment) "
        "| +25.0 (+24.0 to +26.0) | 0.50 (0.40 to 0.60) |"
    )
    assert (
        "No middleware: the pixel view's extra cost is 0.80 times django-ptrack 3.0.0's "
        "(+20.0 µs against +25.0 µs per request, medians of separate runs)."
    ) in lines


_MACHINE = {
    "cpu": "test",
    "nproc": 2,
    "memory_gib": 1,
    "platform": "test",
    "python": "3",
    "versions": {"django": "5", "itsdangerous": "2"},
    "load_average_at_start": [0.0],
    "load_average_at_end": [0.0],
}


def test_a_case_that_answers_another_status_stops_the_run() -> None:
    case = inprocess.Case("pixel view", _Handler("404 Not Found"), ["/ptrack/x/"])
    with pytest.raises(AssertionError, match="pixel view: 404 Not Found, expected 200 OK"):
        case.requests(1)


class _Handler:
    def __init__(self, status: str) -> None:
        self.status = status

    def __call__(self, environ: dict[str, object], start_response: object) -> _Body:
        start_response(self.status, [])  # type: ignore[operator]
        return _Body()


class _Body(list[bytes]):
    def close(self) -> None:
        pass


def test_the_peers_bare_view_answers_as_ours() -> None:
    # 3.0.0's environment cannot import this project's ptrack: its script spells the
    # bare view's answer out, and must spell what ptrack.answers says.
    assert ptrack3_inprocess.PIXEL_GIF == PIXEL_GIF
    assert ptrack3_inprocess.PIXEL_HEADERS == PIXEL_HEADERS


def test_instruction_counts_are_shown_with_their_differences() -> None:
    results = {
        "machine": _MACHINE,
        "instructions": {
            "requests": 1000,
            "warm_up": 50,
            "seconds": 9,
            "per_request": {"bare view": 700_000, "pixel view": 812_345},
            "comparisons": [
                {
                    "case": "pixel view",
                    "baseline": "bare view",
                    "extra": 112_345,
                    "extra_over_baseline": 0.1604,
                }
            ],
        },
    }
    lines = report.render(results, markdown=True).splitlines()
    assert "| pixel view | 812,345 |" in lines
    assert "| pixel view over bare view | +112,345 | 0.160 |" in lines
    assert lines[-1].startswith("Each figure: a process making 1,000 requests after 50 of warm-up")


def test_callgrinds_totals_are_read() -> None:
    out = b"events: Ir\nsummary: 123\ntotals: 123456789\n"
    assert instructions._TOTALS.search(out)[1] == b"123456789"  # type: ignore[index]


def test_an_unknown_case_to_count_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        instructions.main(["--cases", "pixel view;no such case"])
    assert "not no such case" in capsys.readouterr().err


def test_an_unknown_middleware_mode_to_count_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        instructions.main(["--modes", "no middleware;all the middleware"])
    assert "not all the middleware" in capsys.readouterr().err


def test_each_middleware_mode_is_counted_under_its_own_names(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    counted: list[tuple[str, str, bool]] = []

    def count(case: str, requests: int, folder: Path, mode: str, *, peer: bool = False) -> int:
        counted.append((case, mode, peer))
        extra = {"no middleware": 0, "startproject middleware": 100_000}[mode]
        return requests * (500_000 + extra + (50_000 if case != "bare view" else 0))

    monkeypatch.setattr(instructions, "count_instructions", count)
    found = instructions.instruction_bench(10, cases=["bare view", "pixel view"])
    assert found["per_request"] == {
        "bare view": 600_000,
        "pixel view": 650_000,
        "bare view, no middleware": 500_000,
        "pixel view, no middleware": 550_000,
    }
    assert [(c["case"], c["baseline"], c["extra"]) for c in found["comparisons"]] == [
        ("pixel view", "bare view", 50_000),
        ("pixel view, no middleware", "bare view, no middleware", 50_000),
    ]
    assert {mode for _case, mode, _peer in counted} == set(instructions.MODES)


@pytest.mark.parametrize("peer", [False, True])
def test_the_peer_is_counted_without_this_projects_pythonpath(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, peer: bool
) -> None:
    # With PYTHONPATH=. the peer's process imported this project's ptrack, not 3.0.0's.
    runs: list[dict[str, str]] = []

    def run(command: list[str], **options: Any) -> Any:
        runs.append(options["env"])
        (tmp_path / "callgrind.out").write_bytes(b"totals: 42\n")
        return subprocess.CompletedProcess(command, 0, b"", b"")

    monkeypatch.setenv("PYTHONPATH", ".")
    monkeypatch.setattr(instructions.subprocess, "run", run)
    found = instructions.count_instructions("bare view", 1, tmp_path, "no middleware", peer=peer)
    assert found == 42
    assert ("PYTHONPATH" in runs[0]) is not peer


def test_a_process_failing_under_valgrind_says_why(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def run(command: list[str], **options: Any) -> Any:
        return subprocess.CompletedProcess(command, 1, b"", b"ModuleNotFoundError: itsdangerous")

    monkeypatch.setattr(instructions.subprocess, "run", run)
    why = r"(?s)'bare view' \(no middleware, peer\).*itsdangerous"
    with pytest.raises(RuntimeError, match=why):
        instructions.count_instructions("bare view", 1, tmp_path, "no middleware", peer=True)
