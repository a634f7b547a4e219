"""The local mail sink: a Django email backend writing a Maildir, and the inbox's reader.

Maildir is the format local mail clients (mutt, Thunderbird's maildir store,
Dovecot) read, one file per message, safe for several writers at once. The
inbox page shows these messages the way a mail client does, so their pixels
load from the real URLs in the mail.
"""

from __future__ import annotations

import email
import mailbox
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.mail import EmailMessage as DjangoEmailMessage
from django.core.mail import get_connection
from django.core.mail.backends.base import BaseEmailBackend

MAILDIR_BACKEND = "campaigns.mail.MaildirBackend"
TRACKING_BACKEND = "ptrack.mail.TrackingEmailBackend"
SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"


def configured_backend() -> str:
    """The dotted path of the backend that delivers the mail.

    Behind ptrack's tracking backend, that is the one it wraps (PTRACK_EMAIL_BACKEND).
    """
    mailers = getattr(settings, "MAILERS", None)  # Django 6.1+
    if mailers is None:
        backend = str(settings.EMAIL_BACKEND)
    else:
        backend = str(mailers.get("default", {}).get("BACKEND", SMTP_BACKEND))
    if backend == TRACKING_BACKEND:
        return str(getattr(settings, "PTRACK_EMAIL_BACKEND", None) or SMTP_BACKEND)
    return backend


def default_mailer() -> BaseEmailBackend:
    """A connection to the default mail backend, on every supported Django."""
    try:
        from django.core.mail import mailers
    except ImportError:  # Django < 6.1
        return get_connection()
    return mailers.default


def uses_maildir() -> bool:
    return configured_backend() == MAILDIR_BACKEND


def _parse(file: IO[bytes]) -> EmailMessage:
    message = email.message_from_binary_file(file, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def open_maildir() -> mailbox.Maildir:
    return mailbox.Maildir(Path(settings.MAILROOM_MAILDIR), factory=None, create=True)


class MaildirBackend(BaseEmailBackend):
    """Delivers every message into the Maildir at ``settings.MAILROOM_MAILDIR``.

    A local sink has nothing to fail quietly about, so errors always raise.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.maildir: mailbox.Maildir | None = None

    def open(self) -> bool:
        if self.maildir is not None:
            return False
        self.maildir = open_maildir()
        return True

    def close(self) -> None:
        self.maildir = None

    def send_messages(self, email_messages: Sequence[DjangoEmailMessage]) -> int:
        if not email_messages:
            return 0
        new_connection = self.open()
        assert self.maildir is not None
        try:
            for message in email_messages:
                self.maildir.add(message.message().as_bytes())
        finally:
            if new_connection:
                self.close()
        return len(email_messages)


@dataclass(frozen=True)
class InboxMessage:
    """One message of the sink, as the inbox lists and shows it."""

    key: str  # the Maildir key, stable for the life of the message
    sender: str
    to: str
    to_name: str  # the first recipient's display name, else address
    subject: str
    date: datetime | None
    unread: bool
    message: EmailMessage

    @property
    def html(self) -> str | None:
        part = self.message.get_body(preferencelist=("html",))
        return None if part is None else str(part.get_content())

    @property
    def text(self) -> str | None:
        part = self.message.get_body(preferencelist=("plain",))
        return None if part is None else str(part.get_content())

    @property
    def source(self) -> str:
        return self.message.as_string()


def _inbox_message(maildir: mailbox.Maildir, key: str) -> InboxMessage:
    stored = maildir.get_message(key)  # a MaildirMessage: flags and subdir
    with maildir.get_file(key) as file:
        message = _parse(file)
    try:
        date = parsedate_to_datetime(str(message["Date"])) if message["Date"] else None
    except (TypeError, ValueError):
        date = None
    to = message["To"]
    addresses = getattr(to, "addresses", ())
    to_name = (addresses[0].display_name or addresses[0].addr_spec) if addresses else str(to or "")
    return InboxMessage(
        key=key,
        sender=str(message["From"] or ""),
        to=str(to or ""),
        to_name=to_name,
        subject=str(message["Subject"] or "(no subject)"),
        date=date,
        unread="S" not in stored.get_flags(),
        message=message,
    )


def _delivery_order(key: str) -> tuple[int, int, int]:
    # Python's Maildir names a message "<seconds>.M<microseconds>P<pid>Q<count>.<host>".
    match = re.match(r"(\d+)\.M(\d+)P\d+Q(\d+)", key)
    return (int(match[1]), int(match[2]), int(match[3])) if match else (0, 0, 0)


def list_messages() -> list[InboxMessage]:
    """Every message of the sink, latest delivered first."""
    maildir = open_maildir()
    keys = sorted(maildir.keys(), key=_delivery_order, reverse=True)
    return [_inbox_message(maildir, key) for key in keys]


def get_message(key: str) -> InboxMessage:
    """The message stored under ``key``; raises ``KeyError`` if there is none."""
    return _inbox_message(open_maildir(), key)


def mark_read(key: str) -> None:
    """Flag the message as seen, as a mail client does when it shows one."""
    maildir = open_maildir()
    stored = maildir.get_message(key)
    if "S" not in stored.get_flags():
        stored.set_subdir("cur")
        stored.add_flag("S")
        maildir[key] = stored
