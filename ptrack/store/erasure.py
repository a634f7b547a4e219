"""The store's GDPR tools: forgetting a person, and purging what is past retention.

Both remove rows about messages, events and recipients; neither touches a
campaign's counters, which say how many, never who, and so stay right.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
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
        # Their messages locked first: no event may come to name one before it goes.
        removed.update(delete_messages(Message.objects.using(using).filter(recipient__in=found)))
        for queryset in (
            Event.objects.using(using).filter(recipient__in=found),
            RecipientDay.objects.using(using).filter(recipient__in=found),
        ):
            removed.update(_deleted(queryset))
    return dict(removed)


def delete_messages(messages: QuerySet[Message]) -> dict[str, int]:
    """Delete ``messages`` with their events and clicks, in one transaction that locks them
    first, as the purge does: a load recorded meanwhile waits, then finds no message and is
    counted for its campaign alone, where Django's own delete would leave it naming a
    deleted message, which the foreign key refuses at commit. ``forget()`` and the admin
    delete messages this way. Returns rows removed per model."""
    using = messages.db
    with transaction.atomic(using=using):
        mine = Message.objects.using(using).filter(pk__in=messages.values("pk"))
        ids = list(mine.select_for_update().order_by("pk").values_list("pk", flat=True))
        return dict(_by_ids(Message, ids, using))


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


# A transaction that locks messages (which recording waits for when it names one) removes
# at most _LOCKED of them, weighing at most _LOCKED_ROWS rows: a message one, and one more
# for each event and click it had, whose index entries (gone, until a vacuum) the delete and
# the commit's foreign-key checks read past. At 100 and 1,000 such transactions took 54 ms
# at the median and up to 169 ms on a 2-CPU machine at a load average of 5 to 8; at 50 and
# 500, 19 ms and up to 89 ms.
_LOCKED = 50
_LOCKED_ROWS = 500
# Rounds that pass over messages a recorder holds before waiting for them, one at a time.
_SKIPS = 3


def _messages_in_batches(before: datetime, size: int, using: str) -> Counter[str]:
    """Delete the messages sent before ``before``, ``size`` at a time: first their events
    and clicks, ``size`` rows per transaction however many a message has, then the
    messages themselves, a few at a time (``_LOCKED``, ``_LOCKED_ROWS``)."""
    removed: Counter[str] = Counter()
    old = Message.objects.using(using).filter(sent_at__lt=before).order_by("pk")
    last = None
    while True:
        rest = old if last is None else old.filter(pk__gt=last)
        ids = list(rest.values_list("pk", flat=True)[:size])
        if not ids:
            return removed
        last = ids[-1]
        rows = Counter(dict.fromkeys(ids, 1))
        removed.update(_theirs(ids, size, using, rows))
        removed.update(_locked_in_groups(ids, rows, size, using))


def _theirs(ids: list[int], size: int, using: str, rows: Counter[int]) -> Counter[str]:
    """Delete the events and clicks of the messages ``ids``, ``size`` rows per transaction,
    without locking the messages; add to ``rows`` how many each message had."""
    removed: Counter[str] = Counter()
    for model in (Event, MessageLink):
        theirs = model.objects.using(using).filter(message_id__in=ids).order_by("pk")
        found = list(theirs.values_list("pk", "message_id"))
        rows.update(message for _pk, message in found)
        for start in range(0, len(found), size):
            with transaction.atomic(using=using):
                chunk = [pk for pk, _message in found[start : start + size]]
                removed.update(_by_ids(model, chunk, using))
    return removed


def _groups(ids: list[int], rows: Counter[int]) -> Iterator[list[int]]:
    """``ids`` in order, in groups of at most ``_LOCKED`` messages and ``_LOCKED_ROWS`` rows
    (a message with more alone)."""
    group: list[int] = []
    weight = 0
    for pk in ids:
        if group and (len(group) == _LOCKED or weight + rows[pk] > _LOCKED_ROWS):
            yield group
            group, weight = [], 0
        group.append(pk)
        weight += rows[pk]
    if group:
        yield group


def _locked_in_groups(ids: list[int], rows: Counter[int], size: int, using: str) -> Counter[str]:
    """Delete the messages ``ids`` (their events and clicks gone), each group in its own
    transaction that locks them first: an event recorded meanwhile for one of them either
    comes before (and goes with it) or waits and finds no message; never an event naming a
    deleted message, which the foreign key would refuse at commit.

    A message a recorder holds is passed over rather than waited for, since the group's other
    messages, locked meanwhile, would make the next recorder naming one of them wait as long
    too; it is tried again after the others, with the events recorded since, and waited for
    alone after ``_SKIPS`` rounds."""
    removed: Counter[str] = Counter()
    pending = ids
    for round_ in range(_SKIPS + 1):
        waits = round_ == _SKIPS
        held: list[int] = []
        for group in _groups(pending, rows) if not waits else ([pk] for pk in pending):
            with transaction.atomic(using=using):
                locked = Message.objects.using(using).select_for_update(skip_locked=not waits)
                mine = list(locked.filter(pk__in=group).order_by("pk").values_list("pk", flat=True))
                removed.update(_by_ids(Message, mine, using))
            if len(mine) < len(group):
                held += sorted(set(group) - set(mine))
        if not held:
            break
        # Those not found went meanwhile (forget()); the others were recorded to just now.
        pending = list(
            Message.objects.using(using).filter(pk__in=held).values_list("pk", flat=True)
        )
        removed.update(_theirs(pending, size, using, rows))
    return removed


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
