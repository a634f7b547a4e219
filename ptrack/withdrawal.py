"""Withdrawal by the recipient: a signed link in each email, and the page it opens.

``withdrawal_url(recipient)`` makes a link that names one recipient, signed
with ptrack's keys under a salt of its own (no pixel or click token verifies
as one, nor the reverse). GET shows a confirmation page and changes nothing,
since security scanners fetch every link of an email; only the page's POST
withdraws, through the site's ``PTRACK_CONSENT_WITHDRAW``. A link that does not
verify, or has expired, gets a 404 and changes nothing.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, cast

from django.core.exceptions import ImproperlyConfigured
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.module_loading import import_string
from django.views.decorators.csrf import csrf_protect
from itsdangerous import BadData, URLSafeTimedSerializer

from ptrack import tokens
from ptrack.conf import cached, conf
from ptrack.consent import check_recipient
from ptrack.exceptions import PixelValueError

logger = logging.getLogger("ptrack")

SALT = "ptrack.withdrawal"
URL_NAME = "ptrack_withdraw"
SEGMENT = "w/"
# The pages, which a site overrides with templates of the same names.
CONFIRM_TEMPLATE = "ptrack/withdraw.html"
DONE_TEMPLATE = "ptrack/withdrawn.html"
FAILED_TEMPLATE = "ptrack/withdraw_failed.html"
# The link carries a recipient's key: kept out of caches, search engines and other
# sites' referers. Not "no-referrer": under it browsers send the page's own form POST
# with "Origin: null", which Django's CSRF check refuses, so no one could withdraw.
_PRIVATE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex, nofollow",
    "Referrer-Policy": "same-origin",
}


@cached
def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(tokens._keys(), salt=SALT, signer_kwargs=tokens._SIGNER_KWARGS)


@cached
def _hook() -> Callable[[str], Any] | None:
    hook = conf.CONSENT_WITHDRAW
    if hook is None:
        return None
    return cast("Callable[[str], Any]", import_string(hook) if isinstance(hook, str) else hook)


def withdrawal_url(
    recipient: str, *, expires: int | float | timedelta | datetime | None = None
) -> str:
    """The absolute URL at which ``recipient`` can withdraw their consent to tracking.

    ``expires`` (seconds, a ``timedelta`` or an aware ``datetime``) ends the
    link; by default it works for as long as the key that signed it.
    """
    from ptrack.links import _max_age, _require, _url_settings

    check_recipient(recipient)
    if conf.CONSENT_WITHDRAW is None:
        raise ImproperlyConfigured(
            "PTRACK_CONSENT_WITHDRAW is not set, so a withdrawal link could withdraw "
            "nothing; name the function that records a recipient's withdrawal."
        )
    app_url = _url_settings()[0]
    _require(app_url)
    token = _serializer().dumps([recipient, _max_age(expires)])
    return app_url + reverse(URL_NAME, kwargs={"ptrack_encoded_data": token})


def _recipient(token: str) -> str:
    """The recipient a genuine, current withdrawal token names; ``Http404`` otherwise."""
    try:
        payload, signed = _serializer().loads(token, return_timestamp=True)
    except (BadData, ValueError, TypeError):
        raise Http404("No such withdrawal link.") from None
    if not (type(payload) is list and len(payload) == 2):
        raise Http404("No such withdrawal link.")
    recipient, max_age = payload
    try:
        check_recipient(recipient)
    except PixelValueError:
        raise Http404("No such withdrawal link.") from None
    if max_age is not None:
        if type(max_age) is not int or max_age <= 0:
            raise Http404("No such withdrawal link.")
        age = (datetime.now(signed.tzinfo) - signed).total_seconds()
        if math.floor(age) > max_age:
            raise Http404("This withdrawal link has expired.")
    return cast(str, recipient)


@csrf_protect
def withdraw(request: HttpRequest, ptrack_encoded_data: str) -> HttpResponse:
    """GET and HEAD: the confirmation page. POST: withdraw, then say so."""
    if request.method not in ("GET", "HEAD", "POST"):
        return HttpResponseNotAllowed(["GET", "HEAD", "POST"])
    recipient = _recipient(ptrack_encoded_data)
    hook = _hook()
    if hook is None:
        raise Http404("Withdrawal is not set up (PTRACK_CONSENT_WITHDRAW).")
    template, status = CONFIRM_TEMPLATE, 200
    if request.method == "POST":
        try:
            hook(recipient)
        except Exception:
            logger.exception(
                "PTRACK_CONSENT_WITHDRAW failed for recipient %r; nothing was withdrawn.",
                recipient,
            )
            template, status = FAILED_TEMPLATE, 503
        else:
            template = DONE_TEMPLATE
    response = TemplateResponse(request, template, {"action": request.path}, status=status)
    for name, value in _PRIVATE_HEADERS.items():
        response[name] = value
    return response
