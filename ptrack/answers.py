"""Every answer the pixel and click endpoints give, decided once for all their front ends.

GET records through the pipeline a front end passes in (``ptrack.tracking`` or
a wrapper of it) and gets the pixel or the click's redirect; HEAD gets the same
status and headers without a body and records nothing (link checkers and
scanners send it, mail clients showing an image do not); any other method gets
405. The views and the fast paths only translate an ``Answer`` to their
interface, as whitenoise's ``base.py`` sends what its responders decide.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import NamedTuple, TypeVar

from ptrack import clicks, tracking
from ptrack.conf import cached, conf

# A 1x1 transparent GIF89a (43 bytes).
PIXEL_GIF = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\x00\x00\x00"
    b"!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)

# The pixel's headers after its Content-Type.
PIXEL_HEADERS = {
    # Every load must reach the server: no cache, shared or private, may keep it.
    "Cache-Control": "no-cache, no-store, must-revalidate, private, max-age=0",
    "Pragma": "no-cache",
    "Expires": "0",
    "X-Content-Type-Options": "nosniff",
    "Content-Length": str(len(PIXEL_GIF)),
}

# Every click answer: no cache may keep it (each click must reach the server),
# and the destination is not told the page the reader came from.
_CLICK_HEADERS = [
    ("Cache-Control", "no-store"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Content-Type-Options", "nosniff"),
]
# A redirect's headers are these and its Location, last.
CLICK_REDIRECT_HEADERS = [
    ("Content-Type", "text/html; charset=utf-8"),
    ("Content-Length", "0"),
    *_CLICK_HEADERS,
]
# A link that does not verify gets this constant page: nothing of the request in it.
CLICK_NOT_FOUND_BODY = b"This link is not valid.\n"
CLICK_NOT_FOUND_HEADERS = [
    ("Content-Type", "text/plain; charset=utf-8"),
    ("Content-Length", str(len(CLICK_NOT_FOUND_BODY))),
    *_CLICK_HEADERS,
]

# The constant headers of each status an endpoint answers with; a redirect adds
# its Location after them. Front ends prepare their own form of these once.
HEADERS: dict[int, list[tuple[str, str]]] = {
    200: [("Content-Type", "image/gif"), *PIXEL_HEADERS.items()],
    302: CLICK_REDIRECT_HEADERS,
    404: CLICK_NOT_FOUND_HEADERS,
    # What Django's HttpResponseNotAllowed carries behind CommonMiddleware.
    405: [
        ("Content-Type", "text/html; charset=utf-8"),
        ("Allow", "GET, HEAD"),
        ("Content-Length", "0"),
    ],
}
# "200 OK" and so on, for WSGI's start_response().
STATUS_LINES = {status: f"{status} {HTTPStatus(status).phrase}" for status in HEADERS}


class Answer(NamedTuple):
    """What a pixel or click request gets, for a front end to send as it is."""

    status: int  # a key of HEADERS
    headers: list[tuple[str, str]]  # HEADERS[status], then a redirect's Location
    body: bytes  # empty for HEAD
    location: str | None = None  # a redirect's destination, the last header


PIXEL = Answer(200, HEADERS[200], PIXEL_GIF)
NOT_ALLOWED = Answer(405, HEADERS[405], b"")
_PIXEL_ANSWERS: dict[str | None, Answer] = {"GET": PIXEL, "HEAD": Answer(200, HEADERS[200], b"")}
_CLICK_NOT_FOUND = Answer(404, CLICK_NOT_FOUND_HEADERS, CLICK_NOT_FOUND_BODY)
_CLICK_NOT_FOUND_HEAD = Answer(404, CLICK_NOT_FOUND_HEADERS, b"")

_C = TypeVar("_C")


def answer_pixel(
    method: str | None, token: str, context: _C, track: Callable[[str, _C], object]
) -> Answer:
    """The answer to a pixel request; a GET first records with ``track(token, context)``.

    Front ends pass ``ptrack.tracking.track`` and a ``RequestContext``, or a
    wrapper of their own and what it reads (the WSGI fast path: its environ).
    """
    if method == "GET":
        track(token, context)
    return _PIXEL_ANSWERS.get(method, NOT_ALLOWED)


async def aanswer_pixel(
    method: str | None, token: str, context: _C, atrack: Callable[[str, _C], Awaitable[object]]
) -> Answer:
    """``answer_pixel()`` for async front ends, with ``ptrack.tracking.atrack``."""
    if method == "GET":
        await atrack(token, context)
    return _PIXEL_ANSWERS.get(method, NOT_ALLOWED)


def answer_click(
    method: str | None, token: str, context: _C, track_click: Callable[[str, _C], str | None]
) -> Answer:
    """The answer to a click request; a GET first records with ``track_click(token, context)``.

    HEAD gets the same ``click_answer()`` without a body, and records nothing.
    """
    if method == "GET":
        return click_answer(track_click(token, context))
    if method == "HEAD":
        return click_answer(tracking.click_destination(token), head=True)
    return NOT_ALLOWED


async def aanswer_click(
    method: str | None,
    token: str,
    context: _C,
    atrack_click: Callable[[str, _C], Awaitable[str | None]],
) -> Answer:
    """``answer_click()`` for async front ends, with ``ptrack.tracking.atrack_click``."""
    if method == "GET":
        return click_answer(await atrack_click(token, context))
    if method == "HEAD":
        return click_answer(tracking.click_destination(token), head=True)
    return NOT_ALLOWED


def click_answer(destination: str | None, *, head: bool = False) -> Answer:
    """The answer to a GET (or ``head``) of a click link leading to ``destination``.

    A redirect to it, or when the link did not verify (``None``) to
    ``PTRACK_CLICK_FALLBACK_URL``, or else a constant 404.
    """
    if destination is not None:
        return _redirect(destination)
    return _fallback() or (_CLICK_NOT_FOUND_HEAD if head else _CLICK_NOT_FOUND)


def _redirect(destination: str) -> Answer:
    return Answer(302, [*CLICK_REDIRECT_HEADERS, ("Location", destination)], b"", destination)


@cached
def _fallback() -> Answer | None:
    url = conf.CLICK_FALLBACK_URL
    # An unusable setting answers 404 (system check ptrack.E022 reports it).
    return _redirect(url) if url and clicks.problem(url) is None else None
