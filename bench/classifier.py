"""Time ptrack.classify() and the network lookups behind it.

    python -m bench.classifier [--ranges 300000] [--rounds 5] [--json PATH]

1. classify() per call over the labelled request shapes in tests/data: once
   with each User-Agent already seen (the steady state: a site sees the same
   few hundred User-Agents again and again), once with every call analysing
   its User-Agent from scratch.
2. A Private Relay egress list of --ranges generated prefixes (four in five
   IPv4 /26-/31, one in five IPv6 /64, as Apple's list is made of), written
   in Apple's CSV format: the time and memory to load it, and the time of one
   lookup, for addresses inside and outside it.

Medians of per-call CPU times of the calling thread; load times are wall-clock.
Nothing here runs in the test suite.
"""

from __future__ import annotations

import argparse
import gc
import ipaddress
import json
import os
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from bench.score_classifier import RELAY_SAMPLE, Shape, load_shapes
from ptrack.classifier import Classification, Kind

BATCH = 200


def _per_call_ns(func: Callable[[], Any], rounds: int) -> float:
    """The median over ``rounds`` of the mean CPU time of one call in a batch of BATCH.

    The calling thread's CPU time, not the wall clock: on a machine shared with
    other work, waiting for a core is not the classifier's cost.
    """
    times = []
    for _ in range(rounds):
        start = time.thread_time_ns()
        for _ in range(BATCH):
            func()
        times.append((time.thread_time_ns() - start) / BATCH)
    return statistics.median(times)


def cycling_classify() -> Callable[[], Any]:
    """One classify() call per invocation, cycling the labelled shapes (for bench.tokens)."""
    import itertools

    from ptrack.classifier import classify

    shapes = itertools.cycle(load_shapes())

    def call() -> Any:
        shape = next(shapes)
        return classify(
            shape.user_agent,
            shape.headers,
            shape.ip,
            method=shape.method,
            seconds_since_issued=shape.seconds_since_issued,
        )

    return call


def classify_bench(shapes: list[Shape], rounds: int) -> dict[str, float]:
    from ptrack.classifier import classify, engine

    def call(shape: Shape) -> Callable[[], Any]:
        return lambda: classify(
            shape.user_agent,
            shape.headers,
            shape.ip,
            method=shape.method,
            seconds_since_issued=shape.seconds_since_issued,
        )

    warm = [_per_call_ns(call(shape), rounds) for shape in shapes]
    remembered = engine.Rules._facts
    # Every call analyses its User-Agent afresh, as for one never seen before.
    engine.Rules._facts = lambda self, ua: engine._UAFacts(ua)  # type: ignore[method-assign]
    try:
        cold = [_per_call_ns(call(shape), rounds) for shape in shapes]
    finally:
        engine.Rules._facts = remembered  # type: ignore[method-assign]
    return {
        "shapes": len(shapes),
        "seen_ua_median_us": statistics.median(warm) / 1000,
        "seen_ua_p90_us": statistics.quantiles(warm, n=10)[-1] / 1000,
        "new_ua_median_us": statistics.median(cold) / 1000,
        "new_ua_p90_us": statistics.quantiles(cold, n=10)[-1] / 1000,
    }


def _egress_csv(path: Path, count: int, rng: random.Random) -> list[str]:
    """Write ``count`` prefixes in Apple's format; return some addresses inside them."""
    inside = []
    with path.open("w", encoding="utf-8") as out:
        for n in range(count):
            if n % 5 == 4:
                high = rng.getrandbits(48) | (0x2A02 << 48)
                net: Any = ipaddress.IPv6Network(((high << 64), 64))
            else:
                prefix = rng.randint(26, 31)
                base = rng.getrandbits(32) & ~((1 << (32 - prefix)) - 1)
                net = ipaddress.IPv4Network((base, prefix))
            out.write(f"{net},US,US-CA,Los Angeles,\n")
            if n % 97 == 0:
                inside.append(str(net.network_address + 1))
    return inside


def networks_bench(count: int, rounds: int) -> dict[str, float]:
    from ptrack.classifier import load_private_relay

    rng = random.Random(12)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "egress-ip-ranges.csv"
        inside = _egress_csv(path, count, rng)
        file_bytes = os.path.getsize(path)
        gc.collect()
        start = time.perf_counter()
        networks = load_private_relay(str(path))
        load_seconds = time.perf_counter() - start
        del networks
        gc.collect()
        tracemalloc.start()  # a second load, traced: tracing slows allocation down
        networks = load_private_relay(str(path))
        retained, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    outside = [str(ipaddress.IPv4Address(rng.getrandbits(32))) for _ in range(len(inside))]
    assert all(networks.lookup(ip) is not None for ip in inside)

    def cycling(items: list[str]) -> Callable[[], Any]:
        it = iter(items * (BATCH * rounds // len(items) + 2))
        return lambda: networks.lookup(next(it))

    return {
        "prefixes": count,
        "ranges_kept": len(networks),
        "file_mb": file_bytes / 1e6,
        "load_seconds": load_seconds,
        "retained_mb": retained / 1e6,
        "peak_while_loading_mb": peak / 1e6,
        "lookup_inside_median_ns": _per_call_ns(cycling(inside), rounds),
        "lookup_outside_median_ns": _per_call_ns(cycling(outside), rounds),
        "lookup_ipv6_median_ns": _per_call_ns(cycling(["2a02:26f7:b3c0:4000::1"]), rounds),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--ranges", type=int, default=300_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)

    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure(PTRACK_PRIVATE_RELAY_FILE=str(RELAY_SAMPLE), USE_TZ=True)
        django.setup()

    results = {
        "python": sys.version.split()[0],
        "classify": classify_bench(load_shapes(), args.rounds),
        "networks": networks_bench(args.ranges, args.rounds),
    }
    c, n = results["classify"], results["networks"]
    print(f"classify() over {c['shapes']} request shapes, median (p90) per call:")
    print(f"  User-Agent seen before: {c['seen_ua_median_us']:.2f} us ({c['seen_ua_p90_us']:.2f})")
    print(f"  User-Agent new:         {c['new_ua_median_us']:.2f} us ({c['new_ua_p90_us']:.2f})")
    print(f"Egress list of {n['prefixes']:,} prefixes ({n['file_mb']:.1f} MB CSV):")
    print(f"  load {n['load_seconds']:.2f} s; {n['ranges_kept']:,} ranges kept")
    print(f"  memory retained {n['retained_mb']:.1f} MB, peak {n['peak_while_loading_mb']:.1f} MB")
    print(
        f"  lookup median: inside {n['lookup_inside_median_ns']:.0f} ns, "
        f"outside {n['lookup_outside_median_ns']:.0f} ns, IPv6 {n['lookup_ipv6_median_ns']:.0f} ns"
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())


_CONSTANT = Classification(Kind.HUMAN, "constant")


def constant(
    user_agent: str,
    headers: Mapping[str, str],
    ip: str | None,
    *,
    method: str = "GET",
    seconds_since_issued: float | None = None,
) -> Classification:
    """A ``PTRACK_CLASSIFIER`` that looks at nothing: the endpoint's cost without classifying."""
    return _CONSTANT
