"""Checks of plain values that several settings share: positive integers, seconds, callables."""

from __future__ import annotations

from django.core.checks import CheckMessage, Error
from django.utils.module_loading import import_string


def check_positive_int(name: str, value: object, check_id: str) -> list[CheckMessage]:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return []
    return [Error(f"{name} should be a positive integer, not {value!r}.", id=check_id)]


def check_seconds(
    name: str, value: object, check_id: str, *, none_ok: bool = False, hint: str | None = None
) -> list[CheckMessage]:
    if (value is None and none_ok) or (
        isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0
    ):
        return []
    allowed = "a positive number of seconds or None" if none_ok else "a positive number of seconds"
    return [Error(f"{name} should be {allowed}, not {value!r}.", hint=hint, id=check_id)]


def check_callable(name: str, value: object, check_id: str, hint: str) -> list[CheckMessage]:
    """``value`` is ``None``, a callable, or the dotted path of one."""
    if value is None:
        return []
    try:
        found = import_string(value) if isinstance(value, str) else value
    except ImportError as e:
        problem = f"it cannot be imported ({e})"
    else:
        if callable(found):
            return []
        problem = "it is not callable"
    return [
        Error(
            f"{name} should be a callable or its dotted path, not {value!r}: {problem}.",
            hint=hint,
            id=check_id,
        )
    ]
