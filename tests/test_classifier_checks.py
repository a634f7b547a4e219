"""System checks for the classification and privacy settings (ptrack.E030-E039, W010)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.checks import run_checks
from django.test import override_settings

from ptrack import checks


def only(messages: list[Any]) -> Any:
    [message] = messages
    return message


def test_defaults_pass() -> None:
    assert checks.check_settings() == []


@override_settings(
    PTRACK_RECORD_KINDS=["human", "mail_proxy"],
    PTRACK_MACHINE_WINDOW=0,
    PTRACK_EXTRA_RULES=[(r"AcmeCheck/\d", "bot", "acme")],
    PTRACK_EXTRA_NETWORKS=(("203.0.113.0/24", "security_scanner", "our_gateway"),),
    PTRACK_CLASSIFIER="ptrack.classify",
    PTRACK_PRIVATE_RELAY_URL="http://127.0.0.1:8000/egress.csv",
    PTRACK_HONOR_OPT_OUT=True,
    PTRACK_ANONYMIZE_IP=True,
)
def test_good_values_pass() -> None:
    assert checks.check_settings() == []


@pytest.mark.parametrize("value", ["human", ["human", "robot"], None, 3])
def test_e030_record_kinds(value: Any) -> None:
    with override_settings(PTRACK_RECORD_KINDS=value):
        error = only(checks.check_settings())
    assert error.id == "ptrack.E030"
    assert repr(value) in error.msg


@pytest.mark.parametrize("value", [-1, "10", True, float("inf"), None])
def test_e031_machine_window(value: Any) -> None:
    with override_settings(PTRACK_MACHINE_WINDOW=value):
        error = only(checks.check_settings())
    assert error.id == "ptrack.E031"
    assert repr(value) in error.msg


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("bot", "expected a list"),
        ([("x", "robot", "r")], "('x', 'robot', 'r')"),
        ([("x", "bot")], "('x', 'bot')"),
        ([("x", "bot", " padded ")], "padded"),
        ([(42, "bot", "r")], "42"),
        ([("(", "bot", "r")], "missing )"),
    ],
)
def test_e032_extra_rules(value: Any, fragment: str) -> None:
    with override_settings(PTRACK_EXTRA_RULES=value):
        error = only(checks.check_settings())
    assert error.id == "ptrack.E032"
    assert fragment in error.msg


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ({"203.0.113.0/24": "bot"}, "expected a list"),
        ([("203.0.113.0/24", "robot", "r")], "robot"),
        (["203.0.113.0/24 bot r"], "203.0.113.0/24 bot r"),
        ([("203.0.113.0/33", "bot", "r")], "'203.0.113.0/33' is not an IP network prefix"),
        ([("203.0.113.0/24", "bot", "")], "''"),
    ],
)
def test_e033_extra_networks(value: Any, fragment: str) -> None:
    with override_settings(PTRACK_EXTRA_NETWORKS=value):
        error = only(checks.check_settings())
    assert error.id == "ptrack.E033"
    assert fragment in error.msg


@override_settings(PTRACK_CLASSIFIER="nowhere.classify")
def test_e034_classifier_not_importable() -> None:
    error = only(checks.check_settings())
    assert error.id == "ptrack.E034"
    assert "'nowhere.classify'" in error.msg


@override_settings(PTRACK_CLASSIFIER="ptrack.classifier.KINDS")
def test_e035_classifier_not_callable() -> None:
    error = only(checks.check_settings())
    assert error.id == "ptrack.E035"
    assert "'ptrack.classifier.KINDS'" in error.msg


@pytest.mark.parametrize(
    "value",
    [
        "mask-api.icloud.com/egress-ip-ranges.csv",
        "ftp://x/y.csv",
        "https://[oops/",  # urlsplit() raises ValueError on it: the check must not crash
        7,
    ],
)
def test_e036_private_relay_url(value: Any) -> None:
    with override_settings(PTRACK_PRIVATE_RELAY_URL=value):
        error = only(checks.check_settings())
    assert error.id == "ptrack.E036"
    assert repr(value) in error.msg


@pytest.mark.parametrize(
    ("name", "check_id"),
    [("PTRACK_HONOR_OPT_OUT", "ptrack.E037"), ("PTRACK_ANONYMIZE_IP", "ptrack.E038")],
)
def test_e037_e038_switches_are_booleans(name: str, check_id: str) -> None:
    with override_settings(**{name: "yes"}):
        error = only(checks.check_settings())
    assert error.id == check_id
    assert error.msg == f"{name} should be True or False, not 'yes'."


@pytest.mark.parametrize("value", ["", 42])
def test_e039_private_relay_file_type(value: Any) -> None:
    with override_settings(PTRACK_PRIVATE_RELAY_FILE=value):
        error = only(checks.check_settings())
    assert error.id == "ptrack.E039"


def test_w010_private_relay_file_unreadable(tmp_path: Path) -> None:
    missing = tmp_path / "egress.csv"
    with override_settings(PTRACK_PRIVATE_RELAY_FILE=str(missing)):
        warning = only(checks.check_settings())
        assert warning.id == "ptrack.W010"
        assert repr(str(missing)) in warning.msg
        assert "ptrack_private_relay" in (warning.hint or "")
        missing.write_text("192.0.2.0/24,,,,\n")
        assert checks.check_settings() == []


# Every model's checks, with Django 6.1's default of all databases: JSONField's asks one.
@pytest.mark.django_db
def test_the_new_checks_are_registered() -> None:
    with override_settings(PTRACK_MACHINE_WINDOW=-5):
        assert "ptrack.E031" in [m.id for m in run_checks()]
