"""The local mail sink (a Maildir) and the inbox page that shows it like a mail client."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from campaigns import mail
from campaigns.models import Campaign
from campaigns.sending import send_campaign
from django.conf import settings
from django.test import Client

from tests.conftest import PIXEL_IMG, loads, mail_backend

MAILDIR = "campaigns.mail.MaildirBackend"


@pytest.fixture
def inbox(campaign: Campaign) -> list[mail.InboxMessage]:
    """``campaign`` sent through the Maildir backend, as the inbox lists it."""
    with mail_backend(MAILDIR):
        send_campaign(campaign)
    return mail.list_messages()


def message_keys(html: str) -> list[str]:
    return re.findall(r'<a href="/inbox/([^/"]+)/"', html)


def test_backend_writes_one_file_per_message(inbox: list[mail.InboxMessage]) -> None:
    new = Path(settings.MAILROOM_MAILDIR) / "new"
    assert len(list(new.iterdir())) == 3


def test_inbox_lists_latest_first_and_unread(inbox: list[mail.InboxMessage]) -> None:
    assert [m.to_name for m in inbox] == ["Person 2", "Person 1", "Person 0"]
    assert [m.to for m in inbox][-1] == "Person 0 <person0@example.com>"
    assert {m.subject for m in inbox} == {"Launch: news"}
    assert {m.sender for m in inbox} == {"Mailroom <news@mailroom.example>"}
    assert all(m.unread for m in inbox)
    assert all(m.date is not None for m in inbox)


def test_stored_message_keeps_both_parts(inbox: list[mail.InboxMessage]) -> None:
    message = inbox[-1]

    assert message.text is not None
    assert message.text.startswith("Hi Person 0,")
    assert message.html is not None
    assert len(PIXEL_IMG.findall(message.html)) == 1
    assert "Content-Type: multipart/alternative" in message.source


@mail_backend(MAILDIR)
def test_inbox_page_lists_the_messages(client: Client, inbox: list[mail.InboxMessage]) -> None:
    html = client.get("/inbox/").content.decode()

    assert message_keys(html) == [m.key for m in inbox]
    assert html.count('class="unread"') == 3
    assert "Pick a message to read it." in html


@mail_backend(MAILDIR)
def test_message_page_frames_the_html_in_a_sandbox(
    client: Client, inbox: list[mail.InboxMessage]
) -> None:
    key = inbox[0].key

    html = client.get(f"/inbox/{key}/").content.decode()

    # Scripts stay off; links open in a new tab, as a mail client opens them.
    assert (
        f'<iframe title="Message" sandbox="allow-popups allow-popups-to-escape-sandbox" '
        f'src="/inbox/{key}/html/"></iframe>'
    ) in html
    assert "<dt>To</dt><dd>Person 2 &lt;person2@example.com&gt;</dd>" in html
    assert html.count('class="unread"') == 2  # opening it marked it read
    assert not mail.get_message(key).unread


@mail_backend(MAILDIR)
def test_framed_html_behaves_like_a_mail_client(
    client: Client, inbox: list[mail.InboxMessage]
) -> None:
    response = client.get(f"/inbox/{inbox[0].key}/html/")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert "script-src" not in response["Content-Security-Policy"]
    assert response["Content-Security-Policy"].startswith("default-src 'none'; img-src *")
    assert response["Referrer-Policy"] == "no-referrer"
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert response.content.decode() == inbox[0].html
    assert not loads().exists()  # serving the mail is not opening it: the pixel is


@mail_backend(MAILDIR)
@pytest.mark.parametrize(("view", "expected"), [("text", "Hi Person 2,"), ("source", "Subject:")])
def test_message_page_shows_text_and_source(
    client: Client, inbox: list[mail.InboxMessage], view: str, expected: str
) -> None:
    html = client.get(f"/inbox/{inbox[0].key}/", {"view": view}).content.decode()

    assert "<pre>" in html
    assert expected in html
    assert "<iframe" not in html


@mail_backend(MAILDIR)
@pytest.mark.parametrize("path", ["/inbox/{key}/", "/inbox/{key}/html/"])
def test_unknown_message_is_404(client: Client, db: None, path: str) -> None:
    assert client.get(path.format(key="1700000000.M1P1Q1.nowhere")).status_code == 404


@mail_backend("django.core.mail.backends.smtp.EmailBackend")
def test_inbox_says_so_when_mail_goes_out_by_smtp(client: Client, db: None) -> None:
    html = client.get("/inbox/").content.decode()

    assert "Mail goes out through <code>django.core.mail.backends.smtp.EmailBackend</code>" in html
    assert client.get("/inbox/1700000000.M1P1Q1.nowhere/html/").status_code == 404
