"""System checks, one test or more per check id.

The tests of every check id the code can emit are here, but for the classification and privacy
settings' (ptrack.E030-E039, W010), in test_classifier_checks.py;
``test_every_check_id_has_a_test_here`` keeps it so.
"""

from __future__ import annotations

import ast
import importlib.util
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from django.core.checks import Error, run_checks
from django.core.checks.registry import registry as check_registry
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings
from freezegun import freeze_time

import ptrack
from ptrack import checks, tasks
from ptrack.checks.store import check_store
from tests.helpers import CHECK_ID, ptrack_source
from tests.task_backends import BROKEN, DUMMY, IMMEDIATE

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


@pytest.mark.parametrize("empty", ["", b""])
def test_e005_no_key_at_all(empty: str | bytes) -> None:
    with override_settings(PTRACK_SECRET=empty, SECRET_KEY=""):
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


# Every model's checks, with Django 6.1's default of all databases: JSONField's asks one.
@pytest.mark.django_db
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


# Every model's checks, with Django 6.1's default of all databases: JSONField's asks one.
@pytest.mark.django_db
def test_legacy_checks_are_registered() -> None:
    ptrack.tracker.register(_RequestFirst)
    try:
        with override_settings(PTRACK_LEGACY_SECRET="x" * 40):
            assert {"ptrack.E018", "ptrack.W005"} <= set(ids(run_checks()))
    finally:
        ptrack.tracker.unregister(_RequestFirst)
    assert not [m for m in run_checks() if (m.id or "").startswith("ptrack.")]


# Background recorders: the task framework and backend, time limits, batches ----------------------

needs_tasks = pytest.mark.skipif(
    tasks.FRAMEWORK is None, reason="needs django.tasks or the django-tasks package"
)


def background_ids(register: Any, **settings: Any) -> list[str]:
    class Background(ptrack.TrackingPixel):
        background = True

        def record(self, *args: Any, **kwargs: Any) -> None:
            pass

    register(Background)
    with override_settings(**settings):
        return [m.id for m in checks.check_recorders()]


def test_e012_no_task_framework(register: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tasks, "FRAMEWORK", None)
    assert background_ids(register) == ["ptrack.E012"]


@needs_tasks
def test_e014_unusable_backend(register: Any) -> None:
    assert background_ids(register, TASKS={"default": {"BACKEND": "nowhere.Backend"}}) == [
        "ptrack.E014"
    ]


@needs_tasks
def test_e015_dummy_backend(register: Any) -> None:
    assert background_ids(register, TASKS=DUMMY) == ["ptrack.E015"]


@needs_tasks
def test_w003_immediate_backend(register: Any) -> None:
    assert background_ids(register, TASKS=IMMEDIATE) == ["ptrack.W003"]


@needs_tasks
def test_background_with_worker_backend_passes(register: Any) -> None:
    assert background_ids(register, TASKS=BROKEN) == []


def test_inline_recorders_need_no_backend() -> None:
    assert checks.check_recorders() == []


@pytest.mark.parametrize("value", [0, -1, "5", True])
def test_e013_bad_recorder_timeout(value: Any) -> None:
    with override_settings(PTRACK_RECORDER_TIMEOUT=value):
        assert [m.id for m in checks.check_settings()] == ["ptrack.E013"]


def test_batch_settings_are_checked() -> None:
    with override_settings(PTRACK_BATCH_SIZE=0, PTRACK_BATCH_SECONDS=0):
        ids = {m.id for m in checks.check_settings()}
    assert {"ptrack.E016", "ptrack.E017"} <= ids
    with override_settings(PTRACK_BATCH_SIZE=50, PTRACK_BATCH_SECONDS=0.5):
        ids = {m.id for m in checks.check_settings()}
    assert not {"ptrack.E016", "ptrack.E017"} & ids


# Click links -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "javascript:alert(1)",
        "//www.example.com/",
        "https://u:p@a.example/",
        "https://[oops/",
        3,
    ],
)
def test_e022_bad_click_fallback_url(url: Any) -> None:
    with override_settings(PTRACK_CLICK_FALLBACK_URL=url):
        [error] = checks.check_settings()
    assert error.id == "ptrack.E022"
    assert error.msg.startswith("PTRACK_CLICK_FALLBACK_URL should be an absolute http(s) URL")
    assert repr(url) in error.msg


# Every model's checks, with Django 6.1's default of all databases: JSONField's asks one.
@pytest.mark.django_db
@override_settings(PTRACK_CLICK_FALLBACK_URL="https://[oops/")
def test_manage_py_check_reports_a_fallback_url_with_a_malformed_host() -> None:
    with pytest.raises(SystemCheckError, match=r"ptrack\.E022.*'https://\[oops/'"):
        call_command("check")


# The tracking email backend ----------------------------------------------------------------------

LOCMEM = "django.core.mail.backends.locmem.EmailBackend"
TRACKING = "ptrack.mail.TrackingEmailBackend"


def _email_checks() -> list[Any]:
    return [m for m in checks.check_settings() if m.id in ("ptrack.E040", "ptrack.E041")]


@pytest.mark.parametrize("value", [LOCMEM, "django.core.mail.backends.smtp.EmailBackend"])
def test_a_good_email_backend_setting_passes(value: str) -> None:
    with override_settings(PTRACK_EMAIL_BACKEND=value):
        assert _email_checks() == []
    assert _email_checks() == []  # unset: SMTP


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("no.such.Backend", "it cannot be imported"),
        ("ptrack.links.Pixel", "it is no email backend class"),
        ("ptrack.conf.conf", "it is no email backend class"),
        (42, "it is no email backend class"),
    ],
)
def test_e040_email_backend_that_is_no_backend(value: Any, problem: str) -> None:
    with override_settings(PTRACK_EMAIL_BACKEND=value):
        [error] = _email_checks()
    assert isinstance(error, Error)
    assert error.id == "ptrack.E040"
    assert error.msg.startswith(
        f"PTRACK_EMAIL_BACKEND should be the dotted path of an email backend class, not {value!r}: "
        f"{problem}"
    )


@override_settings(PTRACK_EMAIL_BACKEND=TRACKING)
def test_e041_email_backend_that_is_the_tracking_backend() -> None:
    [error] = _email_checks()
    assert error.id == "ptrack.E041"
    assert "hand every message to itself" in error.msg


def _whole_email_checks() -> list[Any]:
    return [m for m in checks.check_settings() if m.id in ("ptrack.E042", "ptrack.E043")]


@pytest.mark.parametrize(
    "value",
    [
        None,
        {},
        {"source": "newsletter", "utm_medium": "email", "campaign": None},
        "tests.mail_hooks.utm_tags",
        lambda message: {"campaign": "spring"},
    ],
)
def test_good_utm_settings_pass(value: Any) -> None:
    with override_settings(PTRACK_UTM=value, PTRACK_TRACK_UNSUBSCRIBE=True):
        assert _whole_email_checks() == []


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ({"Source": "x"}, "has the name 'Source'"),
        ({"utm_": "x"}, "has the name 'utm_'"),
        ({"source": ""}, "gives 'source' the value ''"),
        ({"source": 1}, "gives 'source' the value 1"),
        ({"source": "a", "utm_source": "b"}, "names utm_source twice"),
        ("no.such.tags", "cannot be imported"),
        (42, "not callable"),
        (["source", "x"], "not callable"),
    ],
)
def test_e042_utm_tags_that_are_no_mapping_of_names_to_values(value: Any, problem: str) -> None:
    with override_settings(PTRACK_UTM=value):
        [error] = _whole_email_checks()
    assert error.id == "ptrack.E042"
    assert error.msg.startswith("PTRACK_UTM should ")
    assert problem in error.msg


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_e043_track_unsubscribe_that_is_no_bool(value: Any) -> None:
    with override_settings(PTRACK_TRACK_UNSUBSCRIBE=value):
        [error] = _whole_email_checks()
    assert error.id == "ptrack.E043"
    assert error.msg == f"PTRACK_TRACK_UNSUBSCRIBE should be True or False, not {value!r}."


CONSENT_IDS = (
    "ptrack.E050",
    "ptrack.E051",
    "ptrack.E052",
    "ptrack.E053",
    "ptrack.E054",
    "ptrack.E055",
)


def _consent_checks() -> list[Any]:
    return [m for m in checks.check_settings() if m.id in CONSENT_IDS]


@override_settings(
    PTRACK_CONSENT="tests.consent_sources.level",
    PTRACK_CONSENT_DEFAULT="full",
    PTRACK_CONSENT_UNNAMED="none",
    PTRACK_CONSENT_TIMEOUT=0.2,
    PTRACK_MESSAGE_RECIPIENT="tests.consent_sources.message_recipient",
    PTRACK_CONSENT_WITHDRAW="tests.consent_sources.withdraw",
)
def test_good_consent_settings_pass() -> None:
    assert _consent_checks() == []
    with override_settings(PTRACK_CONSENT=lambda key: "full", PTRACK_CONSENT_TIMEOUT=None):
        assert _consent_checks() == []


def test_consent_settings_unset_pass() -> None:
    assert _consent_checks() == []


@pytest.mark.parametrize(
    ("name", "value", "check_id", "problem"),
    [
        ("PTRACK_CONSENT", "tests.consent_sources.missing", "ptrack.E050", "cannot be imported"),
        ("PTRACK_CONSENT", "tests.consent_sources.NOT_CALLABLE", "ptrack.E050", "not callable"),
        ("PTRACK_CONSENT", 42, "ptrack.E050", "not callable"),
        ("PTRACK_MESSAGE_RECIPIENT", "no.such.hook", "ptrack.E053", "cannot be imported"),
        ("PTRACK_MESSAGE_RECIPIENT", 42, "ptrack.E053", "not callable"),
        ("PTRACK_CONSENT_WITHDRAW", "no.such.hook", "ptrack.E054", "cannot be imported"),
        ("PTRACK_CONSENT_WITHDRAW", 42, "ptrack.E054", "not callable"),
    ],
)
def test_e050_e053_e054_a_consent_source_or_hook_that_cannot_be_called(
    name: str, value: Any, check_id: str, problem: str
) -> None:
    with override_settings(**{name: value}):
        [error] = _consent_checks()
    assert error.id == check_id
    assert error.msg.startswith(f"{name} should be a callable or its dotted path, not {value!r}")
    assert problem in error.msg


@pytest.mark.parametrize("name", ["PTRACK_CONSENT_DEFAULT", "PTRACK_CONSENT_UNNAMED"])
@pytest.mark.parametrize("value", ["yes", "FULL", None, 1])
def test_e051_a_consent_level_that_is_no_level(name: str, value: Any) -> None:
    with override_settings(**{name: value}):
        [error] = _consent_checks()
    assert error.id == "ptrack.E051"
    assert error.msg == (
        f"{name} should be one of 'aggregate', 'deliverability', 'full', 'none', not {value!r}."
    )


@pytest.mark.parametrize("value", [0, -1, "1", True])
def test_e052_a_consent_timeout_that_is_no_number_of_seconds(value: Any) -> None:
    with override_settings(PTRACK_CONSENT_TIMEOUT=value):
        [error] = _consent_checks()
    assert error.id == "ptrack.E052"
    assert "PTRACK_CONSENT_TIMEOUT should be a positive number of seconds or None" in error.msg


@pytest.mark.parametrize("value", ["consents", None, 1])
def test_e055_a_consents_cache_not_in_caches(value: Any) -> None:
    with override_settings(PTRACK_CONSENTS_CACHE=value):
        [error] = _consent_checks()
    assert error.id == "ptrack.E055"
    assert error.msg == f"PTRACK_CONSENTS_CACHE should name a cache in CACHES, not {value!r}."
    assert error.hint is not None
    assert error.hint.startswith("Give one of 'default';")
    caches = {"default": {}, "consents": {}}
    with override_settings(PTRACK_CONSENTS_CACHE="consents", CACHES=caches):
        assert _consent_checks() == []


# Where the tests of check ids are ----------------------------------------------------------------

CHECK_TESTS = [Path(__file__), Path(__file__).with_name("test_classifier_checks.py")]


def check_ids_named_by_tests(path: Path) -> dict[str, list[str]]:
    """The tests of ``path`` by the check ids they name (in their decorators or their body)."""
    source = path.read_text()
    lines = source.splitlines()
    found: dict[str, list[str]] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            text = "\n".join(lines[first - 1 : node.end_lineno])
            for check_id in set(CHECK_ID.findall(text)):
                found.setdefault(check_id, []).append(f"{path.name}::{node.name}")
    return found


def test_every_check_id_has_a_test_here() -> None:
    named: dict[str, list[str]] = {}
    for path in CHECK_TESTS:
        for check_id, tests in check_ids_named_by_tests(path).items():
            named.setdefault(check_id, []).extend(tests)
    emitted = set(CHECK_ID.findall(ptrack_source()))
    assert len(emitted) >= 40
    assert sorted(emitted - set(named)) == []


def test_a_check_id_named_only_outside_a_test_is_not_counted(tmp_path: Path) -> None:
    module = tmp_path / "test_example.py"
    module.write_text(
        'HELPER = "ptrack.E001"\n\n\n'
        "def helper() -> str:\n"
        '    return "ptrack.E002"\n\n\n'
        '@pytest.mark.parametrize("check_id", ["ptrack.E003"])\n'
        "def test_x(check_id: str) -> None:\n"
        '    assert "ptrack.W001"\n'
    )
    assert check_ids_named_by_tests(module) == {
        "ptrack.E003": ["test_example.py::test_x"],
        "ptrack.W001": ["test_example.py::test_x"],
    }


# --- ptrack.store (registered by its app config) ---


def test_store_checks_are_registered_and_pass_by_default() -> None:
    assert check_store in check_registry.get_checks()
    assert check_store() == []
    with override_settings(
        PTRACK_STORE_RETENTION=timedelta(days=395),
        PTRACK_STORE_CLIENT=True,
        PTRACK_STORE_BACKGROUND=False,
        PTRACK_STORE_PURGE_BATCH=500,
    ):
        assert check_store() == []
    with override_settings(PTRACK_STORE_RETENTION=30):
        assert check_store() == []


@pytest.mark.parametrize("value", [timedelta(0), timedelta(days=-1), 0, -3, "30", 1.5, True])
def test_e060_a_store_retention_that_is_no_duration(value: Any) -> None:
    with override_settings(PTRACK_STORE_RETENTION=value):
        [error] = check_store()
    assert error.id == "ptrack.E060"
    assert error.msg.startswith("PTRACK_STORE_RETENTION should be a positive timedelta")
    assert repr(value) in error.msg


@pytest.mark.parametrize(
    ("name", "check_id"),
    [("PTRACK_STORE_CLIENT", "ptrack.E061"), ("PTRACK_STORE_BACKGROUND", "ptrack.E062")],
)
@pytest.mark.parametrize("value", [1, "yes", None])
def test_e061_e062_store_switches_that_are_no_bool(name: str, check_id: str, value: Any) -> None:
    with override_settings(**{name: value}):
        [error] = check_store()
    assert error.id == check_id
    assert error.msg == f"{name} should be True or False, not {value!r}."


@pytest.mark.parametrize("value", [0, -1, "100", 2.5])
def test_e063_a_store_purge_batch_that_is_no_positive_int(value: Any) -> None:
    with override_settings(PTRACK_STORE_PURGE_BATCH=value):
        [error] = check_store()
    assert error.id == "ptrack.E063"
    assert error.msg == f"PTRACK_STORE_PURGE_BATCH should be a positive integer, not {value!r}."


@override_settings(USE_TZ=False)
def test_e064_the_store_without_time_zones() -> None:
    [error] = check_store()
    assert error.id == "ptrack.E064"
    assert "USE_TZ = True" in error.msg


def test_e065_the_store_on_a_sqlite_without_returning(monkeypatch: pytest.MonkeyPatch) -> None:
    import ptrack.checks.store

    monkeypatch.setattr(ptrack.checks.store.sqlite3, "sqlite_version_info", (3, 34, 1))
    monkeypatch.setattr(ptrack.checks.store.sqlite3, "sqlite_version", "3.34.1")
    [error] = check_store()
    assert error.id == "ptrack.E065"
    assert "SQLite 3.35 or newer for its database 'default', not 3.34.1" in error.msg
    monkeypatch.setattr(ptrack.checks.store.sqlite3, "sqlite_version_info", (3, 35, 0))
    assert check_store() == []
