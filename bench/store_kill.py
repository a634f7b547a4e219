"""Nothing lost, nothing counted twice: the store under load, its task worker killed mid-run.

    python -m bench.store_kill [--seconds 60] [--kills 2] [--clients 12] [--batch 100]
                               [--json bench/results-store-kill.json]
    python -m bench.store_kill --markdown bench/results-store-kill.json

A throwaway PostgreSQL cluster (tests/postgres.py) holds the store and django-tasks-db's
queue. gunicorn (two sync workers, ``bench.settings_store``) serves the pixel, the store
its only recorder, batched ``--batch`` events per task; one ``db_worker`` records. A
client loads a distinct message's pixel per request, three in four with a browser's
User-Agent (a person's open), one in four with a security scanner's (a machine's load),
and counts the loads answered 200 with the pixel. During the run the worker is killed
``--kills`` times with SIGKILL, each time while it runs a task, and started again. After
the load, gunicorn stops gracefully (enqueueing what its workers gathered) and the worker
drains the queue. The store is then compared with the answered loads, message by message
and counter by counter; then ``manage.py ptrack_store_requeue`` queues again the tasks the
killed workers left running, the worker drains again, and the store is compared again.
"""

from __future__ import annotations

import argparse
import itertools
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench import report
from bench.machine import machine
from bench.servers import ROOT, Server, start, stop, stop_process, wait_ready

CAMPAIGN = "kill-test"
BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
SCANNER = "Mozilla/5.0 (compatible; Barracuda Sentinel (EE))"
WORKER = ["db_worker", "--interval", "0.05", "--no-startup-delay"]


def _is_machine(n: int) -> bool:
    return n % 4 == 0


class Client:
    """Loads message ``n``'s pixel for n = 0, 1, ... from ``threads`` threads until stopped,
    one request per connection (gunicorn's sync workers close it after each answer).

    Raw sockets and requests written beforehand: the client shares the machine's two
    CPUs with everything it measures, so it keeps to the least work per load.
    """

    def __init__(self, port: int, paths: list[str], pixel: bytes, threads: int) -> None:
        self.port, self.pixel = port, pixel
        self.requests = [
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"User-Agent: {SCANNER if _is_machine(n) else BROWSER}\r\n"
            "Connection: close\r\n\r\n".encode()
            for n, path in enumerate(paths)
        ]
        self.answered: set[int] = set()
        self.unanswered: Counter[str] = Counter()  # why, for loads not answered with the pixel
        self._numbers = itertools.count()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run) for _ in range(threads)]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def _load(self, request: bytes) -> str | None:
        """Why the load was not answered with the pixel; None if it was."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=30) as connection:
                connection.sendall(request)
                chunks = []
                while chunk := connection.recv(65536):
                    chunks.append(chunk)
        except OSError as error:
            return type(error).__name__
        head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
        status = head.split(b" ", 2)[1].decode() if head.count(b" ") >= 2 else "no status"
        return None if status == "200" and body == self.pixel else status

    def _run(self) -> None:
        while not self._stop.is_set():
            n = next(self._numbers)
            if n >= len(self.requests):
                return
            why = self._load(self.requests[n])
            with self._lock:
                if why is None:
                    self.answered.add(n)
                else:
                    self.unanswered[why] += 1


def _setup(messages: int) -> list[str]:
    """Migrate, send ``messages`` messages into the store; their pixels' paths."""
    import django
    from freezegun import freeze_time

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone

    import ptrack
    from ptrack.store import sending

    call_command("migrate", verbosity=0)
    sent_at = timezone.now() - timedelta(hours=1)
    ids = [f"k{n:09d}" for n in range(messages)]
    sending.record([sending.Sent(CAMPAIGN, f"r{n}", i, sent_at) for n, i in enumerate(ids)])
    # Issued when sent: a load seconds after its link was issued is a machine's.
    with freeze_time(sent_at):
        return [urlsplit(ptrack.Pixel("n").url(campaign=CAMPAIGN, message=i)).path for i in ids]


def _count_tasks() -> dict[str, int]:
    from django_tasks_db.models import DBTaskResult

    rows = DBTaskResult.objects.values_list("status").order_by()
    return dict(Counter(status for (status,) in rows))


def _left_running(worker_id: str) -> dict[str, int]:
    """The tasks a killed worker left running, their events, and how many of those the
    store holds (a batch that committed before its worker died)."""
    from django_tasks_db.models import DBTaskResult

    from ptrack.store.models import Event

    tasks = DBTaskResult.objects.running().filter(worker_ids__contains=[worker_id])
    messages = []
    for task in tasks:
        events = task.args_kwargs["args"][1]  # a batch's list, or one event
        messages += [e["message"] for e in (events if isinstance(events, list) else [events])]
    return {
        "tasks": len(tasks),
        "events": len(messages),
        "already_recorded": Event.objects.filter(message__message_id__in=messages).count(),
    }


def _running(worker_id: str) -> int:
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.running().filter(worker_ids__contains=[worker_id]).count()


def _compare(answered: set[int], messages: int) -> dict[str, Any]:
    """The store against the answered loads: per message, per kind, and the counters."""
    from django.db.models import Count

    from ptrack.store.models import CampaignTotal, Event, Message

    per_message = dict(
        Event.objects.filter(message__isnull=False)
        .values_list("message__message_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    recorded = {int(message_id[1:]): n for message_id, n in per_message.items()}
    kinds = Counter(Event.objects.values_list("kind", flat=True).order_by())
    totals = dict(
        CampaignTotal.objects.filter(campaign__name=CAMPAIGN).values_list("metric", "value")
    )
    machines = sum(1 for n in answered if _is_machine(n))
    opened = Message.objects.filter(opens__gt=0).count()
    return {
        "events": sum(recorded.values()),
        "events_without_message": Event.objects.filter(message__isnull=True).count(),
        "lost": sum(1 for n in answered if n not in recorded),
        "duplicated": sum(n - 1 for n in recorded.values() if n > 1),
        "recorded_not_answered": sum(1 for n in recorded if n not in answered),
        "events_by_kind": dict(kinds),
        "answered_by_kind": {"person": len(answered) - machines, "machine": machines},
        "opens_total": totals.get("opens", 0),
        "unique_opens_total": totals.get("unique_opens", 0),
        "machine_loads_total": sum(v for k, v in totals.items() if k.startswith("machine_loads:")),
        "messages_opened": opened,
        "sent_total": totals.get("sent", 0),
        "messages": messages,
    }


def _manage(env: dict[str, str], log: Path, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "django", *args],
        cwd=ROOT,
        env=env,
        stdout=open(log, "ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _wait(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"Gave up after {timeout:.0f}s waiting for {what}.")
        time.sleep(0.01)


def _drain(env: dict[str, str], log: Path, timeout: float) -> float:
    """Run one worker until the queue is empty (``--batch``); its duration."""
    began = time.monotonic()
    worker = _manage(env, log, *WORKER, "--batch")
    try:
        worker.wait(timeout=timeout)
    finally:
        stop_process(worker)
    if worker.returncode != 0:
        raise SystemExit(f"The draining worker failed ({worker.returncode}); see {log}.")
    return time.monotonic() - began


def run(options: argparse.Namespace) -> dict[str, Any]:
    from tests import postgres

    if not postgres.available():
        raise SystemExit("PostgreSQL's server or psycopg is not installed (tests/postgres.py).")
    results: dict[str, Any] = {"machine": machine()}
    workdir = Path(tempfile.mkdtemp(prefix="ptrack-bench-store-kill-"))
    env = {
        "DJANGO_SETTINGS_MODULE": "bench.settings_store",
        "BENCH_PG_HOST": str(postgres.SOCKET_DIR),
        "BENCH_RECORDER": "none",
        "BENCH_BATCH_SIZE": str(options.batch),
        "PYTHONPATH": str(ROOT),
    }
    os.environ.update(env)
    manage_env = {**os.environ, **env}
    log = workdir / "workers.log"
    with postgres.running():
        paths = _setup(options.messages)
        from ptrack.answers import PIXEL_GIF

        server = Server("gunicorn", "django", True, recorder="none", env=env)
        start(server, workdir, options.web_workers)
        worker: subprocess.Popen[bytes] | None = None
        client: Client | None = None
        kills: list[dict[str, Any]] = []
        try:
            wait_ready(server)
            worker_ids = itertools.count(1)
            worker_id = f"worker-{next(worker_ids)}"
            worker = _manage(manage_env, log, *WORKER, "--worker-id", worker_id)
            client = Client(server.port, paths, PIXEL_GIF, options.clients)
            began = time.monotonic()
            client.start()
            for k in range(options.kills):
                at = began + options.seconds * (k + 1) / (options.kills + 1)
                time.sleep(max(0.0, at - time.monotonic()))
                # Killed while it runs a task, as a crash would find it at this load.
                _wait(partial(_running, worker_id), 60, f"{worker_id} to run a task")
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait()
                kills.append(
                    {
                        "worker": worker_id,
                        "at_s": time.monotonic() - began,
                        "answered_so_far": len(client.answered),
                        "left_running": _left_running(worker_id),
                    }
                )
                print(f"  killed {worker_id} at {kills[-1]['at_s']:.1f}s")
                time.sleep(options.restart_after)
                worker_id = f"worker-{next(worker_ids)}"
                worker = _manage(manage_env, log, *WORKER, "--worker-id", worker_id)
            time.sleep(max(0.0, began + options.seconds - time.monotonic()))
            client.stop()
            elapsed = time.monotonic() - began
        finally:
            if client is not None:
                client.stop()
            stop(server)  # SIGTERM: its workers enqueue what they gathered
        if len(client.answered) >= len(paths):
            raise SystemExit("The client ran out of messages: raise --messages.")
        # The restarted worker empties the queue, then stops gracefully.
        _wait(lambda: _count_tasks().get("READY", 0) == 0, options.drain_timeout, "the drain")
        _wait(lambda: not _running(worker_id), options.drain_timeout, "the last task")
        stop_process(worker)
        tasks_after_load = _count_tasks()
        before = _compare(client.answered, options.messages)
        print(f"  before requeueing: {before['lost']} lost, {before['duplicated']} duplicated")
        requeued = subprocess.run(
            [sys.executable, "-m", "django", "ptrack_store_requeue", "--older-than", "1"],
            cwd=ROOT,
            env=manage_env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        drain_s = _drain(manage_env, log, options.drain_timeout)
        after = _compare(client.answered, options.messages)
        print(f"  after requeueing: {after['lost']} lost, {after['duplicated']} duplicated")
        tasks_at_end = _count_tasks()
        versions = _versions()
    results["machine"]["load_average_at_end"] = os.getloadavg()
    results["store_kill"] = {
        "seconds": elapsed,
        "web_workers": options.web_workers,
        "clients": options.clients,
        "batch": options.batch,
        "answered": len(client.answered),
        "answered_per_second": len(client.answered) / elapsed,
        "unanswered": dict(client.unanswered),
        "kills": kills,
        "tasks_after_load": tasks_after_load,
        "requeue_output": requeued,
        "requeue_drain_s": drain_s,
        "tasks_at_end": tasks_at_end,
        "before_requeue": before,
        "after_requeue": after,
        "versions": versions,
        "command": "make bench-store-exactly-once",
        "workdir": str(workdir),
    }
    return results


def _versions() -> dict[str, str]:
    from importlib import metadata

    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server = cursor.fetchone()[0].split()[0]
    return {"postgresql": server, "psycopg": metadata.version("psycopg")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--kills", type=int, default=2)
    parser.add_argument("--clients", type=int, default=12, help="client threads")
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn's workers")
    parser.add_argument("--batch", type=int, default=100, help="PTRACK_BATCH_SIZE")
    parser.add_argument("--messages", type=int, default=150_000)
    parser.add_argument("--restart-after", type=float, default=1.0, help="seconds")
    parser.add_argument("--drain-timeout", type=float, default=300, help="seconds")
    report.main(parser, run)


if __name__ == "__main__":
    main()
