"""Reading and writing HTML as browsers do, without parsing it into a tree.

A tokenizer that follows the HTML standard's rules for where tags, attributes,
comments and raw text begin and end finds the tags a caller asks for and the
spans of their attribute values; the caller splices its replacements there, so
everything else, from Outlook's conditional comments to unquoted attributes and
stray bytes, comes out exactly as it went in. Plain Python: it imports neither
Django nor any other ptrack module.
"""

from __future__ import annotations

import html
import re
import sys
from collections.abc import Collection, Iterator
from html.entities import html5 as _ENTITIES
from typing import NamedTuple


def _possessive(pattern: str) -> str:
    """``pattern`` as written, with possessive quantifiers (``*+``, ``++``), from Python 3.11.

    These patterns never backtrack, so a possessive quantifier matches what a
    greedy one does; it only spares the regex engine saving the state it would
    need to backtrack, a third of its work on an email. Python 3.10 gets the
    greedy ones.
    """
    if sys.version_info >= (3, 11):
        return pattern
    return pattern.replace("*+", "*").replace("++", "+")  # pragma: no cover - 3.10


def _caseless(name: str) -> str:
    """``name`` as a pattern matching it in any ASCII case: ``[aA]``, not ``(?i:a)``,
    which lowercases each character it compares."""
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else re.escape(c) for c in name)


# What HTML counts as whitespace between attributes and around their values.
WHITESPACE = "\t\n\f\r "
# One step inside a tag: whitespace or "/" between attributes, or an attribute
# with its value. A value that opens a quote runs to the closing quote (or the
# end of the document, where the standard drops the unfinished tag).
_ATTRIBUTE = (
    r"[^\t\n\f\r />][^\t\n\f\r />=]*+"
    r"(?:[\t\n\f\r ]*+=[\t\n\f\r ]*+(?:\"[^\"]*+\"?|'[^']*+'?|[^\t\n\f\r >]*+))?"
)
# The rest of a tag that does not matter, up to its ">": one pass over runs of
# characters other than "=" and ">", and "=" with the value it introduces. This
# is the standard's tokenizer except for an attribute whose name begins with
# "=" and a quote ('<p ="x>y">'), which nobody writes; the tags that matter
# are read attribute by attribute (_ATTRIBUTES).
_TAG_REST = r"""[^=>]*+(?:=[\t\n\f\r ]*+(?:"[^"]*+"?|'[^']*+'?|[^\t\n\f\r >]*+)[^=>]*+)*+>?"""
_ATTRIBUTES = re.compile(
    _possessive(
        r"(?P<name>[^\t\n\f\r />][^\t\n\f\r />=]*+)"
        r"(?:[\t\n\f\r ]*+=[\t\n\f\r ]*+(?P<value>\"[^\"]*+\"?|'[^']*+'?|[^\t\n\f\r >]*+))?"
    )
)
# Elements whose content is text up to their end tag, never markup.
_RAW_TEXT = ("script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes")
_RAW_END = {name: re.compile(rf"</{name}[\t\n\f\r />]", re.IGNORECASE) for name in _RAW_TEXT}
# After <plaintext>, all is text: the document has no end.
_PLAINTEXT = "plaintext"
_CHARREF = re.compile(r"&(#[xX][0-9a-fA-F]+;?|#[0-9]+;?|[A-Za-z][A-Za-z0-9]*;?)")
# A URL's parser removes tabs and newlines anywhere and C0 controls and spaces at the ends.
_URL_NEWLINES = re.compile(r"[\t\n\r]")
_URL_STRIP = "".join(chr(c) for c in range(0x21))
# Characters a written value may hold without quotes.
_UNQUOTED_OK = re.compile(r"[^\t\n\f\r \"'=<>`&]+")

Span = tuple[int, int]


class Tag(NamedTuple):
    """A tag that a scan was asked for."""

    name: str  # its name, lowercased
    start: int  # where its "<" is in the document
    end: bool  # an end tag (</body>), which has no attributes here
    # Each attribute's lowercased name and the span of its raw value, quotes
    # included, or (-1, -1) for an attribute without one; the first one wins.
    attributes: dict[str, Span]


class Scanner:
    """Finds the start and end tags it is built for in a document, skipping everything else.

    Skipped: text, comments, the opener and closer of Outlook's conditional
    comments (whose content Outlook renders, so it is scanned as markup),
    doctypes, processing instructions, all other tags, and the content of raw
    text elements (``<script>``, ``<style>``, ``<title>``, ...). A
    ``<plaintext>`` start tag, after which all is text, ends every scan and is
    its last tag. ``prefix`` adds the start tags whose name begins with it, in any
    case (``"v:"`` for Outlook's VML shapes).
    """

    def __init__(
        self, start_tags: Collection[str], end_tags: Collection[str], prefix: str = ""
    ) -> None:
        self._match = _scanner(
            "|".join(_caseless(name) for name in (*start_tags, *_RAW_TEXT, _PLAINTEXT)),
            "|".join(_caseless(name) for name in end_tags),
            _caseless(prefix),
        ).match

    def tags(self, text: str) -> Iterator[Tag]:
        """The wanted tags of ``text``, in document order; a tag cut off by the end is none."""
        match_at = self._match
        pos = 0
        while True:
            match = match_at(text, pos)
            if match is None or match["close"] is None:
                return  # the rest is text or skipped markup, or a tag cut off by the end
            pos = match.end()
            name = match["name"].lower()
            if match["end"]:
                yield Tag(name, match.start("end") - 1, True, {})
            elif name in _RAW_END:
                end = _RAW_END[name].search(text, pos)
                if end is None:
                    return
                pos = end.start()
            else:
                yield Tag(name, match.start("name") - 1, False, _attributes(match))
                if name == _PLAINTEXT:
                    return


def _scanner(wanted: str, wanted_end: str, prefix: str) -> re.Pattern[str]:
    """The regex that skips, inside the regex engine, every construct that does
    not matter, then matches the next one that does.

    Every "<" starts either a skipped construct or one that matters, and the
    match of the latter is optional, so the regex never fails and never
    backtracks: its time is linear in the document, whatever the document.
    """
    prefixed = f"|{prefix}" if prefix else ""
    boring = (
        r"!--\[if[^\]>]{0,200}\]>"
        r"|!--(?:>|->|.*?(?:--!?>|\Z))"
        r"|[!?][^>]*+>?"
        rf"|/(?!(?:{wanted_end})[\t\n\f\r />])[A-Za-z]{_TAG_REST}"
        r"|/[^A-Za-z][^>]*+>?"
        rf"|(?!(?:{wanted})[\t\n\f\r />]{prefixed})[A-Za-z]{_TAG_REST}"
        r"|(?![A-Za-z!?/])"
    )
    pattern = (
        rf"(?:[^<]++|<(?:{boring}))*+"
        r"(?:<(?P<end>/)?(?P<name>[A-Za-z][^\t\n\f\r />]*+)"
        rf"(?P<attrs>(?:[\t\n\f\r /]++|{_ATTRIBUTE})*+)(?P<close>>)?)?"
    )
    return re.compile(_possessive(pattern), re.DOTALL)


def _attributes(match: re.Match[str]) -> dict[str, Span]:
    found: dict[str, Span] = {}
    for attribute in _ATTRIBUTES.finditer(match.string, match.start("attrs"), match.end("attrs")):
        key = attribute[1].lower()
        if key not in found:
            found[key] = attribute.span(2)
    return found


def attribute_value(text: str, span: Span) -> str:
    """An attribute's value as a browser reads it: unquoted, character references decoded."""
    start, end = span
    if start < 0:
        return ""
    raw = text[start:end]
    if raw[:1] in ('"', "'"):
        raw = raw[1:-1] if len(raw) > 1 and raw[-1] == raw[0] else raw[1:]
    if "\x00" in raw:  # the tokenizer reads a NUL in a value as U+FFFD
        raw = raw.replace("\x00", "\ufffd")
    return unescape_attribute(raw) if "&" in raw else raw


def attribute_url(text: str, span: Span) -> str:
    """An attribute's value as a URL parser reads it: also without the spaces and
    controls around it and the tabs and newlines in it."""
    url = attribute_value(text, span).strip(_URL_STRIP)
    if "\n" in url or "\t" in url or "\r" in url:  # faster than a regex on a long URL
        return _URL_NEWLINES.sub("", url)
    return url


def attribute_quote(text: str, span: Span) -> str:
    """The quote character an attribute's raw value opens with, "" if it is unquoted."""
    start = span[0]
    return text[start] if start >= 0 and text[start : start + 1] in ('"', "'") else ""


def write_attribute_value(value: str, quote: str) -> str:
    """``value`` written as an attribute value in ``quote`` ("" for none), escaped.

    A value that cannot go unquoted as it is gets double quotes.
    """
    if quote:
        # The usual URL has nothing to escape; "in" finds that faster than escape() does.
        if "&" in value or "<" in value or ">" in value or '"' in value or "'" in value:
            value = html.escape(value, quote=True)
        return quote + value + quote
    if _UNQUOTED_OK.fullmatch(value):
        return value
    return '"' + html.escape(value, quote=True) + '"'


def unescape_attribute(value: str) -> str:
    """Decode character references the way the HTML standard does inside attribute values.

    Unlike in text, a named reference without its ";" followed by "=" or a
    letter or digit stays as written: ``?a=1&copy=2`` keeps ``&copy``.
    """
    if value.count("&") == value.count("&amp;"):  # the usual URL's only references
        return value.replace("&amp;", "&")
    return _CHARREF.sub(_decode_reference, value)


def _decode_reference(match: re.Match[str]) -> str:
    ref = match[1]
    if ref == "amp;":
        return "&"
    if ref[0] == "#":
        return html.unescape(match[0])
    # With its ";", or one of the legacy names written without it.
    end = match.end()
    if ref in _ENTITIES and (ref.endswith(";") or match.string[end : end + 1] != "="):
        return _ENTITIES[ref]
    return match[0]
