"""The pixel and click endpoints: a sync view for WSGI and an async one for ASGI, each."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed

from ptrack.tracking import (
    CLICK_NOT_FOUND_HEADERS,
    CLICK_REDIRECT_HEADERS,
    PIXEL_GIF,
    PIXEL_HEADERS,
    atrack,
    atrack_click,
    click_answer,
    click_destination,
    request_context,
    track,
    track_click,
)

# The pixel's headers as Django stores them once it has checked them. Django
# checks every header set on a response, which took a quarter of this view's
# own time; these never change, so each response gets a copy of the checked
# store instead (the same headers, byte for byte; see test_views).
_CHECKED_HEADERS: dict[str, tuple[str, str]] | None = getattr(
    HttpResponse(content_type="image/gif", headers=PIXEL_HEADERS).headers, "_store", None
)


def _response(method: str | None) -> HttpResponse:
    if method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    response = HttpResponse(PIXEL_GIF if method == "GET" else b"", content_type="image/gif")
    if _CHECKED_HEADERS is not None:
        response.headers._store.update(_CHECKED_HEADERS)
    else:  # pragma: no cover - every supported Django keeps headers in _store
        for name, value in PIXEL_HEADERS.items():
            response[name] = value
    return response


def pixel(request: HttpRequest, ptrack_encoded_data: str) -> HttpResponse:
    """Answer every GET or HEAD with the pixel; record valid GETs.

    HEAD records nothing: link checkers and scanners send it, and mail clients
    showing an image do not.
    """
    if request.method == "GET":
        track(ptrack_encoded_data, **request_context(request.META))
    return _response(request.method)


async def apixel(request: HttpRequest, ptrack_encoded_data: str) -> HttpResponse:
    """``pixel`` for ASGI: recorders run without blocking the event loop."""
    if request.method == "GET":
        await atrack(ptrack_encoded_data, **request_context(request.META))
    return _response(request.method)


# The click answers' constant headers, stored as for the pixel's above.
_CLICK_STORES = {
    status: {name.lower(): (name, value) for name, value in headers}
    for status, headers in ((302, CLICK_REDIRECT_HEADERS), (404, CLICK_NOT_FOUND_HEADERS))
}


def _click_response(method: str | None, destination: str | None) -> HttpResponse:
    status, headers, body = click_answer(destination)
    response = HttpResponse(body if method == "GET" else b"", status=status)
    # Set as the fast paths send them. Django would check each value; these are
    # constants and a destination that passed ptrack.clicks' stricter check.
    store = getattr(response.headers, "_store", None)
    if store is not None:
        store.update(_CLICK_STORES[status])
        if status == 302:
            store["location"] = headers[-1]
    else:  # pragma: no cover - every supported Django keeps headers in _store
        for name, value in headers:
            response[name] = value
    # ptrack has logged the refused token at DEBUG; Django would add a WARNING per
    # 404, which a link scanner turns into a flood, and the fast paths log none.
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


def click(request: HttpRequest, ptrack_encoded_data: str) -> HttpResponse:
    """Redirect a click link to its destination; record valid GETs.

    HEAD gets the same answer and records nothing (link checkers and scanners).
    """
    method = request.method
    if method == "GET":
        destination = track_click(ptrack_encoded_data, **request_context(request.META))
    elif method == "HEAD":
        destination = click_destination(ptrack_encoded_data)
    else:
        return HttpResponseNotAllowed(["GET", "HEAD"])
    return _click_response(method, destination)


async def aclick(request: HttpRequest, ptrack_encoded_data: str) -> HttpResponse:
    """``click`` for ASGI: recorders run without blocking the event loop."""
    method = request.method
    if method == "GET":
        destination = await atrack_click(ptrack_encoded_data, **request_context(request.META))
    elif method == "HEAD":
        destination = click_destination(ptrack_encoded_data)
    else:
        return HttpResponseNotAllowed(["GET", "HEAD"])
    return _click_response(method, destination)


# POSTs must get 405, not CSRF's 403; set directly since Django 4.2's
# csrf_exempt() would hide that apixel is a coroutine function.
pixel.csrf_exempt = True  # type: ignore[attr-defined]
apixel.csrf_exempt = True  # type: ignore[attr-defined]
click.csrf_exempt = True  # type: ignore[attr-defined]
aclick.csrf_exempt = True  # type: ignore[attr-defined]
