"""The management commands, and sending through a real SMTP server configured by environment."""

from __future__ import annotations

import asyncio
import email
import io
import os
import socket
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from campaigns.models import Campaign, Delivery, Recipient
from django.core import mail
from django.core.management import CommandError, call_command

HERE = Path(__file__).resolve().parent.parent


def run(command: str, *args: str, **options: Any) -> str:
    out = io.StringIO()
    call_command(command, *args, stdout=out, **options)
    return out.getvalue()


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_create_demo_campaign_makes_two_campaigns(db: None) -> None:
    output = run("create_demo_campaign")

    newsletter, offer = Campaign.objects.order_by("pk")
    assert newsletter.tracking_window is None
    assert offer.tracking_window is not None
    assert offer.tracking_window.total_seconds() == 120
    assert newsletter.recipients.count() == offer.recipients.count() == 12
    assert Recipient.objects.count() == 12
    assert (
        f"Created campaign #{newsletter.pk} 'Spring product update': 12 recipients, "
        "pixels never expire."
    ) in output
    assert "'Early-bird offer': 12 recipients, pixels expire 2 min after sending." in output


def test_create_demo_campaign_again_changes_nothing_or_adds_recipients(db: None) -> None:
    run("create_demo_campaign")

    again = run("create_demo_campaign")
    assert "Found campaign #" in again
    assert "Created" not in again
    assert (Campaign.objects.count(), Recipient.objects.count()) == (2, 12)

    run("create_demo_campaign", recipients=300)
    assert Recipient.objects.count() == 300
    assert len(set(Recipient.objects.values_list("name", flat=True))) == 256  # 16 x 16, then again


def test_create_demo_campaign_refuses_nonsense(db: None) -> None:
    with pytest.raises(CommandError, match=r"--recipients should be at least 1, not 0\."):
        run("create_demo_campaign", recipients=0)


def test_send_campaign_by_name_or_id(
    campaign: Campaign,
    make_campaign: Callable[..., Campaign],
    mailoutbox: list[mail.EmailMessage],
) -> None:
    other = make_campaign(name="Other")

    first = run("send_campaign", "Launch")
    second = run("send_campaign", str(other.pk), "Launch")

    assert len(mailoutbox) == 6
    assert f"Campaign #{campaign.pk} 'Launch': sent 3 emails (" in first
    assert f"Campaign #{other.pk} 'Other': sent 3 emails (" in second
    assert f"Campaign #{campaign.pk} 'Launch': already sent to all 3 recipients." in second


def test_send_campaign_all(
    campaign: Campaign, make_campaign: Callable[..., Campaign], mailoutbox: list[object]
) -> None:
    make_campaign(name="Other")

    run("send_campaign", send_all=True)

    assert len(mailoutbox) == 6
    assert Delivery.objects.count() == 6


@pytest.mark.parametrize(
    ("args", "options", "message"),
    [
        ((), {}, "Name the campaigns to send"),
        (("Launch",), {"send_all": True}, "Name the campaigns to send"),
        (("Nope",), {}, "No campaign 'Nope'"),
        (("999",), {}, "No campaign '999'"),
    ],
)
def test_send_campaign_refuses_unclear_requests(
    campaign: Campaign, args: tuple[str, ...], options: dict[str, object], message: str
) -> None:
    with pytest.raises(CommandError, match=message):
        run("send_campaign", *args, **options)


def test_send_campaign_draws_a_progress_bar_on_a_terminal(
    campaign: Campaign, mailoutbox: list[object]
) -> None:
    out = _Terminal()

    call_command("send_campaign", "Launch", stdout=out)

    lines = out.getvalue()
    assert "\rSending 'Launch' [" + "." * 30 + "] 0/3" in lines
    assert "\rSending 'Launch' [" + "#" * 30 + "] 3/3\n" in lines


def test_send_campaign_logs_a_line_per_tenth_of_a_long_run(
    make_campaign: Callable[..., Campaign], mailoutbox: list[object]
) -> None:
    make_campaign(recipients=60)

    output = run("send_campaign", "Launch")

    progress = [line for line in output.splitlines() if line.startswith("Sending")]
    assert progress == [f"Sending 'Launch': {6 * i}/60 ({10 * i}%)" for i in range(1, 11)]


def test_send_campaign_quietly(campaign: Campaign, mailoutbox: list[object]) -> None:
    assert run("send_campaign", "Launch", verbosity=0) == ""
    assert len(mailoutbox) == 3


class _Collect:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append((list(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"


class _ListeningController(Controller):
    """aiosmtpd's threaded server on a socket already listening, so its port cannot be taken."""

    def __init__(self, handler: _Collect, sock: socket.socket) -> None:
        super().__init__(handler, hostname="127.0.0.1", port=sock.getsockname()[1])
        self._sock = sock

    def _create_server(self) -> Awaitable[asyncio.AbstractServer]:
        return self.loop.create_server(self._factory_invoker, sock=self._sock)


@pytest.fixture
def smtp_server() -> Iterator[tuple[int, _Collect]]:
    """A real SMTP server on a loopback port the system picks, collecting what it receives."""
    handler = _Collect()
    with socket.create_server(("127.0.0.1", 0)) as sock:
        controller = _ListeningController(handler, sock)
        controller.start()
        try:
            yield controller.port, handler
        finally:
            controller.stop()


def test_smtp_settings_come_from_the_environment(
    smtp_server: tuple[int, _Collect], tmp_path: Path
) -> None:
    port, received = smtp_server
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(port),
        "PTRACK_APP_URL": "https://track.mailroom.example",
    }
    for command in (
        ["migrate", "--verbosity", "0"],
        ["create_demo_campaign", "--recipients", "2"],
        ["send_campaign", "Spring product update"],
    ):
        subprocess.run(
            [sys.executable, "manage.py", *command],
            cwd=HERE,
            env=env,
            check=True,
            capture_output=True,
            timeout=60,
        )

    assert [to for to, _ in received.messages] == [
        ["ada.lovelace@example.com"],
        ["grace.hopper@example.com"],
    ]
    message = received.messages[0][1]
    assert message["Subject"] == "What's new in Mailroom this spring"
    html = message.get_body(preferencelist=("html",))
    assert html is not None
    assert '<img src="https://track.mailroom.example/ptrack/' in html.get_content()
    assert not (tmp_path / "mail").exists()
