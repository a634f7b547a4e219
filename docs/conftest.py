"""Runs the examples of the documentation pages as tests (Sybil).

Python blocks run in order, one namespace per page; ``>>>`` blocks are doctests; ``django``
blocks are rendered by Django's template engine, ``jinja`` blocks by the page's
``environment``. ``<!-- skip: next -->`` before a block
leaves it out. Recorders a page registers are unregistered after it, and the mail it sends
goes to Django's locmem outbox. pytest-randomly may
shuffle the pages, but a page's examples run together and in their order, since each builds
on the last.
"""

from __future__ import annotations

from doctest import ELLIPSIS, NORMALIZE_WHITESPACE
from typing import Any

import django
import pytest
from django.template import Context, Template
from django.test import override_settings
from sybil import Example, Sybil
from sybil.parsers.myst import (
    ClearNamespaceParser,
    CodeBlockParser,
    PythonCodeBlockParser,
    SkipParser,
)

from ptrack import tracker

_LOCMEM = "django.core.mail.backends.locmem.EmailBackend"


def _render_template(example: Example) -> None:
    Template(example.parsed).render(Context(example.namespace.get("template_context", {})))


def _render_jinja2(example: Example) -> None:
    environment = example.namespace["environment"]
    context = example.namespace.get("template_context", {})
    environment.from_string(example.parsed).render(context)


def _setup(namespace: dict[str, Any]) -> None:
    # The settings excerpts extend the project's lists and dicts.
    namespace.update(INSTALLED_APPS=[], CACHES={}, MIDDLEWARE=[])
    namespace["_registered_before"] = {type(recorder) for recorder in tracker.recorders}
    # Mail the examples send stays in django.core.mail.outbox.
    namespace["_mail"] = (
        override_settings(MAILERS={"default": {"BACKEND": _LOCMEM}})
        if django.VERSION >= (6, 1)
        else override_settings(EMAIL_BACKEND=_LOCMEM)
    )
    namespace["_mail"].enable()


def _teardown(namespace: dict[str, Any]) -> None:
    namespace["_mail"].disable()
    for recorder in tracker.recorders:
        if type(recorder) not in namespace["_registered_before"]:
            tracker.unregister(type(recorder))


pytest_collect_file = Sybil(
    parsers=[
        PythonCodeBlockParser(doctest_optionflags=ELLIPSIS | NORMALIZE_WHITESPACE),
        CodeBlockParser("django", _render_template),
        CodeBlockParser("jinja", _render_jinja2),
        SkipParser(),
        ClearNamespaceParser(),
    ],
    patterns=["*.md"],
    setup=_setup,
    teardown=_teardown,
    excludes=["changelog.md", "example.md"],
).pytest()


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run each page's examples together and in page order, the page where the shuffle put
    its first example. Interleaved with another page's, a page would be torn down and set up
    again between them, and one page's ``override_settings`` undone by another's."""
    pages: dict[Any, list[pytest.Item]] = {}
    slots: list[pytest.Item | list[pytest.Item]] = []
    for item in items:
        example = getattr(item, "example", None)
        if not isinstance(example, Example):
            slots.append(item)
        elif item.path in pages:
            pages[item.path].append(item)
        else:
            pages[item.path] = [item]
            slots.append(pages[item.path])
    items[:] = [
        one
        for slot in slots
        for one in (
            sorted(slot, key=lambda item: item.example.line)  # type: ignore[attr-defined]
            if isinstance(slot, list)
            else [slot]
        )
    ]
