from __future__ import annotations

import importlib.util
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest
from django.core.checks import run_checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings
from freezegun import freeze_time

import ptrack
from ptrack import checks

STRONG = "a-strong-pixel-secret-with-plenty-of-entropy-0123456789"


def ids(messages: list[Any]) -> list[str]:
    return [m.id for m in messages]


def test_default_test_settings_pass() -> None:
    assert checks.check_settings() == []
    assert checks.check_deploy() == []
    assert checks.check_urls() == []


@override_settings(PTRACK_APP_URL="")
def test_e001_app_url_missing() -> None:
    [error] = checks.check_settings()
    assert error.id == "ptrack.E001"
    assert error.msg == "PTRACK_APP_URL is not set."
    assert "https://track.example.com" in (error.hint or "")


@pytest.mark.parametrize(
    "url",
    [
        "/ptrack",
        "track.example.com",
        "ftp://x.example.com",
        "https://x.com/?q=1",
        "https://x.com/#top",
        "https:x.com",
        "https://[oops/",  # urlsplit() raises ValueError on it: the check must not crash
        42,
    ],
)
def test_e002_app_url_not_absolute(url: Any) -> None:
    with override_settings(PTRACK_APP_URL=url):
        [error] = checks.check_settings()
    assert error.id == "ptrack.E002"
    assert repr(url) in error.msg


@override_settings(PTRACK_APP_URL="http://127.0.0.1:8000/sub/")
def test_app_url_with_port_and_path_is_fine() -> None:
    assert checks.check_settings() == []


@override_settings(PTRACK_ENCODER="nowhere.Encoder")
def test_e003_encoder_not_importable() -> None:
    [error] = checks.check_settings()
    assert error.id == "ptrack.E003"
    assert "'nowhere.Encoder'" in error.msg


@pytest.mark.parametrize("path", ["ptrack.tokens.dumps", "ptrack.events.PixelEvent"])
def test_e004_encoder_of_wrong_shape(path: str) -> None:
    with override_settings(PTRACK_ENCODER=path):
        [error] = checks.check_settings()
    assert error.id == "ptrack.E004"
    assert repr(path) in error.msg


def test_assigned_encoder_is_not_reported() -> None:
    ptrack.ptrack_encoder = ptrack.SignedEncoder
    with override_settings(PTRACK_ENCODER="nowhere.Encoder"):
        assert checks.check_settings() == []


@override_settings(PTRACK_SECRET="", SECRET_KEY="")
def test_e005_no_key_at_all() -> None:
    assert ids(checks.check_settings()) == ["ptrack.E005"]


@pytest.mark.parametrize("value", [0, -1, "3600", timedelta(0), True, float("inf"), float("nan")])
def test_e006_bad_max_age(value: Any) -> None:
    with override_settings(PTRACK_MAX_AGE=value):
        assert ids(checks.check_settings()) == ["ptrack.E006"]


@pytest.mark.parametrize("value", [None, 3600, 0.5, timedelta(days=30)])
def test_good_max_age(value: Any) -> None:
    with override_settings(PTRACK_MAX_AGE=value):
        assert checks.check_settings() == []


@pytest.mark.parametrize("value", [0, -4, "4096", 4096.0])
def test_e007_e008_bad_lengths(value: Any) -> None:
    with override_settings(PTRACK_MAX_TOKEN_LENGTH=value):
        assert ids(checks.check_settings()) == ["ptrack.E007"]
    with override_settings(PTRACK_MAX_URL_LENGTH=value):
        assert ids(checks.check_settings()) == ["ptrack.E008"]


@override_settings(PTRACK_SECRET=12345)
def test_e009_secret_of_wrong_type() -> None:
    assert ids(checks.check_settings()) == ["ptrack.E009"]


@pytest.mark.parametrize("value", ["old-key", [""], [None], None])
def test_e011_bad_fallbacks(value: Any) -> None:
    with override_settings(PTRACK_SECRET=STRONG, PTRACK_SECRET_FALLBACKS=value):
        assert ids(checks.check_settings()) == ["ptrack.E011"]


@override_settings(PTRACK_ENCODER="ptrack.encoders.FernetEncoder")
def test_e010_fernet_without_cryptography(monkeypatch: pytest.MonkeyPatch) -> None:
    assert checks.check_settings() == []
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    [error] = checks.check_settings()
    assert error.id == "ptrack.E010"
    assert error.hint == "pip install 'django-ptrack[fernet]'"


@pytest.mark.parametrize("secret", ["short", "a" * 60, "django-insecure-" + STRONG, b"short-bytes"])
def test_w001_weak_ptrack_secret(secret: Any) -> None:
    with override_settings(PTRACK_SECRET=secret):
        [warning] = checks.check_settings()
    assert warning.id == "ptrack.W001"
    assert warning.msg.startswith("PTRACK_SECRET is too weak")


def test_w001_weak_secret_key_on_deploy_only() -> None:
    with override_settings(SECRET_KEY="django-insecure-abc"):
        assert checks.check_settings() == []
        [warning] = checks.check_deploy()
        assert warning.id == "ptrack.W001"
        assert warning.msg.startswith("SECRET_KEY is too weak")
    with override_settings(SECRET_KEY="django-insecure-abc", PTRACK_SECRET=STRONG):
        assert checks.check_deploy() == []
    with override_settings(SECRET_KEY=""):
        assert checks.check_deploy() == []


@override_settings(ROOT_URLCONF="tests.urls_empty")
def test_w002_urls_not_included() -> None:
    [warning] = checks.check_urls()
    assert warning.id == "ptrack.W002"


def test_checks_are_registered() -> None:
    with override_settings(PTRACK_APP_URL=""):
        assert "ptrack.E001" in ids(run_checks())
        with pytest.raises(SystemCheckError, match=r"ptrack\.E001"):
            call_command("check")
    with override_settings(ROOT_URLCONF="tests.urls_empty"):
        assert "ptrack.W002" in ids(run_checks())
    with override_settings(SECRET_KEY="django-insecure-abc"):
        assert "ptrack.W001" in ids(run_checks(include_deployment_checks=True))
        assert "ptrack.W001" not in ids(run_checks())
    call_command("check")


# Reading links from django-ptrack 3.x ------------------------------------------------------------

LEGACY_SECRET = "my-3.x-ptrack-secret"


@pytest.mark.parametrize(
    "settings",
    [
        {"PTRACK_LEGACY_SECRET": LEGACY_SECRET},
        {"PTRACK_LEGACY_SECRET": "0123456789abcdefghijklmnopqrstuv"},
        {"PTRACK_LEGACY_SECRET": LEGACY_SECRET, "PTRACK_LEGACY_UNTIL": date(2027, 6, 30)},
        {
            "PTRACK_LEGACY_SECRET": LEGACY_SECRET,
            "PTRACK_LEGACY_UNTIL": datetime(2027, 6, 30, tzinfo=timezone.utc),
        },
        {"PTRACK_LEGACY_SECRET": None, "PTRACK_LEGACY_UNTIL": None},
        {"PTRACK_LEGACY_SECRET": ""},
    ],
)
@freeze_time("2027-01-01")
def test_good_legacy_settings(settings: dict[str, Any]) -> None:
    with override_settings(**settings):
        assert checks.check_settings() == []


@pytest.mark.parametrize(
    ("secret", "reason"),
    [
        ("x" * 33, "at most 32 ASCII characters, not 33 characters in 33 bytes."),
        ("é" * 10, "at most 32 ASCII characters, not 10 characters in 20 bytes."),
        (b"my-3.x-ptrack-secret", "at most 32 ASCII characters, not bytes."),
        (12345, "at most 32 ASCII characters, not int."),
    ],
)
def test_e018_legacy_secret_that_3x_could_not_have_used(secret: Any, reason: str) -> None:
    with override_settings(PTRACK_LEGACY_SECRET=secret):
        [error] = checks.check_settings()
    assert error.id == "ptrack.E018"
    assert error.msg.startswith(
        "PTRACK_LEGACY_SECRET should be the PTRACK_SECRET of django-ptrack 3.x"
    )
    assert reason in error.msg
    assert str(secret) not in error.msg  # a secret is never echoed


@override_settings(PTRACK_LEGACY_SECRET=LEGACY_SECRET)
def test_e019_legacy_secret_without_pynacl(monkeypatch: pytest.MonkeyPatch) -> None:
    assert checks.check_settings() == []
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name: None if name == "nacl" else real_find_spec(name)
    )
    [error] = checks.check_settings()
    assert error.id == "ptrack.E019"
    assert error.hint == "pip install 'django-ptrack[legacy]'"


@pytest.mark.parametrize("until", ["2027-06-30", 1814400000, timedelta(days=90), True])
def test_e020_legacy_until_of_wrong_type(until: Any) -> None:
    with override_settings(PTRACK_LEGACY_SECRET=LEGACY_SECRET, PTRACK_LEGACY_UNTIL=until):
        [error] = checks.check_settings()
    assert error.id == "ptrack.E020"
    assert repr(until) in error.msg


def test_e021_legacy_until_naive() -> None:
    naive = datetime(2027, 6, 30, 12)
    with override_settings(PTRACK_LEGACY_SECRET=LEGACY_SECRET, PTRACK_LEGACY_UNTIL=naive):
        [error] = checks.check_settings()
    assert error.id == "ptrack.E021"
    assert repr(naive) in error.msg


@pytest.mark.parametrize(
    ("until", "last_quiet", "first_warned"),
    [
        (date(2027, 6, 30), "2027-06-30 23:59:59.999999", "2027-07-01 00:00:00"),
        (
            datetime(2027, 6, 30, 12, tzinfo=timezone(timedelta(hours=2))),
            "2027-06-30 09:59:59.999999",
            "2027-06-30 10:00:00",
        ),
    ],
)
def test_w004_legacy_until_has_passed(until: Any, last_quiet: str, first_warned: str) -> None:
    with override_settings(PTRACK_LEGACY_SECRET=LEGACY_SECRET, PTRACK_LEGACY_UNTIL=until):
        with freeze_time(last_quiet):
            assert checks.check_settings() == []
        with freeze_time(first_warned):
            [warning] = checks.check_settings()
    assert warning.id == "ptrack.W004"
    assert repr(until) in warning.msg
    assert "remove PTRACK_LEGACY_SECRET" in (warning.hint or "")


class _RequestFirst(ptrack.TrackingPixel):
    def record(self, request: Any, *args: Any, **kwargs: Any) -> None: ...


class _AsyncRequestFirst(ptrack.TrackingPixel):
    async def record(self, request: Any, campaign: str) -> None:  # type: ignore[override]
        ...


class _RequestOnly(ptrack.TrackingPixel):
    def record(self, request, email_id):  # type: ignore[no-untyped-def,override]
        ...


class _Upgraded(ptrack.TrackingPixel):
    def record(self, *args: Any, **kwargs: Any) -> None: ...


class _RequestAsKeyword(ptrack.TrackingPixel):
    def record(self, *args: Any, request: Any = None, **kwargs: Any) -> None: ...


class _RecordEventOverridden(ptrack.TrackingPixel):
    # record() is never called by ptrack here, whatever its signature.
    def record(self, request: Any, *args: Any, **kwargs: Any) -> None: ...

    def record_event(self, event: ptrack.PixelEvent) -> None: ...


@pytest.mark.parametrize(
    ("recorder", "warned"),
    [
        (_RequestFirst, True),
        (_AsyncRequestFirst, True),
        (_RequestOnly, True),
        (_Upgraded, False),
        (_RequestAsKeyword, False),
        (_RecordEventOverridden, False),
    ],
)
def test_w005_recorder_written_for_3x(recorder: type[ptrack.TrackingPixel], warned: bool) -> None:
    ptrack.tracker.register(recorder)
    try:
        messages = checks.check_recorders()
    finally:
        ptrack.tracker.unregister(recorder)
    if not warned:
        assert messages == []
        return
    [warning] = messages
    assert warning.id == "ptrack.W005"
    assert f"tests.test_checks.{recorder.__qualname__}.record() takes 'request' first" in (
        warning.msg
    )
    assert "record_event(self, event)" in (warning.hint or "")


def test_legacy_checks_are_registered() -> None:
    ptrack.tracker.register(_RequestFirst)
    try:
        with override_settings(PTRACK_LEGACY_SECRET="x" * 40):
            assert {"ptrack.E018", "ptrack.W005"} <= set(ids(run_checks()))
    finally:
        ptrack.tracker.unregister(_RequestFirst)
    assert not [m for m in run_checks() if (m.id or "").startswith("ptrack.")]
