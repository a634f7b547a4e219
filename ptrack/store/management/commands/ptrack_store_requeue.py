"""``manage.py ptrack_store_requeue``: queue again the store's tasks a killed worker left."""

from __future__ import annotations

from argparse import ArgumentParser
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from ptrack.store.requeue import DEFAULT_OLDER_THAN, requeue_abandoned, requeue_failed


class Command(BaseCommand):
    help = (
        "Queue again ptrack.store's recording tasks that django-tasks-db shows running for "
        "longer than --older-than (their worker was killed), and those that failed on a "
        "database error that passes (busy, locked, connection lost). Recording a batch again "
        "adds nothing that is already counted."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--older-than",
            type=float,
            default=DEFAULT_OLDER_THAN.total_seconds(),
            help="Seconds a task has run for before it counts as abandoned (default: %(default)s).",
        )

    def handle(self, *args: Any, older_than: float, **options: Any) -> None:
        if not older_than >= 0:
            raise CommandError(f"--older-than should be a number of seconds, not {older_than!r}.")
        count = requeue_abandoned(timedelta(seconds=older_than))
        self.stdout.write(f"{count} abandoned recording task{'' if count == 1 else 's'} requeued.")
        count = requeue_failed()
        self.stdout.write(
            f"{count} failed recording task{'' if count == 1 else 's'} requeued "
            "(database errors that pass)."
        )
