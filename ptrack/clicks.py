"""Click links: which destinations a link may send its reader to, and how a click
token differs from a pixel token.

A click travels in the same token a pixel does, made by the same encoder, with
one extra first positional argument, ``["ptrack.click", destination]``. The
pixel endpoint refuses any token of that shape and the click endpoint any token
without it, and no pixel may be made with it, so neither kind of URL can be
replayed as the other under any encoder. The destination is checked when the
link is made, as a browser reads it (``urlcheck.normalize()``), and again before
each redirect: the endpoint only ever redirects to an absolute http(s) URL that a
link signed with the site's key names, in the form a browser would have requested.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from ptrack import urlcheck
from ptrack.exceptions import InvalidDestination

MARK = "ptrack.click"

_SHOWN = 100  # characters of a refused destination quoted in the error


def problem(url: object) -> str | None:
    """Why ``url`` may not be redirected to as it is, or ``None`` if it may."""
    return urlcheck.problem(url)


def destination(url: Any, max_length: int | None) -> str:
    """The destination a click link on ``url`` redirects to: ``url`` as a browser reads it.

    ``urlcheck.normalize()`` reads it as a browser would follow the link,
    percent-encoding and IDNA included; raises ``InvalidDestination`` for a
    URL it refuses, and for a destination over ``max_length`` characters.
    """
    try:
        normal = urlcheck.normalize(url)
    except ValueError as e:
        reason = str(e)
    else:
        if max_length is None or len(normal) <= max_length:
            return normal
        reason = (
            f"is {len(normal)} characters long, over the limit of {max_length} "
            f"(PTRACK_MAX_URL_LENGTH)"
        )
    shown = url
    if isinstance(url, str) and len(url) > _SHOWN:
        shown = url[:_SHOWN] + "..."
    raise InvalidDestination(
        f"A click link cannot send its reader to {shown!r}: it {reason}. "
        f"ptrack redirects only to absolute http(s) URLs."
    )


def click_args(destination: str, args: Sequence[Any], name: str = "") -> list[Any]:
    """The positional arguments a click token carries: the mark, then the link's own.

    ``name`` says which link of its email this is; it travels in the mark so
    that the link's own arguments keep every name free.
    """
    return [mark(destination, name), *args]


def mark(destination: str, name: str = "") -> list[str]:
    """The first positional argument of a click token: the mark, the destination, the name."""
    return [MARK, destination, name] if name else [MARK, destination]


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
