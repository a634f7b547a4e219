"""Building pixel URLs, ``<img>`` tags and click links, for templates and for Python code."""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.urls import NoReverseMatch, get_resolver, get_script_prefix, get_urlconf, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from ptrack import clicks, consent, encoders
from ptrack.conf import cached, conf
from ptrack.consent import Consent
from ptrack.exceptions import PixelURLTooLong, PixelValueError

Expiry = int | float | timedelta | datetime | None

# A campaign's name travels in every link of it: a short label, not a description.
CAMPAIGN_MAX_LENGTH = 100

IMG_HTML = (
    '<img src="{}" width="1" height="1" alt="" '
    'style="border:0;width:1px;height:1px;margin:0;padding:0">'
)


def _max_age(expires: Expiry) -> int | None:
    now = time.time()
    if isinstance(expires, datetime):
        if expires.tzinfo is None or expires.utcoffset() is None:
            raise PixelValueError(
                f"expires={expires!r} is a naive datetime; give an aware one "
                f"(django.utils.timezone.now() + timedelta(...))."
            )
        seconds: float = expires.timestamp() - now
    elif isinstance(expires, timedelta):
        seconds = expires.total_seconds()
    elif isinstance(expires, (int, float)) and not isinstance(expires, bool):
        seconds = expires
    elif expires is None:
        return None
    else:
        raise PixelValueError(
            f"expires={expires!r} should be seconds, a timedelta or an aware datetime."
        )
    if isinstance(seconds, float) and not math.isfinite(seconds):
        raise PixelValueError(f"expires={expires!r} should be a finite duration.")
    if seconds <= 0:
        raise PixelValueError(f"expires={expires!r} should lie in the future.")
    # The token's timestamp is the current second, rounded down: count from
    # there, so that a link never stops recording before the time asked for.
    max_age = math.ceil(seconds)
    if now % 1 > max_age - seconds:
        max_age += 1
    return max_age


def build_url(
    args: Sequence[Any],
    kwargs: Mapping[str, Any],
    *,
    expires: Expiry = None,
    recipient: str | None = None,
    campaign: str | None = None,
    message: str | None = None,
) -> str:
    """The absolute pixel URL for ``args`` and ``kwargs``.

    ``expires`` gives this link its own expiry (seconds or timedelta from now,
    or an aware datetime) instead of ``PTRACK_MAX_AGE``. ``recipient`` names
    whom the link is for, an opaque key that the consent source is asked
    about: ``""`` when they allow no tracking, a URL without it when only
    counts. ``campaign`` names the campaign the pixel counts for
    (``ptrack.store``); ``message`` is the id ``ptrack.store`` gave the message
    it goes in, left out of a link for a recipient who allows only counts.
    """
    if clicks.is_click(args):
        raise PixelValueError(
            f"A pixel cannot carry {args[0]!r} as its first argument: a list starting "
            f"with {clicks.MARK!r} marks click links."
        )
    check_campaign(campaign)
    carried, render = consented_recipient(recipient)
    if not render:
        return ""
    message = _message(message, recipient, carried)
    return _build(PIXEL_URL_NAME, args, kwargs, expires, carried, campaign, message)


def consented_recipient(recipient: str | None) -> tuple[str | None, bool]:
    """The recipient a link may carry under their consent now, and whether to make it at all."""
    if recipient is None:
        return None, True
    consent.check_recipient(recipient)
    allowed = consent.level(recipient)
    if allowed is Consent.NONE:
        return None, False
    return (None if allowed is Consent.AGGREGATE else recipient), True


def check_campaign(campaign: object) -> None:
    """Raise ``PixelValueError`` unless ``campaign`` is ``None`` or a campaign's name."""
    if campaign is None:
        return
    if not isinstance(campaign, str):
        raise PixelValueError(f"campaign={campaign!r} should be a str, the campaign's name.")
    if len(campaign) > CAMPAIGN_MAX_LENGTH:
        raise PixelValueError(
            f"campaign is {len(campaign)} characters long, over {CAMPAIGN_MAX_LENGTH}; "
            f"name the campaign with a short label."
        )


def _message(message: str | None, recipient: str | None, carried: str | None) -> str | None:
    """The message id a link may carry: none when the recipient allows only counts, since
    ``ptrack.store`` knows whom each message went to."""
    if message is not None and (not isinstance(message, str) or not message):
        raise PixelValueError(f"message={message!r} should be a non-empty str.")
    return None if recipient is not None and carried is None else message


def build_link(
    destination: str,
    args: Sequence[Any],
    kwargs: Mapping[str, Any],
    *,
    expires: Expiry = None,
    name: str = "",
    recipient: str | None = None,
    campaign: str | None = None,
    message: str | None = None,
) -> str:
    """The absolute click URL that records a click and redirects to ``destination``.

    ``destination`` must be an absolute http(s) URL that browsers follow,
    without credentials; the link leads where a browser would go for it, as
    the URL standard reads it (``ü`` percent-encoded, an IDN host in its
    ``xn--`` form), at most ``PTRACK_MAX_URL_LENGTH`` long. Anything else
    raises ``InvalidDestination``. ``expires`` ends the recording, not the
    link: an expired link still redirects. ``name`` says which link of its
    email this is; the click event carries it as ``link_name``. For a
    ``recipient`` who allows no tracking, ``destination`` itself is returned.
    ``campaign`` and ``message`` are as for ``build_url()``.
    """
    followed = clicks.destination(destination, _url_settings()[1])
    if not isinstance(name, str):
        raise PixelValueError(f"name={name!r} should be a str, the link's name in its email.")
    check_campaign(campaign)
    carried, render = consented_recipient(recipient)
    if not render:
        return destination
    message = _message(message, recipient, carried)
    click = clicks.click_args(followed, args, name)
    return _build(CLICK_URL_NAME, click, kwargs, expires, carried, campaign, message)


def link_maker(
    args: Sequence[Any],
    kwargs: Mapping[str, Any],
    *,
    expires: Expiry = None,
    recipient: str | None = None,
    campaign: str | None = None,
    message: str | None = None,
) -> Callable[[str, str], str] | None:
    """``build_link`` for many destinations with the same data, e.g. every link of an email.

    Returns ``make(destination, name)``, or ``None`` when the recipient allows
    no tracking, so links stay as they are. The settings, the URLconf, the
    expiry and the consent are read once, here, instead of once per link.
    """
    app_url, max_url_length = _url_settings()
    _require(app_url)
    max_age = _max_age(expires)
    check_campaign(campaign)
    carried, render = consented_recipient(recipient)
    if not render:
        return None
    message = _message(message, recipient, carried)
    around = path_around_token(CLICK_URL_NAME)
    encode: list[Callable[[Any], str]] = []  # made by the first link, as encode() would fail

    def make(destination: str, name: str) -> str:
        mark = clicks.mark(clicks.destination(destination, max_url_length), name)
        if not encode:
            encode.append(
                encoders.encoder(
                    args,
                    kwargs,
                    max_age=max_age,
                    recipient=carried,
                    campaign=campaign,
                    message=message,
                )
            )
        path = _path(encode[0](mark), CLICK_URL_NAME, around)
        return _checked(app_url + path, max_url_length, CLICK_URL_NAME)

    return make


def _build(
    name: str,
    args: Sequence[Any],
    kwargs: Mapping[str, Any],
    expires: Expiry,
    recipient: str | None,
    campaign: str | None = None,
    message: str | None = None,
) -> str:
    app_url, max_url_length = _url_settings()
    _require(app_url)
    token = encoders.encode(
        args,
        kwargs,
        max_age=_max_age(expires),
        recipient=recipient,
        campaign=campaign,
        message=message,
    )
    return _checked(app_url + _path(token, name), max_url_length, name)


def _require(app_url: str) -> None:
    if not app_url:
        raise ImproperlyConfigured(
            "PTRACK_APP_URL is not set; set it to the absolute base URL of the site "
            "serving the pixels, e.g. 'https://track.example.com'."
        )


def _checked(url: str, max_url_length: int, name: str) -> str:
    if len(url) > max_url_length:
        kind = "click" if name == CLICK_URL_NAME else "pixel"
        raise PixelURLTooLong(
            f"The {kind} URL would be {len(url)} characters long, over the limit of "
            f"{max_url_length} (PTRACK_MAX_URL_LENGTH); carry less data in it, "
            f"e.g. an id instead of a record."
        )
    return url


@cached
def _url_settings() -> tuple[str, int]:
    return conf.APP_URL.rstrip("/"), conf.MAX_URL_LENGTH


# The reverse() names of ptrack.urls' two endpoints, and the path of click links
# under the pixels' prefix (no pixel token contains a "/").
PIXEL_URL_NAME = "ptrack"
CLICK_URL_NAME = "ptrack_click"
CLICK_SEGMENT = "c/"

# Tokens made only of characters that reverse() never quotes can be put between
# the parts of a reversed URL directly.
_PLAIN_TOKEN = re.compile(r"[A-Za-z0-9_.~=-]+")
_MARKER = "ptrack-token-marker"
# URL name -> (resolver, script prefix, path before the token, path after it)
_split_paths: dict[str, tuple[object, str, str, str]] = {}


def path_around_token(name: str = PIXEL_URL_NAME) -> tuple[str, str]:
    """The reversed path before and after a token, e.g. ``("/ptrack/", "/")``.

    ``name`` is the URL's name: ``"ptrack"`` for pixels, ``"ptrack_click"``
    for click links. Kept only for the URLconf and script prefix it came from,
    which can change per request and per test.
    """
    resolver = get_resolver(get_urlconf())
    script_prefix = get_script_prefix()
    split = _split_paths.get(name)
    if split is None or split[0] is not resolver or split[1] != script_prefix:
        head, _marker, tail = _reverse(_MARKER, name).partition(_MARKER)
        if _MARKER in head + tail:
            return head, tail  # a split that cannot be trusted is not kept
        split = _split_paths[name] = (resolver, script_prefix, head, tail)
    return split[2], split[3]


def _path(token: str, name: str, around: tuple[str, str] | None = None) -> str:
    """``reverse(name, ...)``, without resolving the URLconf for every link.

    ``around`` is ``path_around_token(name)`` when the caller already has it.
    """
    head, tail = around or path_around_token(name)
    if _PLAIN_TOKEN.fullmatch(token) and _MARKER not in head + tail:
        return head + token + tail
    return _reverse(token, name)


def _reverse(token: str, name: str) -> str:
    try:
        return reverse(name, kwargs={"ptrack_encoded_data": token})
    except NoReverseMatch as e:
        raise ImproperlyConfigured(
            "ptrack's URLs are not in the URLconf; add "
            "path('ptrack/', include('ptrack.urls')) to ROOT_URLCONF."
        ) from e


def build_img(
    args: Sequence[Any],
    kwargs: Mapping[str, Any],
    *,
    expires: Expiry = None,
    recipient: str | None = None,
    campaign: str | None = None,
    message: str | None = None,
) -> SafeString:
    """The 1x1 ``<img>`` tag for ``args`` and ``kwargs``, HTML-escaped; ``""`` for a
    recipient who allows no tracking."""
    url = build_url(
        args, kwargs, expires=expires, recipient=recipient, campaign=campaign, message=message
    )
    return format_html(IMG_HTML, url) if url else SafeString("")


class Pixel:
    """A tracking pixel for emails and pages built in Python.

    ``Pixel('newsletter', user_id=42).img()`` gives the ``<img>`` tag,
    ``.url()`` the bare URL, and ``.link(destination)`` a click link carrying
    the same data; all take ``expires=``, ``recipient=`` and ``campaign=``. Every argument of
    the constructor goes into the link, so no name is reserved.
    """

    __slots__ = ("args", "kwargs")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args = args
        self.kwargs = kwargs

    def url(
        self,
        *,
        expires: Expiry = None,
        recipient: str | None = None,
        campaign: str | None = None,
        message: str | None = None,
    ) -> str:
        return build_url(
            self.args,
            self.kwargs,
            expires=expires,
            recipient=recipient,
            campaign=campaign,
            message=message,
        )

    def img(
        self,
        *,
        expires: Expiry = None,
        recipient: str | None = None,
        campaign: str | None = None,
        message: str | None = None,
    ) -> SafeString:
        return build_img(
            self.args,
            self.kwargs,
            expires=expires,
            recipient=recipient,
            campaign=campaign,
            message=message,
        )

    def link(
        self,
        destination: str,
        *,
        expires: Expiry = None,
        name: str = "",
        recipient: str | None = None,
        campaign: str | None = None,
        message: str | None = None,
    ) -> str:
        """The click URL that records a click with this data, then goes to ``destination``.

        ``name`` tells reports which link of the email it was (``PixelEvent.link_name``).
        """
        return build_link(
            destination,
            self.args,
            self.kwargs,
            expires=expires,
            name=name,
            recipient=recipient,
            campaign=campaign,
            message=message,
        )

    def __html__(self) -> SafeString:
        return self.img()

    def __str__(self) -> str:
        return self.img()

    def __repr__(self) -> str:
        params = [repr(arg) for arg in self.args]
        params += [f"{name}={value!r}" for name, value in self.kwargs.items()]
        return f"Pixel({', '.join(params)})"
