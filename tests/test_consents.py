"""The ready consent store: state and append-only history written together, levels read
through a cache that a change overwrites once it commits (ptrack.consents)."""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.core.cache import caches
from django.db import transaction
from django.test import Client, override_settings
from freezegun import freeze_time

import ptrack
from ptrack import consents
from ptrack.consents.models import AppendOnlyError, Consent, ConsentChange
from ptrack.exceptions import PixelValueError
from tests.conftest import Recorded

pytestmark = pytest.mark.django_db

AT = datetime(2026, 12, 7, 9, 30, tzinfo=timezone.utc)
WORDING = "Tell us when you open our emails, so that we send fewer of them."
KEY = "ptrack.consents:sub-1"
FORM_TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@pytest.fixture(autouse=True)
def cache(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A private locmem cache as the store's, empty for each test."""
    location = f"ptrack-consents-{request.node.name}"
    backend = "django.core.cache.backends.locmem.LocMemCache"
    with override_settings(
        CACHES={
            "default": {"BACKEND": backend},
            "consents": {"BACKEND": backend, "LOCATION": location},
        },
        PTRACK_CONSENTS_CACHE="consents",
    ):
        caches["consents"].clear()
        yield caches["consents"]


@pytest.fixture
def commit(django_capture_on_commit_callbacks: Any) -> Callable[..., Any]:
    """Runs ``func(*args, **kwargs)`` and then its on-commit callbacks, as a real commit would."""

    def run(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return func(*args, **kwargs)

    return run


# --- grant, withdraw, history ---------------------------------------------------------------


def test_a_grant_writes_the_state_and_one_history_row(commit: Callable[..., Any]) -> None:
    change = commit(consents.grant, "sub-1", source="form", wording=WORDING, at=AT)
    assert consents.level("sub-1") == "full"
    state = Consent.objects.get()
    assert (state.recipient, state.level, state.updated_at) == ("sub-1", "full", AT)
    assert consents.history("sub-1") == [change]
    assert (change.level, change.at, change.source, change.wording) == ("full", AT, "form", WORDING)


def test_withdraw_sets_none_and_history_keeps_each_change_oldest_first(
    commit: Callable[..., Any],
) -> None:
    with freeze_time(AT):
        commit(consents.grant, "sub-1", "deliverability", source="form", wording=WORDING)
    with freeze_time(AT + timedelta(days=3)):
        commit(consents.withdraw, "sub-1", source="api", note="support ticket 42")
    assert consents.level("sub-1") == "none"
    assert [(c.level, c.at, c.source, c.note) for c in consents.history("sub-1")] == [
        ("deliverability", AT, "form", ""),
        ("none", AT + timedelta(days=3), "api", "support ticket 42"),
    ]
    assert Consent.objects.get().updated_at == AT + timedelta(days=3)


def test_an_unknown_recipient_has_no_level_and_no_history() -> None:
    assert consents.level("sub-9") is None
    assert consents.history("sub-9") == []


def test_a_change_dated_before_the_state_joins_the_history_only(
    commit: Callable[..., Any],
) -> None:
    commit(consents.withdraw, "sub-1", source="form", at=AT)
    commit(consents.grant, "sub-1", source="import", at=AT - timedelta(days=30))
    assert consents.level("sub-1") == "none"
    assert [c.level for c in consents.history("sub-1")] == ["full", "none"]


def test_withdraw_from_link_records_a_link_withdrawal(commit: Callable[..., Any]) -> None:
    commit(consents.grant, "sub-1", source="form")
    commit(consents.withdraw_from_link, "sub-1")
    assert consents.level("sub-1") == "none"
    change = consents.history("sub-1")[-1]
    assert change.source == "link"
    # The confirmation page's text, as the recipient read it before confirming.
    assert change.wording == (
        "Stop tracking my emails Confirm, and our emails will no longer tell us "
        "when you open them or which links you follow, including emails you have already "
        "received. Stop tracking"
    )


def test_a_link_withdrawal_records_the_sites_own_page(
    commit: Callable[..., Any], tmp_path: Path
) -> None:
    (tmp_path / "ptrack").mkdir()
    (tmp_path / "ptrack" / "withdraw.html").write_text(
        "<head><title>Suivi</title></head><p>Arrêter le suivi de mes e-mails&nbsp;?</p>"
        "<form>{% csrf_token %}<button>Oui</button></form>"
    )
    engine = {**settings.TEMPLATES[0], "DIRS": [tmp_path]}
    with override_settings(TEMPLATES=[engine]):
        commit(consents.withdraw_from_link, "sub-1")
    assert consents.history("sub-1")[-1].wording == "Arrêter le suivi de mes e-mails ? Oui"


def test_other_recipients_are_untouched(commit: Callable[..., Any]) -> None:
    commit(consents.grant, "sub-1", source="form")
    commit(consents.grant, "sub-2", "aggregate", source="form")
    commit(consents.withdraw, "sub-1", source="form")
    assert consents.level("sub-2") == "aggregate"
    assert len(consents.history("sub-2")) == 1


# --- validation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"recipient": "ada@example.com"}, PixelValueError, "looks like an email address"),
        ({"recipient": ""}, PixelValueError, "should be a non-empty str"),
        ({"recipient": "x" * 129}, PixelValueError, "over 128"),
        ({"level": "FULL"}, ValueError, "level='FULL' should be one of 'aggregate', "),
        ({"level": None}, ValueError, "level=None should be one of"),
        ({"source": "email"}, ValueError, "source='email' should be one of 'admin', 'api', "),
        ({"at": datetime(2026, 12, 7, 9, 30)}, ValueError, "should be an aware datetime"),
    ],
)
def test_a_bad_change_is_refused_and_writes_nothing(
    kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    arguments: dict[str, Any] = {"recipient": "sub-1", "level": "full", "source": "form", **kwargs}
    with pytest.raises(error, match=re.escape(message)):
        consents.grant(arguments.pop("recipient"), arguments.pop("level"), **arguments)
    assert not Consent.objects.exists()
    assert not ConsentChange.objects.exists()


def test_a_pixel_value_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="email address"):
        consents.withdraw("ada@example.com", source="form")


# --- the history is append-only ----------------------------------------------------------------


def test_a_history_row_cannot_be_updated_or_deleted(commit: Callable[..., Any]) -> None:
    change = commit(consents.grant, "sub-1", source="form", wording=WORDING)
    change.level = "none"
    with pytest.raises(AppendOnlyError, match="append-only: a row cannot be updated"):
        change.save()
    with pytest.raises(AppendOnlyError, match="append-only: a row cannot be deleted"):
        change.delete()
    with pytest.raises(AppendOnlyError, match="cannot be updated"):
        ConsentChange.objects.filter(recipient="sub-1").update(level="none")
    with pytest.raises(AppendOnlyError, match="cannot be deleted"):
        ConsentChange.objects.all().delete()
    [kept] = consents.history("sub-1")
    assert (kept.level, kept.wording) == ("full", WORDING)


def test_a_new_row_given_an_old_rows_id_does_not_overwrite_it(commit: Callable[..., Any]) -> None:
    change = commit(consents.grant, "sub-1", source="form")
    forged = ConsentChange(pk=change.pk, recipient="sub-1", level="none", at=AT, source="api")
    with pytest.raises(Exception, match="UNIQUE constraint failed"), transaction.atomic():
        forged.save()
    assert [c.level for c in consents.history("sub-1")] == ["full"]


def test_str_of_the_models(commit: Callable[..., Any]) -> None:
    change = commit(consents.grant, "sub-1", source="form", at=AT)
    assert str(change) == "sub-1: full (form, 2026-12-07T09:30:00+00:00)"
    assert str(Consent.objects.get()) == "sub-1: full"


# --- the cache ---------------------------------------------------------------------------------


def test_level_reads_through_the_cache(
    commit: Callable[..., Any], cache: Any, django_assert_num_queries: Any
) -> None:
    commit(consents.grant, "sub-1", source="form")
    assert cache.get(KEY) == "full"  # written on commit
    cache.delete(KEY)
    with django_assert_num_queries(1):
        assert consents.level("sub-1") == "full"
        assert consents.level("sub-1") == "full"
    with django_assert_num_queries(1):
        assert consents.level("sub-9") is None
        assert consents.level("sub-9") is None


def test_a_change_overwrites_the_cached_level_when_it_commits(
    commit: Callable[..., Any], cache: Any, django_capture_on_commit_callbacks: Any
) -> None:
    commit(consents.grant, "sub-1", source="form")
    assert consents.level("sub-1") == "full"
    with django_capture_on_commit_callbacks() as callbacks:
        consents.withdraw("sub-1", source="link")
        assert cache.get(KEY) == "full"  # not yet committed: the old level still holds
    for callback in callbacks:
        callback()
    assert cache.get(KEY) == "none"
    assert consents.level("sub-1") == "none"


def test_a_first_grant_overwrites_a_cached_unknown(commit: Callable[..., Any]) -> None:
    assert consents.level("sub-1") is None
    commit(consents.grant, "sub-1", "aggregate", source="form")
    assert consents.level("sub-1") == "aggregate"


def test_a_rolled_back_change_leaves_the_cache_and_the_tables(
    commit: Callable[..., Any], cache: Any, django_capture_on_commit_callbacks: Any
) -> None:
    commit(consents.grant, "sub-1", source="form")
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
    ):
        withdraw_then_fail("sub-1")
    assert callbacks == []
    assert cache.get(KEY) == "full"
    assert consents.level("sub-1") == "full"
    assert len(consents.history("sub-1")) == 1


def withdraw_then_fail(recipient: str) -> None:
    with transaction.atomic():
        consents.withdraw(recipient, source="form")
        raise RuntimeError("the request failed after the withdrawal")


class Broken:
    """A cache whose every call fails, as an unreachable Redis would."""

    def __getattr__(self, name: str) -> Any:
        def fail(*args: Any, **kwargs: Any) -> Any:
            raise ConnectionError(f"cache down ({name})")

        return fail


def test_a_failing_cache_falls_back_to_the_database_and_logs(
    commit: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    with mock.patch("ptrack.consents.api._cache", Broken):
        commit(consents.grant, "sub-1", source="form")
        commit(consents.withdraw, "sub-1", source="form")
        assert consents.level("sub-1") == "none"
    assert "failed to read 'ptrack.consents:sub-1'; reading the database" in caplog.text
    assert "may still give the old level of 'sub-1'" in caplog.text


def test_a_cache_that_fails_to_write_deletes_the_old_level(
    commit: Callable[..., Any], cache: Any, caplog: pytest.LogCaptureFixture
) -> None:
    commit(consents.grant, "sub-1", source="form")
    with mock.patch.object(cache, "set", side_effect=ConnectionError("full")):
        commit(consents.withdraw, "sub-1", source="form")
    assert cache.get(KEY) is None
    assert consents.level("sub-1") == "none"
    assert "failed to write 'ptrack.consents:sub-1'; deleting it" in caplog.text


def test_a_cache_that_fails_to_remember_a_miss_still_answers(
    commit: Callable[..., Any], cache: Any, caplog: pytest.LogCaptureFixture
) -> None:
    commit(consents.grant, "sub-1", source="form")
    cache.clear()
    with (
        caplog.at_level(logging.ERROR, "ptrack"),
        mock.patch.object(cache, "add", side_effect=ConnectionError("full")),
    ):
        assert consents.level("sub-1") == "full"
    assert "failed to write 'ptrack.consents:sub-1'." in caplog.text


# --- end to end: the settings of docs/consent.md ------------------------------------------------


@override_settings(
    PTRACK_CONSENT="ptrack.consents.level",
    PTRACK_CONSENT_WITHDRAW="ptrack.consents.withdraw_from_link",
)
def test_a_withdrawal_from_the_link_stops_a_pixel_already_sent(
    commit: Callable[..., Any], recorded: Recorded, django_capture_on_commit_callbacks: Any
) -> None:
    commit(consents.grant, "sub-1", source="form", wording=WORDING)
    pixel = urlsplit(ptrack.Pixel("newsletter").url(recipient="sub-1")).path
    assert pixel
    client = Client()
    assert client.get(pixel).status_code == 200
    assert [e.recipient for e in recorded.events] == ["sub-1"]
    recorded.events.clear()

    page = urlsplit(ptrack.withdrawal_url("sub-1")).path
    browser = Client(enforce_csrf_checks=True)
    form = browser.get(page)
    token = FORM_TOKEN.search(form.content.decode())
    assert token is not None
    with django_capture_on_commit_callbacks(execute=True):
        assert browser.post(page, {"csrfmiddlewaretoken": token[1]}).status_code == 200

    assert client.get(pixel).status_code == 200
    assert recorded.events == []
    assert ptrack.Pixel("newsletter").url(recipient="sub-1") == ""
    assert [c.source for c in consents.history("sub-1")] == ["form", "link"]


# --- the admin ---------------------------------------------------------------------------------


def test_the_admin_lists_consents_and_their_history(
    commit: Callable[..., Any], admin_client: Client
) -> None:
    commit(consents.grant, "sub-1", source="form", at=AT)
    commit(consents.grant, "sub-2", "aggregate", source="form", at=AT)
    page = admin_client.get("/admin/ptrack_consents/consent/", {"q": "sub-1"})
    assert page.status_code == 200
    assert b"sub-1" in page.content
    assert b"sub-2" not in page.content
    page = admin_client.get("/admin/ptrack_consents/consent/", {"level": "aggregate"})
    assert b"sub-2" in page.content
    assert admin_client.get("/admin/ptrack_consents/consentchange/").status_code == 200


def test_an_admin_edit_goes_through_the_api(
    commit: Callable[..., Any], admin_client: Client, admin_user: Any, cache: Any
) -> None:
    commit(consents.grant, "sub-1", source="form", at=AT)
    state = Consent.objects.get()
    url = f"/admin/ptrack_consents/consent/{state.pk}/change/"
    page = admin_client.get(url)
    assert page.status_code == 200
    assert b"2026-12-07T09:30:00+00:00" in page.content  # the history, shown
    response = commit(admin_client.post, url, {"level": "none"})
    assert response.status_code == 302
    assert consents.level("sub-1") == "none"
    assert cache.get(KEY) == "none"
    last = consents.history("sub-1")[-1]
    assert (last.level, last.source) == ("none", "admin")
    assert last.note == f"by admin (user id {admin_user.pk})"


def test_an_admin_add_goes_through_the_api(admin_client: Client) -> None:
    response = admin_client.post(
        "/admin/ptrack_consents/consent/add/", {"recipient": "sub-3", "level": "aggregate"}
    )
    assert response.status_code == 302
    assert [(c.level, c.source) for c in consents.history("sub-3")] == [("aggregate", "admin")]


def test_the_admin_never_edits_or_deletes_history(
    commit: Callable[..., Any], admin_client: Client
) -> None:
    change = commit(consents.grant, "sub-1", source="form")
    state = Consent.objects.get()
    assert admin_client.get("/admin/ptrack_consents/consentchange/add/").status_code == 403
    url = f"/admin/ptrack_consents/consentchange/{change.pk}/change/"
    assert admin_client.post(url, {"level": "none"}).status_code == 403
    url = f"/admin/ptrack_consents/consentchange/{change.pk}/delete/"
    assert admin_client.post(url, {"post": "yes"}).status_code == 403
    url = f"/admin/ptrack_consents/consent/{state.pk}/delete/"
    assert admin_client.post(url, {"post": "yes"}).status_code == 403
    assert len(consents.history("sub-1")) == 1


# --- a real Redis, shared by two processes ------------------------------------------------------


def test_a_withdrawal_reaches_another_process_through_redis() -> None:
    """bench/consents.py, briefly: another process reads "none" once withdraw() returns."""
    # Required, as by test_workers.py: .ci/run installs it.
    assert shutil.which("redis-server"), "needs redis-server (apt-get install redis-server)"
    repo = Path(__file__).resolve().parent.parent
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run(
        [sys.executable, "-m", "bench.consents", "--changes", "5"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    after = re.search(r"returned -> seen by the other process: median (-?[\d.]+) ms", result.stdout)
    assert after is not None, result.stdout
    # Seen as soon as the commit's cache write lands, however long the key would live.
    assert float(after[1]) < 100
