"""Checks of the registered recorders: ptrack.E012, E014, E015, W003 and W005."""

from __future__ import annotations

import inspect
from typing import Any

from django.core.checks import CheckMessage, Error, Warning


def check_background(recorder: Any) -> list[CheckMessage]:
    name = f"{type(recorder).__module__}.{type(recorder).__qualname__}"
    try:
        from ptrack import tasks

        if tasks.FRAMEWORK is None:
            return [
                Error(
                    f"Recorder {name} records in the background, but no task framework is "
                    f"installed.",
                    hint="Use Django 6.0+ (django.tasks) or pip install django-tasks, and "
                    "configure TASKS with a backend that has workers.",
                    id="ptrack.E012",
                )
            ]
        backend = tasks.task_for(recorder).get_backend()
    except Exception as e:
        return [
            Error(
                f"Recorder {name} records in the background, but its task backend is not "
                f"usable: {e}",
                hint="Check TASKS and the recorder's task_options.",
                id="ptrack.E014",
            )
        ]
    kind = type(backend).__name__
    if kind == "DummyBackend":
        return [
            Error(
                f"Recorder {name} records in the background, but its task backend "
                f"{backend.alias!r} is a DummyBackend, which never runs tasks: every event "
                f"would be lost.",
                hint="Configure a backend with workers in TASKS, e.g. django-tasks-db.",
                id="ptrack.E015",
            )
        ]
    if kind == "ImmediateBackend":
        return [
            Warning(
                f"Recorder {name} records in the background, but its task backend "
                f"{backend.alias!r} is an ImmediateBackend, which runs it during the request.",
                hint="Configure a backend with workers in TASKS, e.g. django-tasks-db or RQ.",
                id="ptrack.W003",
            )
        ]
    return []


_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


def check_request_first(recorder: Any) -> list[CheckMessage]:
    """django-ptrack 3.x called ``record(request, *args, **kwargs)``; ptrack passes no request."""
    from ptrack.registry import TrackingPixel

    if type(recorder).record_event is not TrackingPixel.record_event:
        return []  # ptrack calls record_event(), which this recorder overrides
    try:
        parameters = list(inspect.signature(recorder.record).parameters.values())
    except (TypeError, ValueError):  # pragma: no cover - a callable without a signature
        return []
    first = parameters[0] if parameters else None
    if first is None or first.name != "request" or first.kind not in _POSITIONAL:
        return []
    name = f"{type(recorder).__module__}.{type(recorder).__qualname__}"
    return [
        Warning(
            f"Recorder {name}.record() takes 'request' first, as django-ptrack 3.x called "
            f"it; ptrack now calls record(*args, **kwargs) with the link's arguments only, "
            f"so 'request' would receive the first of them.",
            hint="Remove the request parameter, or override record_event(self, event) "
            "instead: event.ip, event.user_agent and event.referer carry the request's "
            "context.",
            id="ptrack.W005",
        )
    ]
