"""Load generation: wrk over many distinct paths, with the request headers of real loads.

``wrk()`` runs ``bench/wrk.lua`` against one target and checks, for a pixel
target, that every successful response reached the recorder;
``summarise()`` reduces the runs of each case to medians and totals.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.counter import total as counted
from bench.servers import Server

WRK_SCRIPT = Path(__file__).resolve().with_name("wrk.lua")

# Sent with every image request a mail client or browser makes, beside its User-Agent.
IMAGE_REQUEST_HEADERS = {
    "Accept": "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8",
    "Accept-Encoding": "gzip, deflate, br",
    "Accept-Language": "en-US,en;q=0.9",
}


@dataclass
class Target:
    label: str  # what the table calls it
    server: Server
    path_prefix: str  # /ptrack/, /bare/, /ptrack/c/ or /bare302/
    records: bool  # whether every 200 must reach the recorder


def write_paths(path: Path, prefix: str, tokens: Iterable[str]) -> Path:
    """Write one ``{prefix}{token}/`` path a line, for wrk to cycle through."""
    path.write_text("".join(f"{prefix}{token}/\n" for token in tokens))
    return path


def request_header_sets() -> tuple[list[dict[str, str]], int]:
    """One header set per labelled request shape in tests/data, and how many were skipped.

    Real loads carry a User-Agent and the headers the classifier reads; loads
    without them would leave the classifier nothing to do. Shapes whose headers
    are not printable ASCII are skipped, to keep the load to what every server parses.
    """
    from bench.score_classifier import load_shapes

    sets, skipped = [], 0
    for shape in load_shapes():
        headers = dict(IMAGE_REQUEST_HEADERS)
        if shape.user_agent:
            headers["User-Agent"] = shape.user_agent
        headers.update(shape.headers)
        if all(f"{n}: {v}".isascii() and f"{n}: {v}".isprintable() for n, v in headers.items()):
            sets.append(headers)
        else:
            skipped += 1
    return sets, skipped


def write_header_sets(path: Path) -> dict[str, Any]:
    """Write ``request_header_sets()`` for wrk to cycle, and say what was written.

    Every case, the bare ones too, gets the same sets, so both sides of a ratio
    parse the same headers. The client address stays 127.0.0.1: the network
    lists are searched all the same.
    """
    sets, skipped = request_header_sets()
    path.write_text(
        "".join("".join(f"{n}: {v}\n" for n, v in headers.items()) + "\n" for headers in sets)
    )
    return {
        "count": len(sets),
        "skipped_not_printable_ascii": skipped,
        "distinct_user_agents": len({headers.get("User-Agent", "") for headers in sets}),
    }


def wrk(
    target: Target,
    paths_file: Path,
    connections: int,
    seconds: int,
    headers_file: Path | None = None,
) -> dict[str, Any]:
    url = f"http://127.0.0.1:{target.server.port}"
    cmd = [
        "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s",
        "-s", str(WRK_SCRIPT), url, "--", str(paths_file),
    ]  # fmt: skip
    if headers_file is not None:
        cmd.append(str(headers_file))
    before = counted(target.server.counter)
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30, check=True)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    errors = sum(result[k] for k in ("connect", "read", "write", "status", "timeout"))
    ok = result["requests"] - result["status"]
    result["errors"] = errors
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    if target.records:
        time.sleep(0.3)  # requests in flight when wrk stopped still reach the recorder
        calls = counted(target.server.counter) - before
        result["recorder_calls"] = calls
        # wrk stops counting with up to `connections` requests still being answered.
        result["lost"] = max(0, ok - calls)
    return result


def summarise(runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Per case: the medians of its runs, their totals, and the runs themselves."""
    summary = {}
    for key, values in runs.items():
        entry: dict[str, Any] = {
            "rps": statistics.median(v["rps"] for v in values),
            "p50_ms": statistics.median(v["p50_us"] for v in values) / 1000,
            "p99_ms": statistics.median(v["p99_us"] for v in values) / 1000,
            "errors": sum(v["errors"] for v in values),
            "requests": sum(v["requests"] for v in values),
            "runs": values,
        }
        if "lost" in values[0]:
            entry["recorder_calls"] = sum(v["recorder_calls"] for v in values)
            entry["lost"] = sum(v["lost"] for v in values)
        summary[key] = entry
    return summary
