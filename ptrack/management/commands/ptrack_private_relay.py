"""Download Apple's iCloud Private Relay egress list to PTRACK_PRIVATE_RELAY_FILE."""

from __future__ import annotations

import os
import tempfile
import urllib.error
import urllib.request
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ptrack.classifier import private_relay_networks
from ptrack.conf import conf


class Command(BaseCommand):
    help = (
        "Download Apple's iCloud Private Relay egress list (PTRACK_PRIVATE_RELAY_URL) and "
        "replace PTRACK_PRIVATE_RELAY_FILE with it once every line has parsed. Running "
        "processes pick the new file up within a minute."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--url", help="Where to download from (default: PTRACK_PRIVATE_RELAY_URL)."
        )
        parser.add_argument("--output", help="Where to write (default: PTRACK_PRIVATE_RELAY_FILE).")
        parser.add_argument(
            "--timeout",
            type=float,
            default=60.0,
            help="Seconds to wait for the server (default 60).",
        )

    def handle(
        self, *args: Any, url: str | None, output: str | None, timeout: float, **options: Any
    ) -> None:
        url = url or conf.PRIVATE_RELAY_URL
        output = output or conf.PRIVATE_RELAY_FILE
        if not output:
            raise CommandError(
                "Set PTRACK_PRIVATE_RELAY_FILE or pass --output: nowhere to write the list."
            )
        if not url.startswith(("http://", "https://")):
            raise CommandError(f"The egress list URL should be http(s), not {url!r}.")
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                body = response.read()
        except (urllib.error.URLError, OSError, ValueError) as e:
            raise CommandError(f"Could not download {url!r}: {e}") from e
        try:
            text = body.decode("utf-8")
            prefixes = list(private_relay_networks(text.splitlines()))
        except (UnicodeDecodeError, ValueError) as e:
            raise CommandError(
                f"{url!r} is not an egress list; {output!r} is unchanged: {e}"
            ) from e
        if not prefixes:
            raise CommandError(f"{url!r} lists no networks; {output!r} is unchanged.")
        # Written beside the target and renamed over it, so a running process
        # never reads a half-written list.
        directory = os.path.dirname(os.path.abspath(output))
        try:
            with tempfile.NamedTemporaryFile(
                "w", encoding="utf-8", dir=directory, suffix=".tmp", delete=False
            ) as tmp:
                tmp.write(text)
        except OSError as e:
            raise CommandError(f"Could not write {output!r}: {e}") from e
        try:
            os.replace(tmp.name, output)
        except OSError as e:
            os.unlink(tmp.name)
            raise CommandError(f"Could not write {output!r}: {e}") from e
        self.stdout.write(f"Wrote {len(prefixes)} prefixes to {output}.")
