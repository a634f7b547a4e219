"""Tracking a whole rendered email: every trackable link of its HTML or plain
text becomes a click link, and the open pixel goes in at the end of the body.

This module decides what is tracked (which links, their names, where the pixel
goes); ``ptrack.htmlscan`` reads the HTML as browsers do and writes back only
the ``href`` values replaced, so everything else comes out exactly as it went in.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple, TypedDict

from ptrack import clicks
from ptrack import utm as utm_tags
from ptrack.conf import conf
from ptrack.exceptions import InvalidDestination
from ptrack.htmlscan import (
    WHITESPACE,
    Scanner,
    Span,
    attribute_quote,
    attribute_url,
    attribute_value,
    write_attribute_value,
)
from ptrack.links import (
    CLICK_URL_NAME,
    PIXEL_URL_NAME,
    Expiry,
    Pixel,
    consented_recipient,
    link_maker,
    path_around_token,
)
from ptrack.withdrawal import SEGMENT as WITHDRAWAL_SEGMENT

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from typing_extensions import Unpack

logger = logging.getLogger("ptrack")

# The attribute an author puts on a link to keep it as it is, or to mark it as the
# unsubscribe link (left alone unless PTRACK_TRACK_UNSUBSCRIBE), and the one that names it.
OFF_ATTRIBUTE = "data-ptrack"
OFF_VALUES = frozenset({"off", "false", "no", "0"})
UNSUBSCRIBE_VALUE = "unsubscribe"
NAME_ATTRIBUTE = "data-ptrack-name"

# Template syntax left in a rendered email (Django/Jinja2, Mailchimp merge tags,
# Liquid, ERB, Handlebars, ...): the sender fills it in later, so it is no URL yet.
_PLACEHOLDER = re.compile(r"\{\{|\{%|\*\||\|\*|%%|\[\[|\$\{|<%")
# Links, VML shapes, the </body> and </html> the pixel goes before, and (when
# looking for an existing pixel) images.
_LINKS = Scanner(("a",), ("body", "html"), prefix="v:")
_LINKS_AND_IMAGES = Scanner(("a", "img"), ("body", "html"), prefix="v:")
# What a browser follows to the same place whatever page the link is on: an http(s)
# URL whose scheme is followed by two slashes (a backslash counts as a slash).
_ABSOLUTE = re.compile(r"[hH][tT][tT][pP][sS]?:[/\\]{2}")
# A URL in plain text; the punctuation that usually follows one is not part of it.
_TEXT_URL = re.compile(r"(?<![\w/.:])https?://[^\s<>\"'`]+", re.IGNORECASE)
_TRAILING = ".,;:!?)]}'\"*"


class TrackingOptions(TypedDict, total=False):
    """The options of ``Tracking``, as keywords of the functions that take a pixel."""

    expires: Expiry
    recipient: str | None
    campaign: str | None
    message_id: str | None
    text: bool
    opens: bool
    clicks: bool
    utm: utm_tags.Option


@dataclass(frozen=True)
class Tracking:
    """How an email is to be tracked: the recipient's pixel and the options.

    Each function that tracks an email takes a pixel and these options as
    keywords, or a ``Tracking`` in the pixel's place; ``message.ptrack`` holds
    one. ``opens`` and ``clicks`` concern the HTML, ``text`` a message's
    plain-text parts.
    """

    pixel: Pixel  # the data every click and open of this email records
    expires: Expiry = None  # when the pixel and links stop recording; None = PTRACK_MAX_AGE
    recipient: str | None = None  # whom the email is for, an opaque key (ptrack.consent)
    campaign: str | None = None  # the campaign it belongs to (ptrack.store); None: untold
    message_id: str | None = None  # the message's id, in every link; set by ptrack.store
    text: bool = False  # also turn a message's plain-text links into click links
    opens: bool = True  # add the open pixel to the HTML
    clicks: bool = True  # turn the HTML's links into click links
    # UTM tags for every tracked link ({"campaign": "spring"}), over PTRACK_UTM's; False: none
    utm: utm_tags.Option = None

    def __post_init__(self) -> None:
        if not isinstance(self.pixel, Pixel):
            raise TypeError(
                f"Tracking an email takes a ptrack.Pixel(...) carrying the recipient's data, "
                f"not {self.pixel!r}."
            )
        if self.utm is not None and self.utm is not False:
            reason = utm_tags.problem(self.utm)
            if reason is not None:
                raise TypeError(f"utm={self.utm!r} {reason}; give a mapping or False.")

    @classmethod
    def of(cls, pixel: Pixel | Tracking, **options: Unpack[TrackingOptions]) -> Tracking:
        """``pixel`` with ``options``; or the ``Tracking`` given, ``options`` replacing its own."""
        if isinstance(pixel, Tracking):
            return dataclasses.replace(pixel, **options) if options else pixel
        return cls(pixel, **options)


class EmailLinks(NamedTuple):
    """What every part of one email shares about its links, beyond its ``Tracking``."""

    tags: utm_tags.Tags  # the UTM tags added to each tracked link
    untracked: frozenset[str]  # destinations left alone (its List-Unsubscribe URLs), normalised
    marked_untracked: bool  # whether links marked data-ptrack="unsubscribe" are left alone

    @classmethod
    def of(
        cls, tracking: Tracking, message: Any = None, unsubscribe: Iterable[str] = ()
    ) -> EmailLinks:
        """The links of an email with ``tracking``: ``message``, if any, is what a callable
        ``PTRACK_UTM`` is given, and ``unsubscribe`` its ``List-Unsubscribe`` URLs."""
        leave = not conf.TRACK_UNSUBSCRIBE
        untracked = frozenset(unsubscribe) if leave else frozenset()
        return cls(utm_tags.tags(tracking.utm, message), untracked, leave)


class _Link(NamedTuple):
    start: int  # where the href value starts in the document (its quote included)
    end: int  # where it ends
    quote: str  # the quote character around the value, "" for none
    destination: str  # the href as a browser reads it
    name: str  # the author's data-ptrack-name, "" if none
    unsubscribe: bool  # marked data-ptrack="unsubscribe"


def instrument_html(
    html_text: str, pixel: Pixel | Tracking, **options: Unpack[TrackingOptions]
) -> str:
    """``html_text`` with its links tracked by click links and the open pixel added.

    Every ``<a href>`` (and VML shape ``href`` in Outlook's conditional
    comments) with an absolute http(s) URL becomes a click link carrying
    ``pixel``'s data, named by its ``data-ptrack-name`` or else by its position
    ("1", "2", ...) among the rewritten links; it leads where a browser would
    go for the ``href`` (percent-encoded and IDNA-encoded as the URL standard
    does), with the UTM tags added. Left alone: ``mailto:``, ``tel:``, anchors,
    relative URLs, template placeholders, ptrack's own click and withdrawal
    links, links marked ``data-ptrack="off"``, and unsubscribe links (marked
    ``data-ptrack="unsubscribe"``) unless ``PTRACK_TRACK_UNSUBSCRIBE``. The
    pixel goes before the last ``</body>`` (else ``</html>``, else at the end)
    unless the document already has a ptrack pixel. Everything else is returned
    byte for byte.

    ``options`` are those of ``Tracking``: ``clicks=False`` leaves the links
    and ``opens=False`` the pixel out, ``expires`` and ``recipient`` apply to
    the pixel and every link, and ``utm`` gives the UTM tags over
    ``PTRACK_UTM``'s (a callable setting is given ``None`` for the message); a
    recipient who allows no tracking gets ``html_text`` back as it is.
    """
    if not isinstance(html_text, str):
        raise TypeError(
            f"instrument_html() takes the rendered HTML as a str, not {type(html_text).__name__}; "
            f"decode bytes first."
        )
    tracking = Tracking.of(pixel, **options)
    return html_part(html_text, tracking, EmailLinks.of(tracking))


def html_part(html_text: str, tracking: Tracking, email: EmailLinks) -> str:
    """``instrument_html()`` for one part of an email whose links are ``email``."""
    recipient, render = consented_recipient(tracking.recipient)
    if not render:
        return html_text
    click_prefix, pixel_prefix = url_prefixes()
    own = own_links(click_prefix, pixel_prefix)

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
    make_link = None
    if tracking.clicks and links:
        make_link = link_maker(
            tracking.pixel.args,
            tracking.pixel.kwargs,
            expires=tracking.expires,
            recipient=recipient,
            campaign=tracking.campaign,
            message=tracking.message_id if recipient == tracking.recipient else None,
        )
    if make_link is not None:
        position = 0
        for link in links:
            if link.unsubscribe and email.marked_untracked:
                continue
            name = link.name or str(position + 1)
            url = _click_url(link.destination, name, make_link, own, email)
            if url is not None:
                position += 1
                edits.append((link.start, link.end, write_attribute_value(url, link.quote)))
    if tracking.opens and not has_pixel:
        # Before </body>, else </html>, else <plaintext> (after which all is text), else last.
        at = next((at for at in ends.values() if at >= 0), len(html_text))
        img = tracking.pixel.img(
            expires=tracking.expires,
            recipient=recipient,
            campaign=tracking.campaign,
            message=tracking.message_id if recipient == tracking.recipient else None,
        )
        if img:
            edits.append((at, at, str(img)))
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


def instrument_text(
    plain_text: str, pixel: Pixel | Tracking, **options: Unpack[TrackingOptions]
) -> str:
    """``plain_text`` with each http(s) URL replaced by a click link named "text-1", "text-2", ...

    A URL ends at whitespace, a quote or an angle bracket; punctuation after it
    (a full stop, a closing parenthesis) stays outside the link. URLs with
    template placeholders and ptrack's own links are left alone, as in HTML. Of the
    ``options`` (those of ``Tracking``), ``expires``, ``recipient`` and ``utm``
    concern plain text.
    """
    tracking = Tracking.of(pixel, **options)
    return text_part(plain_text, tracking, EmailLinks.of(tracking))


def text_part(plain_text: str, tracking: Tracking, email: EmailLinks) -> str:
    """``instrument_text()`` for one part of an email whose links are ``email``."""
    make_link = link_maker(
        tracking.pixel.args,
        tracking.pixel.kwargs,
        expires=tracking.expires,
        recipient=tracking.recipient,
        campaign=tracking.campaign,
        message=tracking.message_id,
    )
    if make_link is None:
        return plain_text
    position = 0
    own = own_links(*url_prefixes())

    def replace(match: re.Match[str]) -> str:
        nonlocal position
        url = match[0]
        kept = url.rstrip(_TRAILING)
        if ")" in url[len(kept) :] and "(" in kept:  # https://en.wikipedia.org/wiki/Foo_(bar)
            kept = url[: len(kept) + 1]
        link = _click_url(kept, f"text-{position + 1}", make_link, own, email)
        if link is None:
            return url
        position += 1
        return link + url[len(kept) :]

    return _TEXT_URL.sub(replace, plain_text)


def _click_url(
    destination: str,
    name: str,
    make_link: Callable[[str, str], str],
    own: tuple[str, str],
    email: EmailLinks,
) -> str | None:
    """The click link for a link to ``destination``, or ``None`` to leave the link as it is."""
    if not trackable(destination, own):
        return None
    try:
        url = clicks.destination(destination, None)
    except InvalidDestination as e:
        logger.warning("Left a link untracked: %s", e)
        return None
    if url in email.untracked or url.startswith(own):
        return None
    if email.tags:
        url = utm_tags.tag(url, email.tags)
    try:
        return make_link(url, name)
    except InvalidDestination as e:  # too long, with its UTM tags
        logger.warning("Left a link untracked: %s", e)
        return None


def _scan(text: str, pixel_prefix: str) -> Iterator[tuple[str, int, _Link | None]]:
    """The links, existing pixels, ``</body>``/``</html>`` end tags and ``<plaintext>`` of
    ``text``, in order."""
    scanner = _LINKS_AND_IMAGES if pixel_prefix in text else _LINKS
    for tag in scanner.tags(text):
        if tag.end or tag.name == "plaintext":
            yield tag.name, tag.start, None
        elif tag.name == "img":
            src = tag.attributes.get("src")
            if src is not None and attribute_url(text, src).startswith(pixel_prefix):
                yield "pixel", tag.start, None
        else:
            link = _link(text, tag.attributes)
            if link is not None:
                yield "link", link.start, link


def _link(text: str, attributes: dict[str, Span]) -> _Link | None:
    href = attributes.get("href")
    if href is None or href[0] < 0:
        return None
    off = attributes.get(OFF_ATTRIBUTE)
    unsubscribe = False
    if off is not None:
        marked = attribute_value(text, off).strip(WHITESPACE).lower()
        if marked in OFF_VALUES:
            return None
        unsubscribe = marked == UNSUBSCRIBE_VALUE
    name_span = attributes.get(NAME_ATTRIBUTE)
    name = attribute_value(text, name_span).strip(WHITESPACE) if name_span is not None else ""
    start, end = href
    return _Link(
        start, end, attribute_quote(text, href), attribute_url(text, href), name, unsubscribe
    )


def url_prefixes() -> tuple[str, str]:
    """How this site's click URLs and pixel URLs begin."""
    app_url = conf.APP_URL.rstrip("/")
    return (
        app_url + path_around_token(CLICK_URL_NAME)[0],
        app_url + path_around_token(PIXEL_URL_NAME)[0],
    )


def own_links(click_prefix: str, pixel_prefix: str) -> tuple[str, str]:
    """How ptrack's own links begin, which are never tracked again: click links, and
    withdrawal links (a click on one would be recorded as the person withdraws)."""
    return click_prefix, pixel_prefix + WITHDRAWAL_SEGMENT


def trackable(destination: str, own: str | tuple[str, ...]) -> bool:
    """Whether a link to ``destination`` is to become a click link (if it can); ``own``
    is how ptrack's own links begin (``own_links()``)."""
    if not _ABSOLUTE.match(destination):
        return False  # mailto:, tel:, #anchors, relative URLs, javascript:, ...
    return not (destination.startswith(own) or _has_placeholder(destination))


def _has_placeholder(url: str) -> bool:
    # Each placeholder holds one of these: "in" rules most URLs out faster than the regex.
    marked = "{" in url or "*" in url or "%%" in url or "[[" in url or "<%" in url
    return marked and _PLACEHOLDER.search(url) is not None
