"""ptrack.htmlscan: the tags a scan finds, attribute values read and written, and no Django."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ptrack import htmlscan
from ptrack.htmlscan import (
    Scanner,
    Tag,
    attribute_quote,
    attribute_url,
    attribute_value,
    write_attribute_value,
)

LINKS = Scanner(("a",), ("body",), prefix="v:")


def test_it_imports_neither_django_nor_the_rest_of_ptrack() -> None:
    # Loaded from its file, so that ptrack/__init__.py (which needs Django) stays out of it.
    script = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('htmlscan', {htmlscan.__file__!r})\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(module)\n"
        "print(sorted(n for n in sys.modules if n.split('.')[0] in ('django', 'ptrack')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout == "[]\n"


def test_a_scan_yields_the_wanted_tags_in_order_and_skips_the_rest() -> None:
    text = (
        '<p title="<a href=x>"><!-- <a href=y> --><script><a href=z></script>'
        "<A HREF=one><V:ROUNDRECT href='two'></v:roundrect><aside></BODY ><plaintext><a href=w>"
    )
    tags = list(LINKS.tags(text))
    assert [(tag.name, tag.end) for tag in tags] == [
        ("a", False),
        ("v:roundrect", False),
        ("body", True),
        ("plaintext", False),
    ]
    a, vml, body, plaintext = tags
    assert text[a.start :].startswith("<A HREF")
    assert attribute_value(text, a.attributes["href"]) == "one"
    assert text[vml.start :].startswith("<V:ROUNDRECT")
    assert attribute_quote(text, vml.attributes["href"]) == "'"
    assert body == Tag("body", text.index("</BODY"), True, {})
    assert text[plaintext.start :].startswith("<plaintext>")


@pytest.mark.parametrize(
    "text",
    ["<a href=x", "<style><a href=x>", '<a href="x>', "<!-- <a href=x>"],
    ids=["tag-cut-off", "raw-text-open", "quote-open", "comment-open"],
)
def test_nothing_cut_off_by_the_end_is_a_tag(text: str) -> None:
    assert list(LINKS.tags(text)) == []


def test_attributes_first_one_wins_and_a_bare_one_has_no_span() -> None:
    text = '<a HREF="1" href="2" hidden data-x=\'&lt;\'>'
    [tag] = LINKS.tags(text)
    assert set(tag.attributes) == {"href", "hidden", "data-x"}
    assert attribute_value(text, tag.attributes["href"]) == "1"
    assert tag.attributes["hidden"] == (-1, -1)
    assert attribute_value(text, (-1, -1)) == ""
    assert attribute_quote(text, (-1, -1)) == ""
    assert attribute_value(text, tag.attributes["data-x"]) == "<"


@pytest.mark.parametrize(
    ("raw", "value", "url"),
    [
        ('"a&amp;b"', "a&b", "a&b"),
        ("'?a=1&copy=2'", "?a=1&copy=2", "?a=1&copy=2"),
        ('"&copy;&#x41;&#66"', "\u00a9AB", "\u00a9AB"),
        ('" https://e.\nexample/\t"', " https://e.\nexample/\t", "https://e.example/"),
        ('"unclosed', "unclosed", "unclosed"),
        ("bare", "bare", "bare"),
    ],
)
def test_attribute_values_read_as_browsers_do(raw: str, value: str, url: str) -> None:
    text = f"<a href={raw}>"
    span = (8, 8 + len(raw))
    assert attribute_value(text, span) == value
    assert attribute_url(text, span) == url


@pytest.mark.parametrize(
    ("value", "quote", "written"),
    [
        ("https://e.example/c/t/", "", "https://e.example/c/t/"),
        ("https://e.example/c/t/", "'", "'https://e.example/c/t/'"),
        ("a&b c", "", '"a&amp;b c"'),
        ('it\'s "x"', "'", "'it&#x27;s &quot;x&quot;'"),
    ],
)
def test_attribute_values_are_written_back_escaped(value: str, quote: str, written: str) -> None:
    assert write_attribute_value(value, quote) == written
