"""``manage.py ptrack_store_purge``: delete the store's rows past PTRACK_STORE_RETENTION."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from ptrack.store.erasure import purge, retention


class Command(BaseCommand):
    help = (
        "Delete ptrack.store's rows about messages and events older than "
        "PTRACK_STORE_RETENTION, in batches; campaign numbers stay as they are."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--batch", type=int, default=None, help="Rows per delete (PTRACK_STORE_PURGE_BATCH)."
        )

    def handle(self, *args: Any, batch: int | None = None, **options: Any) -> None:
        if retention() is None:
            raise CommandError(
                "PTRACK_STORE_RETENTION is not set; set it (e.g. timedelta(days=395)) to say "
                "how long the store keeps rows about messages and events."
            )
        if batch is not None and batch <= 0:
            raise CommandError(f"--batch should be a positive number of rows, not {batch}.")
        removed = purge(batch=batch)
        if not removed:
            self.stdout.write("Nothing past retention.")
        for model, count in sorted(removed.items()):
            self.stdout.write(f"{model}: {count} deleted")
