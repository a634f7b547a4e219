"""Consent per recipient: its state now, and the append-only history that proves it."""

from __future__ import annotations

from typing import Any, NoReturn

from django.db import models

from ptrack.consent import RECIPIENT_MAX_LENGTH
from ptrack.consent import Consent as Level

LEVEL_CHOICES = [(level.value, level.value) for level in Level]
SOURCE_CHOICES = [
    ("form", "form"),
    ("link", "link"),
    ("import", "import"),
    ("admin", "admin"),
    ("api", "api"),
]
SOURCES = frozenset(value for value, _ in SOURCE_CHOICES)


class AppendOnlyError(Exception):
    """A consent history row was to be changed or deleted; history only grows."""


def _refuse(what: str) -> NoReturn:
    raise AppendOnlyError(
        f"Consent history is append-only: a row cannot be {what}. "
        f"Record a new change with ptrack.consents.grant() or withdraw() instead."
    )


class Consent(models.Model):
    """A recipient's level now: what ``ptrack.consents.level()`` answers."""

    recipient = models.CharField(max_length=RECIPIENT_MAX_LENGTH, unique=True)
    level = models.CharField(max_length=16, choices=LEVEL_CHOICES)
    updated_at = models.DateTimeField()

    class Meta:
        verbose_name = "consent"
        ordering = ("recipient",)

    def __str__(self) -> str:
        return f"{self.recipient}: {self.level}"


class ConsentChangeQuerySet(models.QuerySet["ConsentChange"]):
    # Bulk paths skip Model.save() and delete(): refused here too.
    def update(self, **kwargs: Any) -> int:
        _refuse("updated")

    def delete(self) -> tuple[int, dict[str, int]]:
        _refuse("deleted")


class ConsentChange(models.Model):
    """One change of a recipient's level, kept as proof of what they agreed to and when."""

    recipient = models.CharField(max_length=RECIPIENT_MAX_LENGTH, db_index=True)
    level = models.CharField(max_length=16, choices=LEVEL_CHOICES)
    at = models.DateTimeField()
    source = models.CharField(max_length=16, choices=SOURCE_CHOICES)
    #: The text shown to the person when they chose; blank when nothing was shown.
    wording = models.TextField(blank=True)
    note = models.TextField(blank=True)

    objects = ConsentChangeQuerySet.as_manager()

    class Meta:
        verbose_name = "consent change"
        ordering = ("at", "pk")

    def __str__(self) -> str:
        return f"{self.recipient}: {self.level} ({self.source}, {self.at.isoformat()})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            _refuse("updated")
        # A new instance given an existing row's pk would otherwise update that row.
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        _refuse("deleted")
