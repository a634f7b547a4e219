"""Instrumenting a whole email: ``python -m bench.instrument`` (part of ``make bench``).

One 100 KB marketing email with 50 links, instrumented per recipient by
``ptrack.instrument_html`` and by pytracking's ``adapt_html`` (lxml) in the
same run, rounds alternating between them. Reports the median CPU time per email
of each, their ratio, and the links each one rewrote, which must be equal.
pytracking is measured with its default configuration (links base64-encoded,
neither signed nor encrypted) and with a Fernet key (encrypted, as ptrack's
are signed). Writes ``bench/results-instrument.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

LINKS = 50
SIZE = 100_000
OUT = Path(__file__).resolve().parent / "results-instrument.json"
CLICK_BASE = "https://track.example.com/c/"
OPEN_BASE = "https://track.example.com/o/"

_PARTS = Path(__file__).resolve().parent / "templates" / "instrument"


def _part(name: str) -> str:
    return (_PARTS / f"{name}.html").read_text(encoding="utf-8")


def email(links: int = LINKS, size: int = SIZE) -> str:
    """A marketing email of about ``size`` characters with ``links`` trackable links."""
    head, product, filler, tail = (_part(name) for name in ("head", "product", "filler", "tail"))
    products = "".join(product.format(i=i, price=19 + i, old=29 + i) for i in range(1, links + 1))
    html = head + products + tail
    fillers = max(0, (size - len(html)) // len(filler) + 1)
    return head + products + filler * fillers + tail


def _per_email(func: Callable[[], Any], count: int) -> float:
    # CPU time of this process: the work is single-threaded and CPU-bound, and
    # on a shared machine wall time would mostly measure the neighbours.
    started = time.process_time()
    for _ in range(count):
        func()
    return (time.process_time() - started) / count


def measure(rounds: int, count: int) -> dict[str, Any]:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    django.setup()
    import pytracking
    from cryptography.fernet import Fernet
    from pytracking.html import adapt_html

    import ptrack
    from ptrack.instrument import url_prefixes

    html = email()
    data = {"campaign_id": 42, "recipient_id": 123456}
    pixel = ptrack.Pixel("campaign", **data)
    plain = pytracking.Configuration(
        base_open_tracking_url=OPEN_BASE, base_click_tracking_url=CLICK_BASE
    )
    encrypted = pytracking.Configuration(
        base_open_tracking_url=OPEN_BASE,
        base_click_tracking_url=CLICK_BASE,
        encryption_bytestring_key=Fernet.generate_key(),
    )
    cases: dict[str, Callable[[], str]] = {
        "ptrack": lambda: ptrack.instrument_html(html, pixel),
        "pytracking": lambda: adapt_html(html, data, configuration=plain),
        "pytracking-fernet": lambda: adapt_html(html, data, configuration=encrypted),
    }
    click_prefix = url_prefixes()[0]
    links = {
        "ptrack": cases["ptrack"]().count('href="' + click_prefix),
        "pytracking": cases["pytracking"]().count('href="' + CLICK_BASE),
        "pytracking-fernet": cases["pytracking-fernet"]().count('href="' + CLICK_BASE),
    }
    load_before = os.getloadavg()[0]
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(rounds):
        for name, func in cases.items():  # alternating, so drift hits every case alike
            times[name].append(_per_email(func, count))
    medians = {name: statistics.median(values) for name, values in times.items()}
    versions = {
        package: metadata.version(package)
        for package in ("django", "itsdangerous", "lxml", "pytracking", "cryptography")
    }
    return {
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "versions": versions,
        "load_average": [round(load_before, 1), round(os.getloadavg()[0], 1)],
        "email_bytes": len(html.encode()),
        "links_in_email": LINKS,
        "links_rewritten": links,
        "rounds": rounds,
        "emails_per_round": count,
        "median_ms_per_email": {name: value * 1000 for name, value in medians.items()},
        "all_ms_per_email": {
            name: [round(v * 1000, 3) for v in values] for name, values in times.items()
        },
        "speedup_vs_pytracking": medians["pytracking"] / medians["ptrack"],
        "speedup_vs_pytracking_fernet": medians["pytracking-fernet"] / medians["ptrack"],
    }


def report(result: dict[str, Any]) -> str:
    ms = result["median_ms_per_email"]
    links = result["links_rewritten"]
    lines = [
        f"instrument_html: {result['email_bytes'] / 1000:.0f} KB email, "
        f"{result['links_in_email']} links, median of {result['rounds']} rounds "
        f"x {result['emails_per_round']} emails",
        f"  {'case':<20}{'ms/email':>10}{'links':>8}",
    ]
    for name in ms:
        lines.append(f"  {name:<20}{ms[name]:>10.2f}{links[name]:>8}")
    lines.append(
        f"  ptrack is {result['speedup_vs_pytracking']:.1f}x as fast as pytracking "
        f"({result['speedup_vs_pytracking_fernet']:.1f}x with its Fernet encryption)"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15, help="alternating rounds (15)")
    parser.add_argument("--count", type=int, default=20, help="emails per case per round (20)")
    parser.add_argument("--json", type=Path, default=OUT, help=f"results file ({OUT.name})")
    args = parser.parse_args(argv)
    result = measure(args.rounds, args.count)
    print(report(result))
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    if len(set(result["links_rewritten"].values())) != 1:
        print("FAIL: the cases rewrote different numbers of links", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
