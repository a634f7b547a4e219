from __future__ import annotations

import importlib.util
from datetime import timedelta
from typing import Any

import pytest
from django.core.checks import run_checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

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
    "url", ["/ptrack", "track.example.com", "ftp://x.example.com", "https://x.com/?q=1", 42]
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
