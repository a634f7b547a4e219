"""Load test: a real gunicorn server on 127.0.0.1, hundreds of connections, nothing lost.

    make loadtest                                   # the defaults below
    .venv/bin/python loadtest/run.py --connections 300 --requests 30000 [--fastpath]

Starts gunicorn (gthread workers) on a loopback port with the small
project in ``loadtest/ltproject``, whose only recorder appends one line per
event to a file. Every connection is opened before the first request and kept
alive; requests mix genuine links (each with its own id), HEADs of genuine
links, and invalid tokens of several kinds. At the end it asserts:

- no 5xx, no other unexpected status, no connection error, every pixel body intact;
- recorder calls == genuine GETs answered, with each id recorded exactly once;
- worker memory (RSS) after the run within ``--rss-slack`` MiB of before it.

Everything is bounded: a fixed number of requests, a wall-clock limit
(``--time-limit``) after which no new request starts, per-request timeouts,
and the server is stopped on exit. Exit status 0 means every assertion held.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote

HERE = Path(__file__).resolve().parent
PIXEL_BYTES = 43


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    valid_id: int | None  # the id a genuine link carries, None for a bad token
    kind: str


@dataclass
class Tally:
    statuses: Counter[int] = field(default_factory=Counter)
    kinds: Counter[str] = field(default_factory=Counter)
    served_ids: list[int] = field(default_factory=list)
    bad_bodies: int = 0
    connection_errors: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)


def make_requests(count: int, seed: int) -> list[Request]:
    """Genuine and bad requests, shuffled; tokens come from the project's own settings."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "ltproject.settings"
    sys.path.insert(0, str(HERE))
    import django

    django.setup()
    from django.test import override_settings
    from freezegun import freeze_time

    from ptrack import tokens

    rng = random.Random(seed)
    expired = []
    with freeze_time(datetime(2020, 1, 1, tzinfo=timezone.utc)):
        expired = [tokens.dumps(["load"], {"n": -1}, max_age=60)]
    with override_settings(PTRACK_SECRET="another-site-" + "k" * 50):
        foreign = tokens.dumps(["load"], {"n": -2})
    genuine = tokens.dumps(["load"], {"n": -3})
    bad = {
        "tampered": genuine[:-2] + ("AA" if not genuine.endswith("AA") else "BB"),
        "truncated": genuine[:-1],
        "random": "".join(rng.choice("abcdefXYZ0123-_.") for _ in range(60)),
        "expired": expired[0],
        "foreign key": foreign,
        "over the cap": "A" * 1500,
        "percent junk": quote("%00\xff\r\n<x>../", safe=""),
    }
    requests = []
    for i in range(count):
        roll = rng.random()
        if roll < 0.5:
            path = "/ptrack/" + tokens.dumps(["load"], {"n": i}) + "/"
            requests.append(Request("GET", path, i, "genuine GET"))
        elif roll < 0.55:
            path = "/ptrack/" + tokens.dumps(["load"], {"n": i}) + "/"
            requests.append(Request("HEAD", path, None, "genuine HEAD"))
        else:
            kind = rng.choice(sorted(bad))
            requests.append(Request("GET", "/ptrack/" + bad[kind] + "/", None, kind))
    return requests


def listener() -> socket.socket:
    """A socket listening on a port the system picks, for gunicorn to inherit (``fd://``).

    Bound here and handed over open, the port cannot be taken between choosing and serving.
    """
    return socket.create_server(("127.0.0.1", 0), backlog=2048)


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return sorted(found)


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


async def one(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, req: Request, host: str
) -> tuple[int, bytes]:
    writer.write(
        f"{req.method} {req.path} HTTP/1.1\r\nHost: {host}\r\n"
        f"User-Agent: ptrack-loadtest\r\n\r\n".encode()
    )
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    body = b"" if req.method == "HEAD" else await reader.readexactly(length)
    return status, body


async def drive(
    requests: list[Request], port: int, connections: int, deadline: float, tally: Tally
) -> float:
    host = f"127.0.0.1:{port}"
    queue = iter(requests)
    opened = await asyncio.gather(
        *(asyncio.open_connection("127.0.0.1", port) for _ in range(connections))
    )
    started = time.monotonic()

    async def worker(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for req in queue:
            if time.monotonic() > deadline:
                return
            t0 = time.monotonic()
            try:
                status, body = await asyncio.wait_for(one(reader, writer, req, host), 30)
            except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError) as e:
                tally.connection_errors.append(f"{req.kind}: {e!r}")
                return  # no retry: a retried genuine load could be recorded twice
            tally.latencies.append(time.monotonic() - t0)
            tally.statuses[status] += 1
            tally.kinds[req.kind] += 1
            if req.method == "GET" and status == 200 and len(body) != PIXEL_BYTES:
                tally.bad_bodies += 1
            if req.valid_id is not None and status == 200:
                tally.served_ids.append(req.valid_id)

    try:
        await asyncio.gather(*(worker(r, w) for r, w in opened))
    finally:
        for _, writer in opened:
            writer.close()
    return time.monotonic() - started


def get(port: int, path: str) -> int:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
        return int(s.recv(64).split()[1])


def wait_until_up(port: int, server: subprocess.Popen[bytes], limit: float = 30) -> None:
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited with status {server.returncode}")
        try:
            get(port, "/ptrack/warmup/")
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"gunicorn did not answer within {limit}s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--connections", type=int, default=300)
    parser.add_argument("--requests", type=int, default=30_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--time-limit", type=float, default=180, help="seconds of load at most")
    parser.add_argument("--warmup", type=int, default=2_000)
    parser.add_argument("--rss-slack", type=float, default=10, help="MiB per worker")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--fastpath", action="store_true", help="wrap it in WSGIFastPath")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    print(f"Preparing {args.requests} requests...", flush=True)
    requests = make_requests(args.requests, args.seed)
    work = Path(tempfile.mkdtemp(prefix="ptrack-loadtest-"))
    events, server_log = work / "events.txt", work / "server.log"
    sock = listener()
    port = sock.getsockname()[1]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "ltproject.settings",
        "PTRACK_LOADTEST_EVENTS": str(events),
        "PTRACK_LOADTEST_FASTPATH": "1" if args.fastpath else "",
    }
    command = [
        sys.executable, "-m", "gunicorn", "ltproject.wsgi:application",
        "--chdir", str(HERE), "--bind", f"fd://{sock.fileno()}",
        "--worker-class", "gthread", "--workers", str(args.workers),
        "--threads", str(args.threads), "--worker-connections", str(args.connections * 2),
        "--backlog", "2048", "--keep-alive", "60", "--timeout", "60",
    ]  # fmt: skip
    with server_log.open("wb") as log:
        server = subprocess.Popen(
            command, env=env, stdout=log, stderr=subprocess.STDOUT, pass_fds=[sock.fileno()]
        )
    sock.close()  # gunicorn holds its own copy: once it exits, connections are refused
    try:
        wait_until_up(port, server)
        warm = make_requests(args.warmup, args.seed + 1)
        warm = [r for r in warm if r.valid_id is None]  # keep the event file for the run
        asyncio.run(drive(warm, port, 20, time.monotonic() + 60, Tally()))
        workers = children(server.pid)
        rss_before = {pid: rss_mib(pid) for pid in workers}
        print(f"gunicorn on 127.0.0.1:{port}, workers {workers}; load starts", flush=True)
        tally = Tally()
        deadline = time.monotonic() + args.time_limit
        elapsed = asyncio.run(drive(requests, port, args.connections, deadline, tally))
        rss_after = {pid: rss_mib(pid) for pid in workers if Path(f"/proc/{pid}").exists()}
        workers_after = children(server.pid)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=30)

    recorded = Counter(int(line) for line in events.read_text().split()) if events.exists() else {}
    served = Counter(tally.served_ids)
    answered = sum(tally.statuses.values())
    log_text = server_log.read_text(errors="replace")
    latencies = sorted(tally.latencies) or [0.0]
    figures = {
        "front end": "ptrack.fastpath.WSGIFastPath" if args.fastpath else "Django view",
        "connections": args.connections,
        "requests planned": args.requests,
        "requests answered": answered,
        "seconds": round(elapsed, 1),
        "requests per second": round(answered / elapsed) if elapsed else 0,
        "p50 ms": round(latencies[len(latencies) // 2] * 1000, 1),
        "p99 ms": round(latencies[int(len(latencies) * 0.99)] * 1000, 1),
        "statuses": dict(sorted(tally.statuses.items())),
        "5xx": sum(n for status, n in tally.statuses.items() if status >= 500),
        "requests by kind": dict(sorted(tally.kinds.items())),
        "genuine GETs answered": sum(served.values()),
        "recorder calls": sum(recorded.values()),
        "events lost": sum((served - recorded).values()),
        "events recorded twice or unasked": sum((recorded - served).values()),
        "connection errors": len(tally.connection_errors),
        "bad pixel bodies": tally.bad_bodies,
        "worker RSS MiB before": {pid: round(v, 1) for pid, v in rss_before.items()},
        "worker RSS MiB after": {pid: round(v, 1) for pid, v in rss_after.items()},
        "workers restarted": workers_after != workers,
        "server log errors": log_text.count("Traceback") + log_text.count("[ERROR]"),
    }
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")

    failures = []
    if figures["5xx"] or set(tally.statuses) - {200}:
        failures.append(f"unexpected statuses {dict(tally.statuses)}")
    if tally.connection_errors:
        failures.append(f"connection errors, first: {tally.connection_errors[:3]}")
    if tally.bad_bodies:
        failures.append(f"{tally.bad_bodies} GETs without the 43-byte pixel")
    if served != recorded:
        failures.append(
            f"recorder calls {sum(recorded.values())} != genuine GETs answered "
            f"{sum(served.values())} (lost {figures['events lost']}, "
            f"extra {figures['events recorded twice or unasked']})"
        )
    if answered != args.requests:
        failures.append(f"only {answered} of {args.requests} requests ran before the time limit")
    if workers_after != workers:
        failures.append(f"workers changed from {workers} to {workers_after}")
    for pid, before in rss_before.items():
        after = rss_after.get(pid, before)
        if after - before > args.rss_slack:
            failures.append(f"worker {pid} RSS grew {before:.1f} -> {after:.1f} MiB")
    if figures["server log errors"]:
        failures.append(f"server log has errors; see {server_log}")
    for failure in failures:
        print("FAIL:", failure)
    if failures:
        print(f"Kept the event file and server log in {work}.")
        return 1
    shutil.rmtree(work)
    print("OK: zero 5xx, no event lost, memory flat.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
