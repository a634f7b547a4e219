"""Tracking a whole rendered email: every trackable link becomes a click link, and
the open pixel goes in at the end of the body.

The HTML is not parsed into a tree and serialized again: a tokenizer that
follows the HTML standard's rules for where tags, attributes, comments and raw
text begin and end finds the ``href`` values, and only those values are
replaced. Everything else, from Outlook's conditional comments to unquoted
attributes and stray bytes, comes out exactly as it went in.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Iterator
from html.entities import html5 as _ENTITIES
from typing import NamedTuple

from ptrack.conf import conf
from ptrack.exceptions import InvalidDestination
from ptrack.links import (
    CLICK_URL_NAME,
    PIXEL_URL_NAME,
    Expiry,
    Pixel,
    link_maker,
    path_around_token,
)

logger = logging.getLogger("ptrack")

# The attribute an author puts on a link to keep it as it is, and the one that names it.
OFF_ATTRIBUTE = "data-ptrack"
OFF_VALUES = frozenset({"off", "false", "no", "0"})
NAME_ATTRIBUTE = "data-ptrack-name"

_WS = "\t\n\f\r "
# One step inside a tag: whitespace or "/" between attributes, or an attribute
# with its value. A value that opens a quote runs to the closing quote (or the
# end of the document, where the standard drops the unfinished tag).
_ATTRIBUTE = (
    r"[^\t\n\f\r />][^\t\n\f\r />=]*"
    r"(?:[\t\n\f\r ]*=[\t\n\f\r ]*(?:\"[^\"]*\"?|'[^']*'?|[^\t\n\f\r >]*))?"
)
# The rest of a tag that does not matter, up to its ">": one pass over runs of
# characters other than "=" and ">", and "=" with the value it introduces. This
# is the standard's tokenizer except for an attribute whose name begins with
# "=" and a quote ('<p ="x>y">'), which nobody writes; the tags that matter
# are read attribute by attribute (_ATTRIBUTES).
_TAG_REST = r"""[^=>]*(?:=[\t\n\f\r ]*(?:"[^"]*"?|'[^']*'?|[^\t\n\f\r >]*)[^=>]*)*>?"""
# Start tags that matter: links, VML shapes, elements whose content is raw text,
# and (when looking for an existing pixel) images; end tags: </body>, </html>.
_WANTED = r"a|script|style|textarea|title|xmp|iframe|noembed|noframes|plaintext"
_WANTED_END = r"body|html"


def _scanner(wanted: str) -> re.Pattern[str]:
    """The regex that skips, inside the regex engine, every construct that does
    not matter, then matches the next one that does.

    Skipped: text, comments, the opener and closer of Outlook's conditional
    comments (whose content Outlook renders, so it is scanned as markup),
    doctypes, processing instructions and all other tags. Every "<" starts
    either a skipped construct or one that matters, and the match of the
    latter is optional, so the regex never fails and never backtracks: its
    time is linear in the document, whatever the document.
    """
    boring = (
        r"!--\[if[^\]>]{0,200}\]>"
        r"|!--(?:>|->|.*?(?:--!?>|\Z))"
        r"|[!?][^>]*>?"
        rf"|/(?!(?i:{_WANTED_END})[\t\n\f\r />])[A-Za-z]{_TAG_REST}"
        r"|/[^A-Za-z][^>]*>?"
        rf"|(?!(?i:(?:{wanted})[\t\n\f\r />]|v:))[A-Za-z]{_TAG_REST}"
        r"|(?![A-Za-z!?/])"
    )
    return re.compile(
        rf"(?:[^<]+|<(?:{boring}))*"
        r"(?:<(?P<end>/)?(?P<name>[A-Za-z][^\t\n\f\r />]*)"
        rf"(?P<attrs>(?:[\t\n\f\r /]+|{_ATTRIBUTE})*)(?P<close>>)?)?",
        re.DOTALL,
    )


_SCAN = _scanner(_WANTED)
_SCAN_WITH_IMAGES = _scanner(_WANTED + "|img")
_ATTRIBUTES = re.compile(
    r"(?P<name>[^\t\n\f\r />][^\t\n\f\r />=]*)"
    r"(?:[\t\n\f\r ]*=[\t\n\f\r ]*(?P<value>\"[^\"]*\"?|'[^']*'?|[^\t\n\f\r >]*))?"
)
# Elements whose content is text up to their end tag, never markup.
_RAW_TEXT = frozenset(
    {"script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes"}
)
_RAW_END = {name: re.compile(rf"</{name}[\t\n\f\r />]", re.IGNORECASE) for name in _RAW_TEXT}
_CHARREF = re.compile(r"&(#[xX][0-9a-fA-F]+;?|#[0-9]+;?|[A-Za-z][A-Za-z0-9]*;?)")
# Template syntax left in a rendered email (Django/Jinja2, Mailchimp merge tags,
# Liquid, ERB, Handlebars, ...): the sender fills it in later, so it is no URL yet.
_PLACEHOLDER = re.compile(r"\{\{|\{%|\*\||\|\*|%%|\[\[|\$\{|<%")
# A URL's parser removes tabs and newlines anywhere and C0 controls and spaces at the ends.
_URL_NEWLINES = re.compile(r"[\t\n\r]")
_URL_STRIP = "".join(chr(c) for c in range(0x21))
# Characters a rewritten value may hold without quotes.
_UNQUOTED_OK = re.compile(r"[^\t\n\f\r \"'=<>`&]+")


class _Link(NamedTuple):
    start: int  # where the href value starts in the document (its quote included)
    end: int  # where it ends
    quote: str  # the quote character around the value, "" for none
    destination: str  # the href as a browser reads it
    name: str  # the author's data-ptrack-name, "" if none


def instrument_html(
    html_text: str,
    pixel: Pixel,
    *,
    expires: Expiry = None,
    track_clicks: bool = True,
    track_opens: bool = True,
) -> str:
    """``html_text`` with its links tracked by click links and the open pixel added.

    Every ``<a href>`` (and VML shape ``href`` in Outlook's conditional
    comments) with an absolute http(s) URL becomes a click link carrying
    ``pixel``'s data, named by its ``data-ptrack-name`` or else by its position
    ("1", "2", ...) among the rewritten links. Left alone: ``mailto:``,
    ``tel:``, anchors, relative URLs, template placeholders, ptrack links and
    links marked ``data-ptrack="off"``. The pixel goes before the last
    ``</body>`` (else ``</html>``, else at the end) unless the document already
    has a ptrack pixel. ``expires`` applies to the pixel and every link.
    Everything else is returned byte for byte.
    """
    if not isinstance(html_text, str):
        raise TypeError(
            f"instrument_html() takes the rendered HTML as a str, not {type(html_text).__name__}; "
            f"decode bytes first."
        )
    if not isinstance(pixel, Pixel):
        raise TypeError(
            f"instrument_html() takes a ptrack.Pixel(...) with the recipient's data, not {pixel!r}."
        )
    click_prefix, pixel_prefix = url_prefixes()

    links: list[_Link] = []
    ends = {"body": -1, "html": -1, "plaintext": -1}  # where the last of each tag starts
    has_pixel = False
    for kind, start, link in _scan(html_text, pixel_prefix):
        if link is not None:
            links.append(link)
        elif kind == "pixel":
            has_pixel = True
        else:
            ends[kind] = start

    edits: list[tuple[int, int, str]] = []  # (start, end, replacement), in document order
    if track_clicks and links:
        make_link = link_maker(pixel.args, pixel.kwargs, expires=expires)
        position = 0
        for link in links:
            if not trackable(link.destination, click_prefix):
                continue
            try:
                url = make_link(link.destination, link.name or str(position + 1))
            except InvalidDestination as e:
                logger.warning("Left a link untracked: %s", e)
                continue
            position += 1
            edits.append((link.start, link.end, _attribute_value(url, link.quote)))
    if track_opens and not has_pixel:
        # Before </body>, else </html>, else <plaintext> (after which all is text), else last.
        at = next((at for at in ends.values() if at >= 0), len(html_text))
        edits.append((at, at, str(pixel.img(expires=expires))))
        edits.sort(key=lambda edit: edit[0])
    if not edits:
        return html_text
    parts: list[str] = []
    done = 0
    for start, end, replacement in edits:
        parts += (html_text[done:start], replacement)
        done = end
    parts.append(html_text[done:])
    return "".join(parts)


def _scan(text: str, pixel_prefix: str) -> Iterator[tuple[str, int, _Link | None]]:
    """The links, existing pixels and ``</body>``/``</html>`` end tags of ``text``, in order."""
    match_at = (_SCAN_WITH_IMAGES if pixel_prefix in text else _SCAN).match
    pos = 0
    while True:
        match = match_at(text, pos)
        if match is None or match["close"] is None:
            return  # the rest is text or skipped markup, or a tag cut off by the end
        pos = match.end()
        lowered = match["name"].lower()
        if match["end"]:
            yield lowered, match.start("end") - 1, None
        elif lowered == "a" or lowered.startswith("v:"):
            link = _link(match)
            if link is not None:
                yield "link", link.start, link
        elif lowered == "img":
            src = _attributes(match).get("src")
            if src is not None and _url(text, src).startswith(pixel_prefix):
                yield "pixel", match.start("name") - 1, None
        elif lowered == "plaintext":
            yield lowered, match.start("name") - 1, None  # the rest is text
            return
        else:
            end = _RAW_END[lowered].search(text, pos)
            if end is None:
                return
            pos = end.start()


def _attributes(match: re.Match[str]) -> dict[str, tuple[int, int]]:
    """Each attribute's lowercased name and the span of its raw value; the first one wins."""
    found: dict[str, tuple[int, int]] = {}
    text = match.string
    for attribute in _ATTRIBUTES.finditer(text, match.start("attrs"), match.end("attrs")):
        key = attribute[1].lower()
        if key not in found:
            found[key] = attribute.span(2)  # (-1, -1) for an attribute without a value
    return found


def _link(match: re.Match[str]) -> _Link | None:
    attributes = _attributes(match)
    href = attributes.get("href")
    if href is None or href[0] < 0:
        return None
    text = match.string
    off = attributes.get(OFF_ATTRIBUTE)
    if off is not None and _value(text, off).strip(_WS).lower() in OFF_VALUES:
        return None
    name_span = attributes.get(NAME_ATTRIBUTE)
    name = _value(text, name_span).strip(_WS) if name_span is not None else ""
    start, end = href
    quote = text[start] if text[start : start + 1] in ('"', "'") else ""
    return _Link(start, end, quote, _url(text, href), name)


def _value(text: str, span: tuple[int, int]) -> str:
    """An attribute's value as a browser reads it: unquoted, character references decoded."""
    start, end = span
    if start < 0:
        return ""
    raw = text[start:end]
    if raw[:1] in ('"', "'"):
        raw = raw[1:-1] if len(raw) > 1 and raw[-1] == raw[0] else raw[1:]
    return _unescape_attribute(raw) if "&" in raw else raw


def _url(text: str, span: tuple[int, int]) -> str:
    url = _value(text, span).strip(_URL_STRIP)
    return _URL_NEWLINES.sub("", url) if _URL_NEWLINES.search(url) else url


def _unescape_attribute(value: str) -> str:
    """Decode character references the way the HTML standard does inside attribute values.

    Unlike in text, a named reference without its ";" followed by "=" or a
    letter or digit stays as written: ``?a=1&copy=2`` keeps ``&copy``.
    """

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


def url_prefixes() -> tuple[str, str]:
    """How this site's click URLs and pixel URLs begin."""
    app_url = conf.APP_URL.rstrip("/")
    return (
        app_url + path_around_token(CLICK_URL_NAME)[0],
        app_url + path_around_token(PIXEL_URL_NAME)[0],
    )


def trackable(destination: str, click_prefix: str) -> bool:
    """Whether a link to ``destination`` is to become a click link (if it can)."""
    lowered = destination[:8].lower()
    if not lowered.startswith(("http://", "https://")):
        return False  # mailto:, tel:, #anchors, relative URLs, javascript:, ...
    return not (_PLACEHOLDER.search(destination) or destination.startswith(click_prefix))


def _attribute_value(url: str, quote: str) -> str:
    if _UNQUOTED_OK.fullmatch(url):  # the usual click URL: nothing to escape
        return quote + url + quote
    return (quote or '"') + html.escape(url, quote=True) + (quote or '"')
