"""``manage.py send_campaign``: send campaigns, with a progress bar."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper

from campaigns.models import Campaign
from campaigns.sending import send_campaign


class ProgressBar:
    """Draws "label [#####.....] 50/100" in place on a terminal.

    Elsewhere (a log, a pipe) it writes a line per tenth, and only for long runs.
    """

    WIDTH = 30
    MIN_LOGGED = 50

    def __init__(self, out: OutputWrapper, label: str) -> None:
        self.out = out
        self.label = label
        self.tty = out.isatty()
        self.last_drawn = 0.0
        self.last_tenth = 0

    def __call__(self, done: int, total: int) -> None:
        if total == 0:
            return
        if self.tty:
            now = time.monotonic()
            if done < total and now - self.last_drawn < 0.1:
                return
            self.last_drawn = now
            filled = self.WIDTH * done // total
            bar = "#" * filled + "." * (self.WIDTH - filled)
            end = "\n" if done == total else ""
            self.out.write(f"\r{self.label} [{bar}] {done}/{total}", ending=end)
            self.out.flush()
        elif total >= self.MIN_LOGGED and done:
            tenth = 10 * done // total
            if tenth > self.last_tenth:
                self.last_tenth = tenth
                self.out.write(f"{self.label}: {done}/{total} ({100 * done // total}%)")


class Command(BaseCommand):
    help = (
        "Send campaigns to each of their recipients who has not had them yet, through "
        "the configured email backend (the local inbox unless EMAIL_HOST is set)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("campaigns", nargs="*", metavar="CAMPAIGN", help="Id or name.")
        parser.add_argument(
            "--all", action="store_true", dest="send_all", help="Send every campaign."
        )

    def handle(self, *args: Any, campaigns: list[str], send_all: bool, **options: Any) -> None:
        if send_all == bool(campaigns):
            raise CommandError("Name the campaigns to send (id or name), or give --all.")
        chosen = (
            list(Campaign.objects.order_by("pk")) if send_all else [_find(c) for c in campaigns]
        )
        quiet = options["verbosity"] == 0
        for campaign in chosen:
            label = f"Sending {campaign.name!r}"
            report = send_campaign(
                campaign, progress=None if quiet else ProgressBar(self.stdout, label)
            )
            if quiet:
                continue
            if report.sent == 0 and report.skipped:
                summary = f"already sent to all {report.skipped} recipients"
            else:
                plural = "" if report.sent == 1 else "s"
                skipped = f", {report.skipped} already had it" if report.skipped else ""
                summary = f"sent {report.sent} email{plural}{skipped} ({report.seconds:.1f}s)"
            self.stdout.write(
                self.style.SUCCESS(f"Campaign #{campaign.pk} {campaign.name!r}: {summary}.")
            )


def _find(identifier: str) -> Campaign:
    lookup = {"pk": int(identifier)} if identifier.isdigit() else {"name": identifier}
    try:
        return Campaign.objects.get(**lookup)
    except Campaign.DoesNotExist:
        raise CommandError(f"No campaign {identifier!r} (give an id or a name).") from None
