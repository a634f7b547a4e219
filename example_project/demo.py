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
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
HOST = "127.0.0.1"
START_TIMEOUT = 30.0  # seconds for a server to accept connections
STOP_TIMEOUT = 10.0  # seconds for a server to exit after Ctrl-C


def free_port(preferred: int, taken: Sequence[int] = ()) -> int:
    """``preferred`` when nothing listens on it, else a free port the system picks."""
    for port in (preferred, 0):
        if port in taken:
            continue
        with socket.socket() as sock:
            # As runserver does, so a port a stopped demo just left counts as free.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((HOST, port))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise RuntimeError(f"No free port on {HOST}.")


def wait_until_listening(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"The server on port {port} exited with code {server.returncode}.")
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"The server on port {port} did not start within {START_TIMEOUT:.0f}s.")


def runserver(port: int, settings_module: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", f"{HOST}:{port}"],
        cwd=HERE,
        env={**env, "DJANGO_SETTINGS_MODULE": settings_module},
    )


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
    app_port = free_port(args.port)
    tracker_port = free_port(args.port + 1, taken=[app_port]) if args.split else None
    app_url = f"http://{HOST}:{app_port}"
    pixel_url = f"http://{HOST}:{tracker_port}" if tracker_port else app_url
    # Mail rendered now carries pixel URLs on PTRACK_APP_URL, so it must be the
    # address the pixels are really served from: set it before Django starts.
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ["PTRACK_APP_URL"] = pixel_url
    os.environ["MAILROOM_SITE_URL"] = app_url  # where the emails' links lead
    if args.background:
        os.environ["MAILROOM_BACKGROUND"] = "1"
    os.chdir(HERE)

    campaigns = prepare(args.fresh)

    env = dict(os.environ)
    servers = [runserver(app_port, "config.settings", env)]
    if tracker_port:
        servers.append(runserver(tracker_port, "config.settings_tracker", env))
    try:
        wait_until_listening(app_port, servers[0])
        if tracker_port:
            wait_until_listening(tracker_port, servers[1])
        if args.background:
            servers.append(
                subprocess.Popen(
                    [sys.executable, "manage.py", "db_worker", "--interval=0.2"],
                    env=env,
                )
            )
        _banner(app_url, pixel_url, campaigns, busy=app_port != args.port)
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


def _stop(servers: list[subprocess.Popen[bytes]], grace: float) -> None:
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
                server.wait()


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
