"""The task backends the background tests run on, as ``TASKS`` settings.

Importable without a task framework (the backends are then never used: the
tests that need one skip).
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.utils.module_loading import import_string

from ptrack import tasks

IMMEDIATE = {"default": {"BACKEND": f"{tasks.FRAMEWORK}.backends.immediate.ImmediateBackend"}}
DUMMY = {"default": {"BACKEND": f"{tasks.FRAMEWORK}.backends.dummy.DummyBackend"}}
BROKEN = {"default": {"BACKEND": "tests.task_backends.UnreachableBackend"}}
SHARED = {"default": {"BACKEND": "tests.task_backends.SharedDummyBackend"}}
DummyBackend: Any = import_string(DUMMY["default"]["BACKEND"]) if tasks.FRAMEWORK else object


class UnreachableBackend(DummyBackend):  # type: ignore[misc]
    """A broker that is down."""

    def enqueue(self, task: Any, args: Any, kwargs: Any) -> Any:
        raise ConnectionError("broker is down")


class SharedDummyBackend(DummyBackend):  # type: ignore[misc]
    """A DummyBackend whose results every thread sees: batches are enqueued from a thread."""

    shared: ClassVar[list[Any]] = []

    def enqueue(self, task: Any, args: Any, kwargs: Any) -> Any:
        result = super().enqueue(task, args, kwargs)
        SharedDummyBackend.shared.append(result)
        return result


class Shared:
    results: list[Any] = SharedDummyBackend.shared

    def clear(self) -> None:
        self.results.clear()


def dummy_results() -> Shared:
    return Shared()
