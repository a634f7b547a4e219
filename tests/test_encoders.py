from __future__ import annotations

import base64
import json
import logging
import string
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client, override_settings
from freezegun import freeze_time

import ptrack
from ptrack import encoders
from ptrack.exceptions import ExpiredToken, InvalidToken
from tests.conftest import Recorded, pixel_path
from tests.encoders import Base64Encoder, received
from tests.helpers import render


class BuggyEncoder(Base64Encoder):
    @staticmethod
    def decrypt(token: str) -> tuple[Sequence[Any], Mapping[str, Any]]:
        raise KeyError("bug in the encoder")


class WrongShapeEncoder(Base64Encoder):
    @staticmethod
    def decrypt(token: str) -> Any:
        return "not a pair"


@pytest.fixture(autouse=True)
def _clear_received() -> None:
    received.clear()


@override_settings(PTRACK_ENCODER="tests.encoders.Base64Encoder")
def test_setting_selects_encoder_for_tag_and_view(client: Client, recorded: Recorded) -> None:
    url = render("{% ptrack_url 'a' 1 k='[][]]' %}")
    assert received == [(("a", 1), {"k": "[][]]"})]
    token = urlsplit(url).path.split("/")[2]
    assert json.loads(base64.urlsafe_b64decode(token)) == [["a", 1], {"k": "[][]]"}]
    client.get(urlsplit(url).path)
    assert recorded.calls == [(("a", 1), {"k": "[][]]"})]
    assert recorded.events[0].issued_at is None


def test_assignment_selects_encoder_for_tag_and_view(client: Client, recorded: Recorded) -> None:
    ptrack.ptrack_encoder = Base64Encoder
    assert ptrack.ptrack_encoder is Base64Encoder
    assert encoders.get_encoder() is Base64Encoder
    path = urlsplit(render("{% ptrack_url 'x' y=2 %}")).path
    assert received == [(("x",), {"y": 2})]
    client.get(path)
    assert recorded.calls == [(("x",), {"y": 2})]
    ptrack.ptrack_encoder = None
    assert encoders.get_encoder() is ptrack.SignedEncoder
    client.get(path)  # not a signed token: the default encoder rejects it
    assert len(recorded.calls) == 1


@override_settings(PTRACK_ENCODER="tests.encoders.Base64Encoder")
def test_assignment_wins_over_setting() -> None:
    ptrack.ptrack_encoder = ptrack.SignedEncoder
    assert encoders.get_encoder() is ptrack.SignedEncoder


@pytest.mark.parametrize("value", [object(), "tests.encoders.Base64Encoder", int])
def test_assigning_a_non_encoder_fails_at_the_call_site(value: Any) -> None:
    with pytest.raises(TypeError, match="should be a class with static encrypt"):
        ptrack.ptrack_encoder = value


def test_legacy_encoder_cannot_carry_per_link_expiry() -> None:
    ptrack.ptrack_encoder = Base64Encoder
    with pytest.raises(TypeError, match="Base64Encoder has no encode"):
        ptrack.Pixel("a").url(expires=60)


def test_legacy_encoder_gets_json_checked_values() -> None:
    ptrack.ptrack_encoder = Base64Encoder
    with pytest.raises(ptrack.exceptions.PixelValueError):
        ptrack.Pixel(when=datetime(2026, 1, 1)).url()
    assert received == []


def test_unexpected_encoder_error_is_logged_with_traceback(
    client: Client, recorded: Recorded, caplog: pytest.LogCaptureFixture
) -> None:
    ptrack.ptrack_encoder = BuggyEncoder
    with caplog.at_level(logging.DEBUG, logger="ptrack"):
        response = client.get("/ptrack/anything/")
    assert response.status_code == 200
    assert recorded.events == []
    [record] = caplog.records
    assert record.levelname == "ERROR"
    assert "BuggyEncoder" in record.getMessage()
    assert record.exc_info is not None


def test_encoder_returning_wrong_shape_is_logged(
    client: Client, recorded: Recorded, caplog: pytest.LogCaptureFixture
) -> None:
    ptrack.ptrack_encoder = WrongShapeEncoder
    with caplog.at_level(logging.ERROR, logger="ptrack"):
        client.get("/ptrack/anything/")
    assert recorded.events == []
    assert "should return (args, kwargs), not 'not a pair'" in caplog.text


def test_encoder_value_error_is_quiet(
    client: Client, recorded: Recorded, caplog: pytest.LogCaptureFixture
) -> None:
    ptrack.ptrack_encoder = Base64Encoder  # json.loads raises ValueError on junk
    with caplog.at_level(logging.INFO, logger="ptrack"):
        client.get("/ptrack/!!!/")
    assert recorded.events == []
    assert caplog.records == []


def test_token_cap_applies_to_custom_encoders() -> None:
    ptrack.ptrack_encoder = BuggyEncoder
    with pytest.raises(InvalidToken, match="longer than"):
        encoders.decode("A" * 4097)


def test_signed_encoder_legacy_interface() -> None:
    token = ptrack.SignedEncoder.encrypt("a", b=[1])
    assert ptrack.SignedEncoder.decrypt(token) == (("a",), {"b": [1]})
    with pytest.raises(InvalidToken):
        ptrack.SignedEncoder.decrypt(token[:-2])


FERNET = "ptrack.encoders.FernetEncoder"
ALPHABET = string.ascii_letters + string.digits + "-_.="


@override_settings(PTRACK_ENCODER=FERNET)
def test_fernet_hides_the_payload_and_round_trips(client: Client, recorded: Recorded) -> None:
    url = ptrack.Pixel("secret-campaign", email="someone@example.com").url()
    token = urlsplit(url).path.split("/")[2]
    for visible in ("secret-campaign", "someone", "c2VjcmV0", "ZW1haWw"):
        assert visible not in token
    client.get(urlsplit(url).path)
    assert recorded.calls == [(("secret-campaign",), {"email": "someone@example.com"})]
    assert recorded.events[0].issued_at is not None
    assert ptrack.FernetEncoder.decrypt(ptrack.FernetEncoder.encrypt("a", b=1)) == (
        ("a",),
        {"b": 1},
    )


@override_settings(PTRACK_ENCODER=FERNET)
def test_fernet_rejects_tampering_and_signed_tokens() -> None:
    token = ptrack.FernetEncoder.encode(["a"], {})
    for index in range(len(token)):
        for char in ALPHABET.replace(token[index], ""):
            with pytest.raises(InvalidToken):
                encoders.decode(token[:index] + char + token[index + 1 :])
    with pytest.raises(InvalidToken):
        encoders.decode(ptrack.SignedEncoder.encode(["a"], {}))
    with pytest.raises(InvalidToken):
        encoders.decode("é")


@override_settings(PTRACK_ENCODER=FERNET)
def test_fernet_rotation_and_mirror() -> None:
    with override_settings(PTRACK_SECRET="old-fernet-secret-" * 3):
        token = ptrack.FernetEncoder.encode(["a"], {})
    with override_settings(
        PTRACK_SECRET="new-fernet-secret-" * 3,
        PTRACK_SECRET_FALLBACKS=["old-fernet-secret-" * 3],
        SECRET_KEY="another-deployment-key-" * 3,
    ):
        assert encoders.decode(token).args == ("a",)
    with override_settings(PTRACK_SECRET="new-fernet-secret-" * 3), pytest.raises(InvalidToken):
        encoders.decode(token)


@override_settings(PTRACK_ENCODER=FERNET)
def test_fernet_per_link_expiry() -> None:
    t0 = datetime(2026, 2, 1, tzinfo=timezone.utc)
    with freeze_time(t0):
        token = urlsplit(ptrack.Pixel("a").url(expires=timedelta(minutes=1))).path.split("/")[2]
    with freeze_time(t0 + timedelta(seconds=60)):
        assert encoders.decode(token).expires_at == t0 + timedelta(minutes=1)
    with freeze_time(t0 + timedelta(seconds=61)), pytest.raises(ExpiredToken):
        encoders.decode(token)


def test_pixel_path_helper_uses_default_encoder() -> None:
    assert encoders.decode(pixel_path("z").split("/")[2]).args == ("z",)


# ptrack.ptrack_encoder as django-ptrack 3.x code uses it -----------------------------------------


def test_ptrack_encoder_reads_as_the_encoder_in_force_as_in_3x(
    client: Client, recorded: Recorded
) -> None:
    # What 3.x's own tests did, and scripts written for it still do.
    token = ptrack.ptrack_encoder.encrypt("a", 1, my_data="hello")
    args, kwargs = ptrack.ptrack_encoder.decrypt(token)
    assert (list(args), kwargs) == (["a", 1], {"my_data": "hello"})
    assert ptrack.ptrack_encoder is ptrack.SignedEncoder
    client.get(f"/ptrack/{token}/")
    assert recorded.calls == [(("a", 1), {"my_data": "hello"})]


@override_settings(PTRACK_ENCODER="tests.encoders.Base64Encoder")
def test_ptrack_encoder_reads_as_the_setting_then_an_assignment_then_the_setting_again() -> None:
    assert ptrack.ptrack_encoder is Base64Encoder
    ptrack.ptrack_encoder = ptrack.FernetEncoder
    assert ptrack.ptrack_encoder is ptrack.FernetEncoder
    assert encoders.decode(ptrack.ptrack_encoder.encrypt("x")).args == ("x",)
    ptrack.ptrack_encoder = None
    assert ptrack.ptrack_encoder is Base64Encoder
    with override_settings(PTRACK_ENCODER=FERNET):
        assert ptrack.ptrack_encoder is ptrack.FernetEncoder
