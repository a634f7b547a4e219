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
from ptrack.store.models import Event, Message, MessageLink, RecipientDay


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
        # Locked first, as the purge does: no event may come to name one before it goes.
        mine = Message.objects.using(using).select_for_update().filter(recipient__in=found)
        ids = list(mine.order_by("pk").values_list("pk", flat=True))
        for queryset in (
            Message.objects.using(using).filter(pk__in=ids),
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
    short transaction so that recording never waits long: a message's events and clicks go
    before it, ``batch`` at a time too, however many it has. Returns rows removed per model.
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
    removed.update(_messages_in_batches(before, size, using))
    removed.update(
        _in_batches(
            RecipientDay.objects.using(using).filter(last_open__lt=before.date()), size, using
        )
    )
    return dict(removed)


def _in_batches(queryset: QuerySet[Model], size: int, using: str) -> Counter[str]:
    """Delete ``queryset``'s rows ``size`` at a time in order of their ids, each batch in
    its own transaction, reading on from the last id deleted rather than again from the
    start, where the rows just deleted are still in the index until a vacuum."""
    removed: Counter[str] = Counter()
    last = None
    while True:
        with transaction.atomic(using=using):
            rest = queryset if last is None else queryset.filter(pk__gt=last)
            ids = list(rest.order_by("pk").values_list("pk", flat=True)[:size])
            if not ids:
                return removed
            last = ids[-1]
            removed.update(_by_ids(queryset.model, ids, using))


# Messages removed per transaction once their events are gone. Recording waits for such a
# transaction when it names one of them; its commit checks each against the foreign keys of
# events and clicks, which took about 100 ms per 1,000 messages on a busy 2-CPU machine.
_LOCKED = 100


def _messages_in_batches(before: datetime, size: int, using: str) -> Counter[str]:
    """Delete the messages sent before ``before``, ``size`` at a time: first their events
    and clicks, ``size`` rows per transaction however many a message has, then the
    messages themselves."""
    removed: Counter[str] = Counter()
    old = Message.objects.using(using).filter(sent_at__lt=before).order_by("pk")
    last = None
    while True:
        rest = old if last is None else old.filter(pk__gt=last)
        ids = list(rest.values_list("pk", flat=True)[:size])
        if not ids:
            return removed
        last = ids[-1]
        for model in (Event, MessageLink):
            theirs = model.objects.using(using).filter(message_id__in=ids).order_by("pk")
            found = list(theirs.values_list("pk", flat=True))
            for start in range(0, len(found), size):
                with transaction.atomic(using=using):
                    removed.update(_by_ids(model, found[start : start + size], using))
        for start in range(0, len(ids), _LOCKED):
            with transaction.atomic(using=using):
                # Locked first: an event recorded meanwhile for one of them either comes
                # before (and goes with it) or waits and finds no message; never an event
                # naming a deleted message, which the foreign key would refuse at commit.
                chunk = ids[start : start + _LOCKED]
                locked = Message.objects.using(using).select_for_update().filter(pk__in=chunk)
                removed.update(_by_ids(Message, list(locked.values_list("pk", flat=True)), using))


def _messages_by_ids(ids: list[int], using: str) -> Counter[str]:
    """Remove the messages ``ids`` (locked), with any event or click that came since their
    own went; not by Django's collector, which reads every message back first."""
    removed: Counter[str] = Counter()
    for model in (Event, MessageLink):
        removed.update(_deleted(model.objects.using(using).filter(message_id__in=ids)))
    gone = Message.objects.using(using).filter(pk__in=ids)._raw_delete(using)
    return removed + Counter({Message._meta.label: gone})


def _by_ids(model: type[Model], ids: list[int], using: str) -> Counter[str]:
    if not ids:
        return Counter()
    if model is Message:
        return _messages_by_ids(ids, using)
    return _deleted(model._default_manager.using(using).filter(pk__in=ids))


def _deleted(queryset: QuerySet[Model]) -> Counter[str]:
    _total, per_model = queryset.delete()
    return Counter({model: count for model, count in per_model.items() if count})
