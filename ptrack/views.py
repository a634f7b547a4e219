"""The pixel endpoint."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.views.decorators.csrf import csrf_exempt

from ptrack.tracking import PIXEL_GIF, PIXEL_HEADERS, track


@csrf_exempt
def pixel(request: HttpRequest, ptrack_encoded_data: str) -> HttpResponse:
    """Answer every GET or HEAD with the pixel; record valid GETs.

    HEAD records nothing: link checkers and scanners send it, and mail clients
    showing an image do not.
    """
    if request.method == "GET":
        meta = request.META
        track(
            ptrack_encoded_data,
            ip=meta.get("REMOTE_ADDR") or None,
            user_agent=meta.get("HTTP_USER_AGENT", ""),
            referer=meta.get("HTTP_REFERER", ""),
        )
        body = PIXEL_GIF
    elif request.method == "HEAD":
        body = b""
    else:
        return HttpResponseNotAllowed(["GET", "HEAD"])
    response = HttpResponse(body, content_type="image/gif")
    for name, value in PIXEL_HEADERS.items():
        response[name] = value
    return response
