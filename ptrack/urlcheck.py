"""One check of absolute http(s) URLs, for the settings that name one and for click destinations.

``problem()`` says what is wrong with a URL, or ``None``; the system checks
(``PTRACK_APP_URL``, ``PTRACK_PRIVATE_RELAY_URL``, ``PTRACK_CLICK_FALLBACK_URL``)
and ``ptrack.clicks`` each choose the options they need, so no caller parses
a URL itself and none can be crashed by one that ``urlsplit()`` refuses.
``normalize()`` turns a link as written into the URL a browser follows
(``ptrack.whatwg``), which then passes ``problem()``: every click destination
goes through it.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from urllib.parse import urlsplit

from ptrack import whatwg

# Control characters, space and DEL, and a backslash before the query: browsers
# strip or reinterpret them ("java\tscript:", "https:\\evil.example"), so none
# may reach a Location. After the first "?" or "#", a backslash is data to every
# parser (the URL standard leaves it unencoded in queries and fragments).
_UNSAFE = re.compile(r"[\x00-\x20\x7f]")
_BACKSLASH_BEFORE_QUERY = re.compile(r"[^?#\\]*\\")

# A host in brackets, then at most a port: what is left of the network
# location once any credentials are cut off.
_BRACKETED = re.compile(r"\[([^\[\]]*)\](?::[^\[\]:]*)?")


def problem(url: object, *, strict: bool = True, query: bool = True) -> str | None:
    """Why ``url`` is not an acceptable absolute http(s) URL, or ``None`` if it is.

    ``strict`` asks for what a browser may safely be redirected to: no control
    character, space or non-ASCII character, no backslash before the query,
    ``scheme://`` as written, no credentials, a numeric port and a host name.
    Without it, the URL needs only an http(s) scheme and a network location as
    ``urlsplit()`` reads them, which is what the settings checks have always
    accepted.
    ``query=False`` also refuses a query or a fragment.
    """
    if not isinstance(url, str):
        return f"is a {type(url).__name__}, not a str"
    if strict:
        if _UNSAFE.search(url) or _BACKSLASH_BEFORE_QUERY.match(url):
            return "contains a control character, a space or a backslash"
        if not url.isascii():
            return (
                "contains non-ASCII characters; percent-encode the path and query, and "
                "give the host in its IDNA (xn--) form"
            )
    try:
        # Raises ValueError for a malformed bracketed host ("https://[oops/").
        parts = urlsplit(url)
    except ValueError:
        return "has a malformed host"
    if _malformed_brackets(parts.netloc):
        return "has a malformed host"
    if parts.scheme not in ("http", "https") or (
        strict and not url[: len(parts.scheme) + 3].endswith("://")
    ):
        return "is not an absolute http:// or https:// URL"
    if strict:
        if "@" in parts.netloc:
            return "carries credentials (user@ or user:password@)"
        try:
            parts.port  # noqa: B018 - raises ValueError for a port that is not a number
        except ValueError:
            return "has an invalid port"
        if not parts.hostname:
            return "has no host"
    elif not parts.netloc:
        return "has no host"
    if not query and (parts.query or parts.fragment):
        return "has a query or a fragment"
    return None


def _malformed_brackets(netloc: str) -> bool:
    """Whether a bracketed host is anything but an IPv6 address, on every Python.

    ``urlsplit()`` refuses ``[12345::]`` or ``[1.2.3.4]`` only from Python
    3.11.4, and none of them refuses ``[::1]junk`` or a zone id, which no
    browser accepts either.
    """
    host = netloc.rpartition("@")[2]
    if "[" not in host and "]" not in host:
        return False
    match = _BRACKETED.fullmatch(host)
    if match is None or "%" in match[1]:
        return True
    try:
        ipaddress.IPv6Address(match[1])
    except ValueError:
        return True
    return False


def normalize(url: object) -> str:
    """The URL a browser follows for a link to ``url``, if it may be a click destination.

    ``url`` is read as the URL standard reads it (``ptrack.whatwg``): the
    result is ASCII, percent-encoded as a browser encodes it, and passes
    ``problem()``. Raises ``ValueError`` saying why for anything else: not a
    str, not an absolute http(s) URL, refused by browsers, or carrying
    credentials.
    """
    if not isinstance(url, str):
        raise ValueError(f"is a {type(url).__name__}, not a str")
    normal, reason = _normalized(url)
    if reason is not None:
        raise ValueError(reason)
    return normal


@functools.lru_cache(maxsize=4096)
def _normalized(url: str) -> tuple[str, str | None]:
    # A campaign's emails share their links: each is read once per process.
    try:
        parts = whatwg.parse(url)
    except ValueError as e:
        return "", str(e)
    if parts.credentials:
        return "", "carries credentials (user@ or user:password@)"
    href = parts.href
    reason = problem(href)
    return (href, None) if reason is None else ("", reason)
