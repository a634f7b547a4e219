"""The test suite's own layout: shared harnesses live in support modules, not in tests.

A test module that imports another one runs that module's code (fixtures, module-level
skips) where nobody reading it looks, and ties the two together; what both need belongs in
``conftest.py`` or a support module (``tests/fronts.py``, ``tests/helpers.py``, ...).
A dotted path in a string (a setting naming a class) counts too: Django imports it.
"""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest
from itsdangerous.encoding import base64_decode

from tests.helpers import flip

TESTS = Path(__file__).resolve().parent
TEST_MODULE = re.compile(r"^tests\.(test_\w+)")


def other_test_modules_imported(path: Path) -> list[str]:
    """The test modules other than ``path``'s own that ``path`` imports, or names by dotted path."""
    own = path.stem
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text())):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # a relative import: from . import test_x, from .test_x import y
                base = "tests" + ("." + base if base else "")
            names = [base] + [f"{base}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            names = [node.value]
        for name in names:
            match = TEST_MODULE.match(name)
            if match and match[1] != own:
                found.append(match[1])
    return sorted(set(found))


def test_no_test_module_imports_another() -> None:
    modules = [p for p in sorted(TESTS.rglob("*.py")) if "data" not in p.relative_to(TESTS).parts]
    assert len(modules) > 40
    offenders = {
        str(path.relative_to(TESTS)): imported
        for path in modules
        if (imported := other_test_modules_imported(path))
    }
    assert offenders == {}


def test_each_way_of_importing_a_test_module_is_found(tmp_path: Path) -> None:
    cases = {
        "import tests.test_views": ["test_views"],
        "import tests.test_views as views": ["test_views"],
        "from tests.test_views import assert_pixel": ["test_views"],
        "from tests import test_views": ["test_views"],
        "from tests import helpers, test_views": ["test_views"],
        "from . import test_views": ["test_views"],
        "from .test_views import assert_pixel": ["test_views"],
        "def f():\n    from tests.test_views import assert_pixel": ["test_views"],
        'ENCODER = "tests.test_encoders.Base64Encoder"': ["test_encoders"],
        # Its own module, and support modules, are fine.
        'BACKEND = "tests.test_example.Backend"': [],
        "from tests.helpers import render": [],
        "from tests import helpers": [],
        "from tests.conftest import Recorded": [],
    }
    module = tmp_path / "test_example.py"
    for source, expected in cases.items():
        module.write_text(source + "\n")
        assert other_test_modules_imported(module) == expected, source


def test_the_development_page_maps_every_module_to_tests_that_exist() -> None:
    """docs/development.md's table names each module of ``ptrack/`` and only real test modules."""
    page = (TESTS.parent / "docs" / "development.md").read_text()
    section = page.split("## Where the tests are", 1)[1].split("\n## ", 1)[0]
    rows = dict(re.findall(r"^\| `([\w/]+\.py)`[^|]*\| (.+) \|$", section, re.MULTILINE))
    package = TESTS.parent / "ptrack"
    modules = {
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if path.stat().st_size  # the empty __init__.py of management/ and templatetags/
    }
    assert sorted(modules - set(rows)) == []
    assert sorted(set(rows) - modules) == []
    named = {name for tests in rows.values() for name in re.findall(r"`(test_\w+\.py)`", tests)}
    assert sorted(name for name in named if not (TESTS / name).exists()) == []


@pytest.mark.parametrize("last", list(string.ascii_letters + string.digits + "-_"))
def test_flip_changes_what_a_base64_signature_decodes_to(last: str) -> None:
    # A 20-byte HMAC is 27 base64 characters whose last one carries two unused bits:
    # a tamper that changed only those left the signature valid, and a test that
    # expected a refusal failed on about one token in sixteen.
    signature = "A" * 26 + last
    decoded = base64_decode(signature)
    assert base64_decode(flip(signature, -1)) != decoded
    assert base64_decode(flip(signature, 3)) != decoded
