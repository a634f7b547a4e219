"""Click links: which destinations a link may send its reader to, and how a click
token differs from a pixel token.

A click travels in the same token a pixel does, made by the same encoder, with
one extra first positional argument, ``["ptrack.click", destination]``. The
pixel endpoint refuses any token of that shape and the click endpoint any token
without it, and no pixel may be made with it, so neither kind of URL can be
replayed as the other under any encoder. The destination is checked when the
link is made and again before each redirect: the endpoint only ever redirects
to an absolute http(s) URL that a link signed with the site's key names.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from ptrack import urlcheck
from ptrack.exceptions import InvalidDestination

MARK = "ptrack.click"

_SHOWN = 100  # characters of a refused destination quoted in the error


def problem(url: object, max_length: int | None = None) -> str | None:
    """Why ``url`` may not be a click destination, or ``None`` if it may."""
    if max_length is not None and isinstance(url, str) and len(url) > max_length:
        return (
            f"is {len(url)} characters long, over the limit of {max_length} (PTRACK_MAX_URL_LENGTH)"
        )
    return urlcheck.problem(url)


def check_destination(url: Any, max_length: int | None) -> str:
    """Return ``url`` if it may be a click destination; else raise ``InvalidDestination``."""
    # A campaign's emails share their links: each destination is judged once per
    # process (the cache the click endpoint uses), and again only to say what is wrong.
    if type(url) is str and (max_length is None or len(url) <= max_length) and _sound(url):
        return url
    reason = problem(url, max_length)
    if reason is not None:
        shown = url
        if isinstance(url, str) and len(url) > _SHOWN:
            shown = url[:_SHOWN] + "..."
        raise InvalidDestination(
            f"A click link cannot send its reader to {shown!r}: it {reason}. "
            f"ptrack redirects only to absolute http(s) URLs."
        )
    return url  # type: ignore[no-any-return]


def click_args(destination: str, args: Sequence[Any], name: str = "") -> list[Any]:
    """The positional arguments a click token carries: the mark, then the link's own.

    ``name`` says which link of its email this is; it travels in the mark so
    that the link's own arguments keep every name free.
    """
    mark = [MARK, destination, name] if name else [MARK, destination]
    return [mark, *args]


def is_click(args: Sequence[Any]) -> bool:
    """Whether ``args`` starts with the click mark (whatever follows it)."""
    return bool(args) and type(args[0]) is list and args[0][:1] == [MARK]


def split(args: Sequence[Any]) -> tuple[str, str, tuple[Any, ...]] | None:
    """The destination, link name and the link's own arguments, or None if not a sound click."""
    if not is_click(args):
        return None
    mark = args[0]
    if not 2 <= len(mark) <= 3 or type(mark[1]) is not str or not _sound(mark[1]):
        return None
    name = mark[2] if len(mark) == 3 else ""
    if type(name) is not str:
        return None
    return mark[1], name, tuple(args[1:])


@functools.lru_cache(maxsize=1024)
def _sound(url: str) -> bool:
    # Checked before every redirect; an email's few links are clicked many times.
    return urlcheck.problem(url) is None
