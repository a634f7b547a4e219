"""What ptrack.answers decides, apart from any front end (tests/test_fastpath.py and
tests/test_click_endpoints.py hold the views and both fast paths to it)."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import async_to_sync

from ptrack import answers


def _recording(result: Any = None) -> tuple[list[tuple[str, object]], Any, Any]:
    calls: list[tuple[str, object]] = []

    def track(token: str, context: object) -> Any:
        calls.append((token, context))
        return result

    async def atrack(token: str, context: object) -> Any:
        return track(token, context)

    return calls, track, atrack


@pytest.mark.parametrize("method", ["GET", "HEAD", "POST", "get", None])
def test_only_a_get_records_a_pixel_load(method: str | None) -> None:
    calls, track, atrack = _recording()
    answer = answers.answer_pixel(method, "t", "context", track)
    assert async_to_sync(answers.aanswer_pixel)(method, "t", "context", atrack) == answer
    assert calls == ([("t", "context")] * 2 if method == "GET" else [])
    expected = {"GET": answers.PIXEL_GIF, "HEAD": b""}
    if method in expected:
        assert (answer.status, answer.body) == (200, expected[method])
        assert answer.headers == answers.HEADERS[200]
    else:
        assert answer == answers.NOT_ALLOWED


@pytest.mark.parametrize("method", ["GET", "HEAD", "PUT"])
def test_only_a_get_records_a_click(method: str) -> None:
    calls, track, atrack = _recording("https://www.example.com/")
    answer = answers.answer_click(method, "forged", "context", track)
    assert async_to_sync(answers.aanswer_click)(method, "forged", "context", atrack) == answer
    if method == "PUT":
        assert (answer, calls) == (answers.NOT_ALLOWED, [])
    elif method == "HEAD":  # the token's own destination: a forged one has none
        assert calls == []
        assert (answer.status, answer.body) == (404, b"")
    else:
        assert calls == [("forged", "context")] * 2
        assert answer.headers[-1] == ("Location", answer.location)
        assert answer.location == "https://www.example.com/"


def test_every_status_line_and_header_set() -> None:
    assert answers.STATUS_LINES == {
        200: "200 OK",
        302: "302 Found",
        404: "404 Not Found",
        405: "405 Method Not Allowed",
    }
    assert answers.HEADERS[405] == [
        ("Content-Type", "text/html; charset=utf-8"),
        ("Allow", "GET, HEAD"),
        ("Content-Length", "0"),
    ]
