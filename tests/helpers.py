"""Small helpers the test modules share: rendering, tampering, reading links back."""

from __future__ import annotations

import functools
import re
import string
import textwrap
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import django
from asgiref.sync import async_to_sync
from django.template import Context, Template
from django.test import AsyncClient, override_settings

import ptrack
from ptrack import tracking

REPO = Path(__file__).resolve().parent.parent
CHECK_ID = re.compile(r"\bptrack\.[EW]\d{3}\b")

# The signing time of the ``frozen`` fixture (conftest.py).
T0 = datetime(2026, 5, 1, 8, 0, tzinfo=timezone.utc)


def render(source: str, **context: Any) -> str:
    """``source`` rendered as a Django template, with ptrack's tags loaded."""
    return Template("{% load ptrack %}" + source).render(Context(context))


_BASE64URL = string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_"


def flip(text: str, index: int, char: str | None = None) -> str:
    """``text`` with the character at ``index`` changed (to ``char``, or to another one).

    A base64 character gets its top bit flipped: the last character of a base64 string can
    carry unused low bits, so changing only those (``A`` to ``B``) may decode to the same
    bytes and leave a signature valid.
    """
    index %= len(text)  # -1 is the last character, as in text[-1]
    if char is None:
        position = _BASE64URL.find(text[index])
        char = _BASE64URL[position ^ 32] if position >= 0 else "B"
    return text[:index] + char + text[index + 1 :]


def clicks_in(text: str, pixel: ptrack.Pixel, pattern: re.Pattern[str]) -> list[tuple[str, str]]:
    """(destination, link name) of each click link ``pattern`` finds in ``text``, in order.

    Each is verified, and must carry ``pixel``'s arguments.
    """
    found = []
    for match in pattern.finditer(text):
        destination, event = tracking.verify_click(match[1])
        assert event is not None, match[0]
        assert (event.args, dict(event.kwargs)) == (pixel.args, pixel.kwargs)
        found.append((event.destination, event.link_name))
        assert destination == event.destination
    return found


def snippet(page: Path, marker: str) -> str:
    """The code block that follows ``<!-- MARKER -->`` in ``page`` (the README, a docs page)."""
    match = re.search(rf"<!-- {marker} -->\s*```\w*\n(.*?)```", page.read_text(), re.DOTALL)
    assert match, f"{page.relative_to(REPO)} has no {marker} block"
    return textwrap.dedent(match.group(1))


def aget(path: str) -> Any:
    """One GET through Django's ASGI handler."""

    async def get() -> Any:
        return await AsyncClient().get(path)

    return async_to_sync(get)()


@functools.cache
def ptrack_source() -> str:
    """The text of every module of the ``ptrack`` package: what the code can read and emit."""
    return "\n".join(path.read_text() for path in sorted((REPO / "ptrack").rglob("*.py")))


def tracking_in_front_of(path: str) -> override_settings:
    """The tracking email backend as the default one, wrapping the backend at ``path``
    (through ``MAILERS`` on Django 6.1+, which deprecates ``EMAIL_BACKEND``)."""
    tracking_backend = "ptrack.mail.TrackingEmailBackend"
    if django.VERSION >= (6, 1):
        return override_settings(
            MAILERS={"default": {"BACKEND": tracking_backend}}, PTRACK_EMAIL_BACKEND=path
        )
    return override_settings(EMAIL_BACKEND=tracking_backend, PTRACK_EMAIL_BACKEND=path)
