"""Tracking Django email messages: instrument one now, or mark it and let the
tracking email backend instrument it on its way out.

A message is marked by its ``ptrack`` attribute (``track_message()`` sets it);
``TrackingEmailBackend`` wraps the backend named by ``PTRACK_EMAIL_BACKEND``
and hands it an instrumented copy of each marked message and every other
message untouched. With ``ptrack.store`` installed, each tracked message gets
an id its links carry and a row in the store (``ptrack.store.sending``). No
header is ever changed: ``List-Unsubscribe`` and ``List-Unsubscribe-Post`` go
out as they are, and the URLs that ``List-Unsubscribe`` names are left
untracked in the body too.
"""

from __future__ import annotations

import contextlib
import copy
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, cast

from django.apps import apps
from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend
from django.utils.module_loading import import_string

from ptrack import urlcheck
from ptrack.conf import cached, conf
from ptrack.instrument import EmailLinks, Tracking, TrackingOptions, html_part, text_part
from ptrack.links import Pixel, consented_recipient

if TYPE_CHECKING:
    from types import ModuleType

    from typing_extensions import Unpack

    from ptrack.store.sending import Sent

# The message attribute that carries a message's tracking.
ATTRIBUTE = "ptrack"

# RFC 2369: List-Unsubscribe holds URLs in angle brackets, separated by commas.
_BRACKETED = re.compile(r"<([^<>]*)>")

_M = TypeVar("_M", bound=EmailMessage)


def track_message(message: _M, pixel: Pixel | Tracking, **options: Unpack[TrackingOptions]) -> _M:
    """Mark ``message`` for ``TrackingEmailBackend``, which instruments it when sent.

    Takes the options of ``instrument_message()`` and returns the message.
    Nothing in it changes until it is sent, so a message sent through another
    backend goes out as it is.
    """
    setattr(message, ATTRIBUTE, Tracking.of(pixel, **options))
    return message


def instrument_message(
    message: EmailMessage, pixel: Pixel | Tracking, **options: Unpack[TrackingOptions]
) -> None:
    """Instrument ``message`` in place, now: every HTML part as ``instrument_html()`` does.

    The HTML parts are an ``EmailMultiAlternatives``' ``text/html``
    alternatives and an HTML body (``content_subtype = "html"``). Plain-text
    parts keep their links unless ``text=True``. Attachments and headers are
    not touched, and the URLs of a ``List-Unsubscribe`` header stay untracked
    unless ``PTRACK_TRACK_UNSUBSCRIBE``. ``options`` are those of
    ``ptrack.Tracking``; a callable ``PTRACK_UTM`` is given the message. With
    ``ptrack.store`` installed, the message is recorded as sent now.
    """
    sent = _instrument(message, Tracking.of(pixel, **options))
    if sent is not None:
        _store().record([sent])  # type: ignore[union-attr]


def _store() -> ModuleType | None:
    """``ptrack.store.sending`` when the store records, else ``None``."""
    if not apps.is_installed("ptrack.store"):
        return None
    from ptrack.store import sending

    return sending if sending.active() else None


def _instrument(message: EmailMessage, tracking: Tracking) -> Sent | None:
    """Instrument ``message`` in place; what the store is to record of it, if it records."""
    store = _store()
    sent = None
    if store is not None:
        tracking, sent = store.prepare(message, tracking, store.level_of(tracking.recipient))
    recipient, render = consented_recipient(tracking.recipient)
    if not render:
        return sent  # the recipient allows no tracking: the message goes out as it is
    if recipient != tracking.recipient:
        tracking = Tracking.of(tracking, recipient=recipient)
    email = EmailLinks.of(tracking, message, _unsubscribe_urls(message))
    message.body = _part(message.body, message.content_subtype == "html", tracking, email, "body")
    alternatives = getattr(message, "alternatives", None)
    if alternatives:
        instrumented = []
        for alternative in alternatives:
            content, mimetype = alternative
            html = mimetype == "text/html"
            if html or mimetype == "text/plain":
                content = _part(content, html, tracking, email, f"{mimetype} alternative")
                replace = getattr(alternative, "_replace", None)  # Django 5.2+: a named tuple
                alternative = replace(content=content) if replace else (content, mimetype)
            instrumented.append(alternative)
        message.alternatives = instrumented  # type: ignore[attr-defined]
    return sent


def _unsubscribe_urls(message: EmailMessage) -> list[str]:
    """The http(s) URLs the message's ``List-Unsubscribe`` header names, as browsers read them."""
    urls = []
    for name, value in message.extra_headers.items():
        if name.lower() != "list-unsubscribe":
            continue
        for bracketed in _BRACKETED.findall(str(value)):
            # mailto: URLs, and anything no link could lead to, are skipped; whitespace
            # inside the brackets is folding, not part of the URL.
            with contextlib.suppress(ValueError):
                urls.append(urlcheck.normalize("".join(bracketed.split())))
    return urls


def _part(content: Any, html: bool, tracking: Tracking, email: EmailLinks, what: str) -> Any:
    if not html and not tracking.text:
        return content
    if not isinstance(content, str):
        raise TypeError(
            f"ptrack cannot track the message's {what}: it is a {type(content).__name__}, "
            f"not a str; attach the rendered template as text."
        )
    if html:
        return html_part(content, tracking, email)
    return text_part(content, tracking, email)


class TrackingEmailBackend(BaseEmailBackend):
    """An email backend that tracks each marked message, then sends it with another backend.

    The other backend is ``PTRACK_EMAIL_BACKEND`` (SMTP by default), built with
    the arguments this one gets. A message is marked by ``track_message()``;
    the backend sends an instrumented copy and leaves the original as it was.
    Every other message passes through untouched.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # What this backend is built with (fail_silently, host, ..., a mailer's
        # OPTIONS and alias on Django 6.1+) is meant for the backend it wraps.
        alias = {"alias": kwargs["alias"]} if "alias" in kwargs else {}
        super().__init__(**alias)
        backend_class = import_string(conf.EMAIL_BACKEND)
        self.backend: BaseEmailBackend = backend_class(*args, **kwargs)

    def open(self) -> bool | None:
        return self.backend.open()

    def close(self) -> None:
        self.backend.close()

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        outgoing = [_tracked(message) for message in email_messages]
        count = self.backend.send_messages([message for message, _sent in outgoing])
        sent = [sent for _message, sent in outgoing if sent is not None]
        if sent:
            # Once out: a message the wrapped backend raised on is not recorded as sent.
            _store().record(sent)  # type: ignore[union-attr]
        return count


def tracked(message: _M) -> _M:
    """``message`` itself if it is not marked for tracking, else an instrumented copy."""
    return _tracked(message)[0]


def _tracked(message: _M) -> tuple[_M, Sent | None]:
    tracking = getattr(message, ATTRIBUTE, None)
    if tracking is None:
        return message, None
    if not isinstance(tracking, (Pixel, Tracking)):
        raise TypeError(
            f"message.{ATTRIBUTE} should be set by ptrack.mail.track_message(), "
            f"not be {tracking!r}."
        )
    tracking = Tracking.of(tracking)
    if tracking.recipient is None and conf.MESSAGE_RECIPIENT:
        recipient = _recipient_hook()(message)
        if recipient is not None:
            tracking = Tracking.of(tracking, recipient=recipient)
    instrumented = copy.copy(message)
    return instrumented, _instrument(instrumented, tracking)


@cached
def _recipient_hook() -> Callable[[EmailMessage], str | None]:
    hook = conf.MESSAGE_RECIPIENT
    return cast(
        "Callable[[EmailMessage], str | None]",
        import_string(hook) if isinstance(hook, str) else hook,
    )
