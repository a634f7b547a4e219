"""The store's GDPR tools: forgetting a person, and purging what is past retention.

Both remove rows about messages, events and recipients; neither touches a
campaign's counters, which say how many, never who, and so stay right.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from django.db import router, transaction
from django.db.models import Model, QuerySet
from django.utils import timezone

from ptrack.conf import conf
from ptrack.store import keys
from ptrack.store.models import Event, Message, RecipientDay


def forget(recipient: str) -> dict[str, int]:
    """Remove every row about ``recipient`` from the store: their messages, the events
    and clicks of those, events naming them, and the day of their last open.

    ``recipient`` is the key the site gives (``recipient=``) or an email address,
    whose hashed keys are looked up (under ``SECRET_KEY`` and its fallbacks).
    Returns the number of rows removed per model, e.g. ``{"ptrack_store.Message": 3}``.
    """
    if not isinstance(recipient, str) or not recipient.strip():
        raise ValueError(f"recipient={recipient!r} should be a recipient key or an address.")
    found = keys.keys_of(recipient.strip())
    using = router.db_for_write(Message)
    removed: Counter[str] = Counter()
    with transaction.atomic(using=using):
        for queryset in (
            Message.objects.using(using).filter(recipient__in=found),
            Event.objects.using(using).filter(recipient__in=found),
            RecipientDay.objects.using(using).filter(recipient__in=found),
        ):
            removed.update(_deleted(queryset))
    return dict(removed)


def retention() -> timedelta | None:
    """``PTRACK_STORE_RETENTION`` as a timedelta; ``None``: keep rows until forgotten."""
    value = conf.STORE_RETENTION
    if value is None or isinstance(value, timedelta):
        return value
    return timedelta(days=value)


def purge(before: datetime | None = None, *, batch: int | None = None) -> dict[str, int]:
    """Delete rows about messages and events older than ``before`` (default: now less
    ``PTRACK_STORE_RETENTION``), ``batch`` rows at a time, each batch in its own
    short transaction so that recording never waits long. Returns rows removed per model.
    """
    if before is None:
        kept = retention()
        if kept is None:
            raise ValueError("PTRACK_STORE_RETENTION is not set: nothing is past retention.")
        before = timezone.now() - kept
    size = batch or conf.STORE_PURGE_BATCH
    removed: Counter[str] = Counter()
    using = router.db_for_write(Message)
    removed.update(_in_batches(Event.objects.using(using).filter(at__lt=before), size, using))
    removed.update(
        _in_batches(Message.objects.using(using).filter(sent_at__lt=before), size, using)
    )
    removed.update(
        _in_batches(
            RecipientDay.objects.using(using).filter(last_open__lt=before.date()), size, using
        )
    )
    return dict(removed)


def _in_batches(queryset: QuerySet[Model], size: int, using: str) -> Counter[str]:
    removed: Counter[str] = Counter()
    while True:
        with transaction.atomic(using=using):
            ids = list(queryset.order_by("pk").values_list("pk", flat=True)[:size])
            if not ids:
                return removed
            removed.update(
                _deleted(queryset.model._default_manager.using(using).filter(pk__in=ids))
            )


def _deleted(queryset: QuerySet[Model]) -> Counter[str]:
    _total, per_model = queryset.delete()
    return Counter({model: count for model, count in per_model.items() if count})
