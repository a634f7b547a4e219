"""Instructions per request, counted by valgrind, for the cases of ``bench/inprocess.py``.

Time on a shared two-core machine is noisy at the scale of a microsecond; the
number of instructions a request executes is not. ``python -m bench.instructions``
(``make bench-instructions``, needs Debian's ``valgrind``) runs each case in a
process of its own under ``valgrind --tool=callgrind`` twice, once making
``--requests`` requests after the warm-up and once making none, and divides
the difference by ``--requests``: what the process does to start, set Django up
and warm up cancels out. Hash randomisation is fixed (``PYTHONHASHSEED=0``) so
that both runs lay out their dicts alike. An instruction is no fixed amount of
time, so these figures say which case does more work and by how much, while
``bench/inprocess.py`` says what that costs in microseconds.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results-instructions.json"
WARM_UP = 50

# The cases counted, and the comparisons read from them (case over baseline).
CASES = [
    "bare view",
    "pixel view",
    "pixel view, naming a recipient",
    "pixel view, naming a recipient, memory consent source",
    "bare redirect view",
    "click view",
]
COMPARISONS = [
    ("pixel view", "bare view"),
    ("pixel view, naming a recipient, memory consent source", "pixel view"),
    ("pixel view, naming a recipient", "pixel view"),
    ("pixel view, naming a recipient, memory consent source", "pixel view, naming a recipient"),
    ("click view", "bare redirect view"),
]

_TOTALS = re.compile(rb"^totals: (\d+)$", re.MULTILINE)


# The middleware modes of bench/inprocess.py, and how a case counted in each is named.
MODES = {"startproject middleware": "", "no middleware": ", no middleware"}


def _inside(case_name: str, count: int, mode: str) -> None:
    """In the counted process: set up, warm up, then make ``count`` requests."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django

    django.setup()
    from django.core.handlers.wsgi import WSGIHandler
    from django.test import override_settings

    from bench.inprocess import cases_for

    with override_settings(**({"MIDDLEWARE": []} if mode == "no middleware" else {})):
        handler = WSGIHandler()
    (case,) = [c for c in cases_for(handler) if c.name == case_name]
    with override_settings(**case.settings):
        case.requests(WARM_UP)
        case.requests(count)


PEER_PYTHON = ROOT / ".nox" / "ptrack3_inprocess" / "bin" / "python"
PEER_CASES = ["bare view", "django-ptrack 3.0.0 view"]


def count_instructions(
    case: str, requests: int, folder: Path, mode: str, *, peer: bool = False
) -> int:
    """The instructions a process making ``requests`` requests of ``case`` in ``mode``
    executes; with ``peer``, a case of ``bench/ptrack3_inprocess.py`` in 3.0.0's environment."""
    out = folder / "callgrind.out"
    command = (
        [str(PEER_PYTHON), str(ROOT / "bench" / "ptrack3_inprocess.py"), "--only", case,
         "--warm-up", str(WARM_UP), "--mode", mode]
        if peer
        else [sys.executable, "-m", "bench.instructions", "--inside", case, "--mode", mode]
    )  # fmt: skip
    # Recorders count in shared memory, as in bench/inprocess.py, under the folder.
    env = {**os.environ, "PYTHONHASHSEED": "0", "BENCH_COUNTER": str(folder / "count")}
    if peer:
        # A PYTHONPATH naming this project would put its ptrack before 3.0.0's.
        env.pop("PYTHONPATH", None)
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
         *command, "--requests", str(requests)],
        cwd=ROOT,
        env=env,
        capture_output=True,
    )  # fmt: skip
    if done.returncode:
        # Say why: the figures of the cases counted so far are printed above.
        raise RuntimeError(
            f"{case!r} ({mode}{', peer' if peer else ''}) exited with {done.returncode} "
            f"under valgrind:\n{done.stderr.decode(errors='replace')[-4000:]}"
        )
    found = _TOTALS.search(out.read_bytes())
    if found is None:
        raise RuntimeError(f"no totals in {out} for {case!r}")
    out.unlink()
    return int(found[1])


def instruction_bench(
    requests: int,
    *,
    peer: bool = False,
    cases: list[str] | None = None,
    modes: list[str] | None = None,
) -> dict[str, Any]:
    per_request: dict[str, float] = {}
    cases = cases or CASES
    comparisons: list[tuple[str, str]] = []
    if peer:
        subprocess.run(
            [sys.executable, "-m", "nox", "-s", "ptrack3_inprocess", "--install-only"],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
    with tempfile.TemporaryDirectory() as folder:
        for mode in modes or list(MODES):
            named = MODES[mode]
            for case in cases:
                per_request[case + named] = _per_request(case, requests, Path(folder), mode)
            found = [(a + named, b + named) for a, b in COMPARISONS if a in cases and b in cases]
            if peer:
                bare, view = (
                    f"{name}, django-ptrack 3.0.0's environment{named}" for name in PEER_CASES
                )
                per_request[bare] = _per_request(PEER_CASES[0], requests, Path(folder), mode, True)
                per_request[view] = _per_request(PEER_CASES[1], requests, Path(folder), mode, True)
                found.insert(1, (view, bare))
            comparisons += found
    return {
        "requests": requests,
        "warm_up": WARM_UP,
        "per_request": {case: round(value) for case, value in per_request.items()},
        "comparisons": [
            {
                "case": case,
                "baseline": baseline,
                "extra": round(per_request[case] - per_request[baseline]),
                "extra_over_baseline": round(
                    (per_request[case] - per_request[baseline]) / per_request[baseline], 4
                ),
            }
            for case, baseline in comparisons
        ],
    }


def _per_request(case: str, requests: int, folder: Path, mode: str, peer: bool = False) -> float:
    started = time.monotonic()
    none = count_instructions(case, 0, folder, mode, peer=peer)
    some = count_instructions(case, requests, folder, mode, peer=peer)
    found = (some - none) / requests
    elapsed = time.monotonic() - started
    label = f"{case}{MODES[mode]}{' (peer)' if peer else ''}"
    print(f"{label}: {found:,.0f} per request ({elapsed:.0f} s)")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000, help="counted requests (1000)")
    parser.add_argument("--json", type=Path, default=RESULTS, help=str(RESULTS.relative_to(ROOT)))
    parser.add_argument(
        "--peer", action="store_true", help="also django-ptrack 3.0.0's view (nox, PyPI)"
    )
    parser.add_argument(
        "--cases", type=lambda text: text.split(";"), help="';'-separated cases (all of them)"
    )
    parser.add_argument(
        "--modes",
        type=lambda text: text.split(";"),
        help="';'-separated middleware modes (both: startproject middleware; no middleware)",
    )
    parser.add_argument("--inside", metavar="CASE", help=argparse.SUPPRESS)
    parser.add_argument("--mode", default="startproject middleware", help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    unknown = set(options.cases or ()) - set(CASES)
    if unknown:
        parser.error(f"--cases takes some of {'; '.join(CASES)}, not {'; '.join(unknown)}")
    modes = set(options.modes or ()) | {options.mode}
    if modes - set(MODES):
        parser.error(
            f"--modes takes some of {'; '.join(MODES)}, not {'; '.join(modes - set(MODES))}"
        )
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    if options.inside:
        _inside(options.inside, options.requests, options.mode)
        return 0
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed: `apt-get install valgrind` (Debian), then run again.")
    from bench import report
    from bench.machine import machine

    results: dict[str, Any] = {"machine": machine(), "command": " ".join(sys.argv)}
    started = time.monotonic()
    results["instructions"] = instruction_bench(
        options.requests, peer=options.peer, cases=options.cases, modes=options.modes
    )
    results["instructions"]["seconds"] = round(time.monotonic() - started)
    results["machine"]["load_average_at_end"] = os.getloadavg()
    out = subprocess.run(["valgrind", "--version"], capture_output=True, text=True).stdout
    results["machine"]["versions"]["valgrind"] = out.strip()
    options.json.write_text(json.dumps(results, indent=2) + "\n")
    print(report.render(results, markdown=False))
    print(f"\nWrote {options.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
