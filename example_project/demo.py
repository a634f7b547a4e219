#!/usr/bin/env python
"""Run the Mailroom demo: migrate, create and send the demo campaigns, serve on 127.0.0.1.

    python demo.py            # app and pixels on one server, port 8000 if it is free
    python demo.py --split    # the PTRACK_APP_URL split: app on one port, pixels on another
    python demo.py --fresh    # start over: empty the database and the inbox first

``make demo`` runs this with the project's virtualenv. Ctrl-C stops it.
"""

from __future__ import annotations

import argparse
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
HOST = "127.0.0.1"
START_TIMEOUT = 30.0  # seconds for a server to accept connections
STOP_TIMEOUT = 10.0  # seconds for a server to exit after Ctrl-C


# runserver prints this once it listens, and only then (Django 6.1 says "Starting WSGI
# development server"); it exits saying "That port is already in use" otherwise.
STARTED = re.compile(r"Starting (?:[A-Z]+ )?development server at http://")
IN_USE = "That port is already in use"
ATTEMPTS = 5  # ports to try when another process takes one first


class Server:
    """``manage.py runserver`` on one port, its output passed on to the terminal.

    Whether it got the port is what it says, not what a probe found free a moment
    before: the startup line comes only once it listens.
    """

    def __init__(self, port: int, settings_module: str, env: dict[str, str]) -> None:
        self.port = port
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", "--noreload", f"{HOST}:{port}"],
            cwd=HERE,
            env={**env, "DJANGO_SETTINGS_MODULE": settings_module, "PYTHONUNBUFFERED": "1"},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._startup: list[str] = []
        self._outcome: queue.Queue[bool] = queue.Queue()
        threading.Thread(target=self._pass_on, daemon=True).start()

    def _pass_on(self) -> None:
        assert self.process.stdout is not None
        listening = False
        with self.process.stdout:
            for line in self.process.stdout:
                if listening:
                    print(line, end="", flush=True)
                    continue
                self._startup.append(line)
                if STARTED.search(line):
                    listening = True
                    print("".join(self._startup), end="", flush=True)
                    self._outcome.put(True)
        if not listening:
            self._outcome.put(False)

    def started(self) -> bool:
        """True once it listens; False if its port was taken; exits the demo otherwise."""
        try:
            listening = self._outcome.get(timeout=START_TIMEOUT)
        except queue.Empty:
            self.stop(grace=0)
            raise SystemExit(
                f"The server on port {self.port} did not start within {START_TIMEOUT:.0f}s."
            ) from None
        if listening:
            return True
        self.stop(grace=STOP_TIMEOUT)
        startup = "".join(self._startup)
        if IN_USE in startup:
            return False
        print(startup, end="", file=sys.stderr)
        raise SystemExit(f"The server on port {self.port} exited with {self.process.returncode}.")

    def stop(self, grace: float) -> None:
        _stop([self.process], grace)


def start(
    preferred: int, settings_module: str, env: dict[str, str], app_url: str | None = None
) -> Server:
    """A server on ``preferred``, or on another port when that one is taken.

    ``PTRACK_APP_URL`` is the server's own address unless ``app_url`` is given.
    """
    port = preferred
    for _ in range(ATTEMPTS):
        # The site the emails' links lead to is the app's own (unused by the tracker).
        own = {"PTRACK_APP_URL": app_url or url(port), "MAILROOM_SITE_URL": url(port)}
        server = Server(port, settings_module, {**own, **env})
        if server.started():
            return server
        port = _candidate_port()
    raise SystemExit(f"{ATTEMPTS} ports on {HOST} in a row were taken.")


def url(port: int) -> str:
    return f"http://{HOST}:{port}"


def _candidate_port() -> int:
    """A port free a moment ago: only a candidate, which runserver may find taken."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def prepare(fresh: bool) -> list[tuple[str, str, str]]:
    """Migrate, create and send the demo campaigns; return name, dashboard path, tracking."""
    import django
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connections

    django.setup()
    from campaigns.models import Campaign
    from campaigns.templatetags.mailroom import short_duration

    print("[1/3] Database:", settings.DATABASES["default"]["NAME"])
    call_command("migrate", interactive=False, verbosity=0)
    if fresh:
        call_command("flush", interactive=False, verbosity=0)
        shutil.rmtree(settings.MAILROOM_MAILDIR, ignore_errors=True)
        print("      emptied the database and the inbox (--fresh).")
    print("[2/3] Demo campaigns:")
    call_command("create_demo_campaign")
    print("[3/3] Sending:")
    call_command("send_campaign", send_all=True)
    campaigns = [
        (
            c.name,
            c.get_absolute_url(),
            f"pixels expire {short_duration(c.tracking_window)} after sending"
            if c.tracking_window
            else "",
        )
        for c in Campaign.objects.order_by("pk")
    ]
    connections.close_all()
    return campaigns


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8000, help="preferred port (default 8000)")
    parser.add_argument(
        "--split",
        action="store_true",
        help="serve the pixels from a second deployment (config.settings_tracker)",
    )
    parser.add_argument("--fresh", action="store_true", help="empty the database and inbox first")
    parser.add_argument(
        "--background",
        action="store_true",
        help="record opens in a task worker (MAILROOM_BACKGROUND=1), started here too",
    )
    args = parser.parse_args(argv)

    # A plain `kill` (SIGTERM) stops the demo as Ctrl-C does, children included.
    signal.signal(signal.SIGTERM, _interrupt)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    if args.background:
        os.environ["MAILROOM_BACKGROUND"] = "1"
    os.chdir(HERE)
    os.environ.pop("PTRACK_APP_URL", None)  # each server gets its own address, set below
    # Migrated first, so that the servers start on an up-to-date database.
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--verbosity=0"], check=True, timeout=120
    )

    servers: list[subprocess.Popen[str]] = []
    try:
        # Mail rendered below carries pixel URLs on PTRACK_APP_URL, so it must be the address
        # the pixels are really served from: the servers start first, and say where they are.
        env = dict(os.environ)
        tracker = start(args.port + 1, "config.settings_tracker", env) if args.split else None
        if tracker:
            servers.append(tracker.process)
        pixel_url = url(tracker.port) if tracker else None
        app = start(args.port, "config.settings", env, app_url=pixel_url)
        servers.insert(0, app.process)
        app_url = url(app.port)
        pixel_url = pixel_url or app_url
        os.environ["PTRACK_APP_URL"] = pixel_url
        os.environ.setdefault("MAILROOM_SITE_URL", app_url)  # where the emails' links lead

        campaigns = prepare(args.fresh)

        if args.background:
            servers.append(
                subprocess.Popen(
                    [sys.executable, "manage.py", "db_worker", "--interval=0.2"],
                    env=dict(os.environ),
                    text=True,
                )
            )
        _banner(app_url, pixel_url, campaigns, busy=app.port != args.port)
        while all(server.poll() is None for server in servers):
            time.sleep(0.2)
        print("A server stopped; stopping the demo.", file=sys.stderr)
        _stop(servers, grace=0)
        return 1
    except KeyboardInterrupt:
        # Ctrl-C reached the servers too (same process group): let them exit by themselves.
        print("\nStopping the demo...", flush=True)
        for server in servers:
            if server.poll() is None:
                server.send_signal(signal.SIGINT)
        _stop(servers, grace=STOP_TIMEOUT)
        print("Demo stopped.")
        return 0
    except BaseException:
        _stop(servers, grace=0)
        raise


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _stop(servers: Sequence[subprocess.Popen[str]], grace: float) -> None:
    deadline = time.monotonic() + grace
    for server in servers:
        try:
            server.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            server.terminate()
            try:
                server.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=STOP_TIMEOUT)


def _banner(
    app_url: str, pixel_url: str, campaigns: list[tuple[str, str, str]], busy: bool
) -> None:
    width = max((len(name) for name, _, _ in campaigns), default=0)
    lines = [
        "",
        "  Mailroom demo is running.",
        "",
        f"  Inbox          {app_url}/inbox/",
        f"  Campaigns      {app_url}/",
        *(
            f"    {name:<{width}}  {app_url}{path}  {tracking}".rstrip()
            for name, path, tracking in campaigns
        ),
        f"  Admin          {app_url}/admin/   (first: .venv/bin/python "
        "example_project/manage.py createsuperuser)",
    ]
    if pixel_url != app_url:
        lines.append(f"  Pixels served  {pixel_url}/ptrack/   (the tracker deployment)")
    lines += [
        "",
        "  Open an email in the inbox: its pixel loads, and the campaign's dashboard",
        "  counts it within a second; click its button and the click shows too.",
        "  Opens and clicks after a link expired are not recorded (the click still lands).",
    ]
    if busy:
        lines.append("  (The preferred port was busy: mail sent by earlier runs points at theirs.)")
    lines += ["  Ctrl-C stops the demo.", ""]
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    sys.exit(main())
