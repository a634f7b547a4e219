"""Background recording through Django's task framework.

Uses ``django.tasks`` (Django 6.0+), else the ``django-tasks`` backport, so
any of their backends (database workers, RQ on Redis, ...) carries the work.
Importing this module defines the task, which validates it against the
configured backend; ptrack imports it only when a background recorder needs it.
"""

from __future__ import annotations

import logging
from importlib import import_module
from typing import Any

from ptrack.events import PixelEvent
from ptrack.registry import TrackingPixel, tracker


def _framework() -> tuple[str | None, Any]:
    for name in ("django.tasks", "django_tasks"):
        try:
            return name, import_module(name).task
        except ImportError:
            continue
    return None, None


FRAMEWORK, _task = _framework()
logger = logging.getLogger("ptrack")


def _record(recorder: str, event: dict[str, Any]) -> None:
    tracker.run_recorder(recorder, PixelEvent.from_dict(event))


if _task is not None:

    @_task()  # type: ignore[untyped-decorator]
    def record_in_background(recorder: str, event: dict[str, Any]) -> None:
        """Run one background recorder on one event, in a task worker."""
        _record(recorder, event)

    @_task()  # type: ignore[untyped-decorator]
    def record_batch_in_background(recorder: str, events: list[dict[str, Any]]) -> None:
        """Run one background recorder on each of a batch of events, in a task worker.

        An event the recorder fails on is enqueued again on its own, so that
        the task framework records and retries it alone and the others are not
        run twice. A recorder that overrides ``record_events()`` gets the whole
        batch at once; if it fails, every event is enqueued again on its own.
        """
        instance = tracker.recorder_named(recorder)  # unknown here: the whole task fails
        if type(instance).record_events is not TrackingPixel.record_events:
            try:
                instance.record_events([PixelEvent.from_dict(event) for event in events])
            except Exception:
                logger.exception(
                    "Recorder %s failed on a batch of %d pixel events; each enqueued again "
                    "on its own.",
                    recorder,
                    len(events),
                )
                for event in events:
                    task_for(instance).enqueue(recorder, event)
            return
        failed = []
        for event in events:
            try:
                _record(recorder, event)
            except Exception:
                logger.exception(
                    "Recorder %s failed on pixel event %r; enqueued again on its own.",
                    recorder,
                    event,
                )
                failed.append(event)
        for event in failed:
            task_for(instance).enqueue(recorder, event)


def task_for(recorder: TrackingPixel, *, batch: bool = False) -> Any:
    """The task that runs ``recorder`` (on a batch of events if ``batch``), with its
    ``task_options`` applied."""
    if FRAMEWORK is None:
        raise RuntimeError(
            f"{type(recorder).__qualname__} records in the background, but neither "
            f"django.tasks (Django 6.0+) nor the django-tasks package is installed."
        )
    task = record_batch_in_background if batch else record_in_background
    options = recorder.task_options
    return task.using(**options) if options else task
