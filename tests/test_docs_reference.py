"""The settings and checks reference pages cover exactly what the code reads and emits.

The names come from the code: every ``PTRACK_*`` name in ptrack's source (``ptrack.conf``'s
properties are cross-checked) and every ``ptrack.E0xx``/``W0xx`` id in it. A setting the code
reads, or a check id it can emit, that the reference lacks fails here, and so does a
reference entry the code no longer knows.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import override_settings
from freezegun import freeze_time

from ptrack import checks
from ptrack.checks.store import check_store
from ptrack.conf import Settings
from tests.helpers import CHECK_ID, REPO, ptrack_source

DOCS = REPO / "docs"
SOURCE = ptrack_source()

SETTING = re.compile(r"\bPTRACK_[A-Z][A-Z0-9_]*[A-Z0-9]\b")


def sections(page: str, pattern: str) -> dict[str, str]:
    """The text under each heading of ``page`` whose title matches ``pattern``, by name."""
    text = (DOCS / page).read_text()
    found: dict[str, str] = {}
    headings = list(re.finditer(rf"^#+ `({pattern})`\n", text, re.MULTILINE))
    for heading, following in zip(headings, [*headings[1:], None], strict=True):
        end = following.start() if following else len(text)
        body = text[heading.end() : end]
        found[heading.group(1)] = re.split(r"^#+ ", body, maxsplit=1, flags=re.MULTILINE)[0]
    return found


SETTINGS_REFERENCE = sections("settings.md", r"PTRACK_\w+")
CHECKS_REFERENCE = sections("checks.md", r"ptrack\.[EW]\d{3}")


def test_the_source_scan_finds_every_setting_of_the_conf_object() -> None:
    # conf.X reads PTRACK_X; conf.RAW_X gives PTRACK_X as set, for the checks; and
    # conf.SECRET_KEY is Django's own setting.
    properties = {
        f"PTRACK_{name.removeprefix('RAW_')}"
        for name, value in vars(Settings).items()
        if isinstance(value, property) and name != "SECRET_KEY"
    }
    assert properties
    assert properties <= set(SETTING.findall(SOURCE))


def test_every_setting_the_code_reads_is_in_the_reference() -> None:
    assert set(SETTING.findall(SOURCE)) - set(SETTINGS_REFERENCE) == set()


def test_the_reference_has_no_setting_the_code_does_not_read() -> None:
    assert set(SETTINGS_REFERENCE) - set(SETTING.findall(SOURCE)) == set()


def test_every_check_id_the_code_can_emit_is_in_the_reference() -> None:
    assert set(CHECK_ID.findall(SOURCE)) - set(CHECKS_REFERENCE) == set()


def test_the_reference_has_no_check_id_the_code_does_not_emit() -> None:
    assert set(CHECKS_REFERENCE) - set(CHECK_ID.findall(SOURCE)) == set()


def test_every_check_entry_says_what_to_do() -> None:
    for check_id, body in CHECKS_REFERENCE.items():
        assert "**Fix:**" in body, check_id


def test_every_setting_has_a_type_a_default_an_example_and_its_check_ids() -> None:
    for name, body in SETTINGS_REFERENCE.items():
        assert "| Type | Default | Checks |" in body, name
        assert re.search(r"^```python\n.*" + name + r" = ", body, re.MULTILINE | re.DOTALL), name
        lines = body.splitlines()
        table = lines[lines.index("|---|---|---|") + 1]
        in_table = set(CHECK_ID.findall(table))
        assert in_table, f"{name} lists no check"
        # The ids its text names are the ones its table links, and each is in the reference.
        assert set(CHECK_ID.findall(body)) == in_table, name
        assert in_table <= set(CHECKS_REFERENCE), name


def example_settings(body: str) -> dict[str, Any]:
    namespace: dict[str, Any] = {}
    for block in re.findall(r"^```python\n(.*?)^```", body, re.MULTILINE | re.DOTALL):
        exec(block, namespace)
    return {key: value for key, value in namespace.items() if key.startswith("PTRACK_")}


# Warnings about the machine rather than the value: the example's file need not exist here.
ABOUT_THE_MACHINE = {"ptrack.W010"}


@pytest.mark.parametrize("name", sorted(SETTINGS_REFERENCE))
@freeze_time("2026-12-01")
def test_each_settings_example_passes_the_checks_that_guard_it(name: str) -> None:
    body = SETTINGS_REFERENCE[name]
    values = example_settings(body)
    assert name in values
    with override_settings(**values):
        messages = [*checks.check_settings(), *checks.check_deploy(), *check_store()]
    guarding = set(CHECK_ID.findall(body)) - ABOUT_THE_MACHINE
    assert [m for m in messages if m.id in guarding] == []
