"""Building pixel URLs and ``<img>`` tags, for templates and for Python code."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from ptrack import encoders
from ptrack.conf import conf
from ptrack.exceptions import PixelURLTooLong, PixelValueError
from ptrack.tokens import max_age_seconds

Expiry = int | float | timedelta | datetime | None

IMG_HTML = (
    '<img src="{}" width="1" height="1" alt="" '
    'style="border:0;width:1px;height:1px;margin:0;padding:0">'
)


def _max_age(expires: Expiry) -> int | None:
    if isinstance(expires, datetime):
        if expires.tzinfo is None or expires.utcoffset() is None:
            raise PixelValueError(
                f"expires={expires!r} is a naive datetime; give an aware one "
                f"(django.utils.timezone.now() + timedelta(...))."
            )
        seconds: float | timedelta | None = expires.timestamp() - time.time()
    elif expires is None or (
        isinstance(expires, (int, float, timedelta)) and not isinstance(expires, bool)
    ):
        seconds = expires
    else:
        raise PixelValueError(
            f"expires={expires!r} should be seconds, a timedelta or an aware datetime."
        )
    max_age = max_age_seconds(seconds)
    if max_age is not None and max_age <= 0:
        raise PixelValueError(f"expires={expires!r} should lie in the future.")
    return max_age


def build_url(args: Sequence[Any], kwargs: Mapping[str, Any], *, expires: Expiry = None) -> str:
    """The absolute pixel URL for ``args`` and ``kwargs``.

    ``expires`` gives this link its own expiry (seconds or timedelta from now,
    or an aware datetime) instead of ``PTRACK_MAX_AGE``.
    """
    app_url = conf.APP_URL
    if not app_url:
        raise ImproperlyConfigured(
            "PTRACK_APP_URL is not set; set it to the absolute base URL of the site "
            "serving the pixels, e.g. 'https://track.example.com'."
        )
    token = encoders.encode(args, kwargs, max_age=_max_age(expires))
    try:
        path = reverse("ptrack", kwargs={"ptrack_encoded_data": token})
    except NoReverseMatch as e:
        raise ImproperlyConfigured(
            "ptrack's URLs are not in the URLconf; add "
            "path('ptrack/', include('ptrack.urls')) to ROOT_URLCONF."
        ) from e
    url = app_url.rstrip("/") + path
    if len(url) > conf.MAX_URL_LENGTH:
        raise PixelURLTooLong(
            f"The pixel URL would be {len(url)} characters long, over the limit of "
            f"{conf.MAX_URL_LENGTH} (PTRACK_MAX_URL_LENGTH); carry less data in it, "
            f"e.g. an id instead of a record."
        )
    return url


def build_img(
    args: Sequence[Any], kwargs: Mapping[str, Any], *, expires: Expiry = None
) -> SafeString:
    """The 1x1 ``<img>`` tag for ``args`` and ``kwargs``, HTML-escaped."""
    return format_html(IMG_HTML, build_url(args, kwargs, expires=expires))


class Pixel:
    """A tracking pixel for emails and pages built in Python.

    ``Pixel('newsletter', user_id=42).img()`` gives the ``<img>`` tag and
    ``.url()`` the bare URL; both take ``expires=``. Every argument of the
    constructor goes into the link, so no name is reserved.
    """

    __slots__ = ("args", "kwargs")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args = args
        self.kwargs = kwargs

    def url(self, *, expires: Expiry = None) -> str:
        return build_url(self.args, self.kwargs, expires=expires)

    def img(self, *, expires: Expiry = None) -> SafeString:
        return build_img(self.args, self.kwargs, expires=expires)

    def __html__(self) -> SafeString:
        return self.img()

    def __str__(self) -> str:
        return self.img()

    def __repr__(self) -> str:
        params = [repr(arg) for arg in self.args]
        params += [f"{name}={value!r}" for name, value in self.kwargs.items()]
        return f"Pixel({', '.join(params)})"
