"""The pixel and click endpoints: a sync view for WSGI and an async one for ASGI, each.

``ptrack.answers`` decides every answer; these views only make an ``HttpResponse`` of it.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse

from ptrack.answers import (
    HEADERS,
    Answer,
    aanswer_click,
    aanswer_pixel,
    answer_click,
    answer_pixel,
)
from ptrack.tracking import atrack, atrack_click, request_context, track, track_click


# Each status's headers as Django stores them once it has checked them. Django
# checks every header set on a response, which took a quarter of the pixel
# view's own time; these never change, so each response gets a copy of the
# checked store instead (the same headers, byte for byte; see test_views). A
# redirect's Location passed ptrack.clicks' check, stricter than Django's.
def _checked(status: int) -> tuple[str, dict[str, tuple[str, str]] | None]:
    headers = dict(HEADERS[status])
    if status == 405:
        # As Django's own HttpResponseNotAllowed: its Content-Length is left to
        # CommonMiddleware (which sends what the fast paths send) or the server.
        del headers["Content-Length"]
    return headers["Content-Type"], getattr(HttpResponse(headers=headers).headers, "_store", None)


_CHECKED = {status: _checked(status) for status in HEADERS}

# The attributes of a response that it changes in place, so that each needs its own.
_OWN = frozenset({"headers", "cookies", "_resource_closers", "_container"})
_SHAREABLE = (type(None), bool, int, str, bytes)
_new = object.__new__


def _prepared(
    status: int,
) -> tuple[dict[str, Any], type[Any], dict[str, tuple[str, str]], type[Any]] | None:
    """What every response of ``status`` holds, as Django's constructor leaves it.

    Building an ``HttpResponse`` runs its constructor's Python, which cost more
    than verifying the token; a response that starts as a copy of one built
    here holds the same attributes. ``None`` when a Django version's response
    holds anything else than what ``_response()`` knows to give each its own.
    """
    template = _constructed(Answer(status, HEADERS[status], b""))
    state = vars(template)
    headers: Any = state.get("headers")
    cookies: Any = state.get("cookies")
    shared = {name: value for name, value in state.items() if name not in _OWN}
    if (
        state.keys() >= _OWN
        and vars(headers).keys() == {"_store"}
        and isinstance(cookies, dict)
        and not cookies
        and not vars(cookies)
        and state["_resource_closers"] == []
        and state["_container"] == [b""]
        and all(type(value) in _SHAREABLE for value in shared.values())
    ):
        return shared, type(headers), headers._store, type(cookies)
    return None  # pragma: no cover - checked on every supported Django by test_views


def _constructed(answer: Answer) -> HttpResponse:
    """The response to ``answer`` made through Django's constructor."""
    status = answer.status
    content_type, store = _CHECKED[status]
    response = HttpResponse(answer.body, content_type=content_type)
    response.status_code = status  # set, not passed: Django would check the constant again
    if store is not None:
        checked = response.headers._store
        checked.update(store)
        if answer.location is not None:
            checked["location"] = ("Location", answer.location)
    else:  # pragma: no cover - every supported Django keeps headers in _store
        for name, value in answer.headers:
            response[name] = value
    if status == 404:
        # ptrack has logged the refused token at DEBUG; Django would add a WARNING
        # per 404, which a link scanner turns into a flood, and the fast paths log none.
        response._has_been_logged = True  # type: ignore[attr-defined]
    return response


_PREPARED = {status: _prepared(status) for status in HEADERS}


def _response(answer: Answer) -> HttpResponse:
    """The ``HttpResponse`` of ``answer``: what ``_constructed()`` makes, at a third of the cost."""
    prepared = _PREPARED[answer.status]
    if prepared is None:  # see _prepared()
        return _constructed(answer)
    shared, headers_type, checked, cookies_type = prepared
    headers = _new(headers_type)
    headers._store = store = checked.copy()
    if answer.location is not None:
        store["location"] = ("Location", answer.location)
    response: HttpResponse = _new(HttpResponse)
    state = vars(response)
    state.update(shared)
    state["headers"] = headers
    state["cookies"] = cookies_type()
    state["_resource_closers"] = []
    state["_container"] = [answer.body]
    return response


def pixel(request: HttpRequest, ptrack_encoded_data: str) -> HttpResponse:
    """Answer every GET or HEAD with the pixel; record valid GETs.

    HEAD records nothing: link checkers and scanners send it, and mail clients
    showing an image do not.
    """
    return _response(
        answer_pixel(request.method, ptrack_encoded_data, request_context(request.META), track)
    )


async def apixel(request: HttpRequest, ptrack_encoded_data: str) -> HttpResponse:
    """``pixel`` for ASGI: recorders run without blocking the event loop."""
    return _response(
        await aanswer_pixel(
            request.method, ptrack_encoded_data, request_context(request.META), atrack
        )
    )


def click(request: HttpRequest, ptrack_encoded_data: str) -> HttpResponse:
    """Redirect a click link to its destination; record valid GETs.

    HEAD gets the same answer and records nothing (link checkers and scanners).
    """
    return _response(
        answer_click(
            request.method, ptrack_encoded_data, request_context(request.META), track_click
        )
    )


async def aclick(request: HttpRequest, ptrack_encoded_data: str) -> HttpResponse:
    """``click`` for ASGI: recorders run without blocking the event loop."""
    return _response(
        await aanswer_click(
            request.method, ptrack_encoded_data, request_context(request.META), atrack_click
        )
    )


# POSTs must get 405, not CSRF's 403; set directly since Django 4.2's
# csrf_exempt() would hide that apixel is a coroutine function.
pixel.csrf_exempt = True  # type: ignore[attr-defined]
apixel.csrf_exempt = True  # type: ignore[attr-defined]
click.csrf_exempt = True  # type: ignore[attr-defined]
aclick.csrf_exempt = True  # type: ignore[attr-defined]
