from __future__ import annotations

import dataclasses
import hashlib
import hmac
import string
import zlib
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from django.core import signing
from django.test import override_settings
from freezegun import freeze_time
from itsdangerous import URLSafeTimedSerializer
from itsdangerous.encoding import base64_encode

from ptrack import tokens
from ptrack.exceptions import ExpiredToken, InvalidToken, PixelValueError
from tests.helpers import T0 as SIGNED  # the frozen fixture's time

ODD_VALUES: list[Any] = [
    "",
    "[][]]",
    "$%^&*()<>\"'\\/",
    "naïve — ünïcödé ✉ 🎯 中文",
    "\x00\n\r\t",
    0,
    -1,
    2**70,
    1.5,
    -0.0,
    1e300,
    True,
    False,
    None,
    [],
    {},
    [1, [2, [3, {"a": [None, "x"]}]]],
    {"nested": {"list": [1.25, "y", False], "empty": {}}},
]


@pytest.mark.parametrize("value", ODD_VALUES)
def test_values_round_trip_exactly(value: Any) -> None:
    token = tokens.dumps([value, "tail"], {"value": value, "[][]]": "$%^&"})
    decoded = tokens.loads(token)
    assert decoded.args == (value, "tail")
    assert decoded.kwargs == {"value": value, "[][]]": "$%^&"}
    assert [type(arg) for arg in decoded.args] == [type(value), str]


def test_token_is_url_safe() -> None:
    token = tokens.dumps(["x" * 300, "é/?&#"], {"k": "v=1&w=2"})
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")


def test_large_payload_is_compressed() -> None:
    assert tokens.dumps(["abc" * 200], {}).startswith(".")
    assert tokens.dumps(["short"], {}).startswith("W")


def test_plain_itsdangerous_verifies_tokens(settings: Any) -> None:
    token = tokens.dumps(["campaign-42"], {"user_id": 123456})
    plain = URLSafeTimedSerializer(
        settings.SECRET_KEY,
        salt=tokens.SALT,
        signer_kwargs={"key_derivation": "hmac", "digest_method": hashlib.sha256},
    )
    assert plain.loads(token) == [["campaign-42"], {"user_id": 123456}]


@pytest.mark.parametrize(
    ("value", "where"),
    [
        ((1, 2), "positional argument 0"),
        (datetime(2026, 1, 1), "positional argument 0"),
        (float("nan"), "positional argument 0"),
        (float("inf"), "positional argument 0"),
        ({1, 2}, "positional argument 0"),
        (b"bytes", "positional argument 0"),
        ([1, object()], "positional argument 0[1]"),
        ({"deep": {"x": 1j}}, "positional argument 0['deep']['x']"),
    ],
)
def test_values_json_cannot_carry_are_refused(value: Any, where: str) -> None:
    with pytest.raises(PixelValueError, match=rf"cannot carry {__import__('re').escape(where)}"):
        tokens.dumps([value], {})


def test_refused_keyword_argument_is_named() -> None:
    with pytest.raises(PixelValueError, match=r"keyword argument 'sent_at' = datetime"):
        tokens.dumps([], {"sent_at": datetime(2026, 1, 1)})


def test_non_str_dict_key_is_refused() -> None:
    with pytest.raises(PixelValueError, match=r"keyword argument 'meta': its key 1 is a int"):
        tokens.dumps([], {"meta": {1: "one"}})


def test_tampered_token_is_invalid() -> None:
    token = tokens.dumps(["a"], {"b": 1})
    alphabet = string.ascii_letters + string.digits + "-_.="
    for index in range(len(token)):
        for char in alphabet.replace(token[index], ""):
            with pytest.raises(InvalidToken):
                tokens.loads(token[:index] + char + token[index + 1 :])


def test_truncated_and_extended_tokens_are_invalid() -> None:
    token = tokens.dumps(["a"], {"b": 1})
    for cut in range(len(token)):
        with pytest.raises(InvalidToken):
            tokens.loads(token[:cut])
    with pytest.raises(InvalidToken):
        tokens.loads(token + "A")


def test_other_salt_and_django_signing_are_foreign(settings: Any) -> None:
    other_salt = URLSafeTimedSerializer(
        settings.SECRET_KEY,
        salt="other",
        signer_kwargs={"key_derivation": "hmac", "digest_method": hashlib.sha256},
    ).dumps([["a"], {}])
    django_signed = signing.dumps([["a"], {}])
    django_salted = signing.dumps([["a"], {}], salt=tokens.SALT)
    for token in (other_salt, django_signed, django_salted):
        with pytest.raises(InvalidToken):
            tokens.loads(token)


@pytest.mark.parametrize(
    "payload",
    [
        {"a": 1},
        [["a"]],
        ["a", {}],
        [[], []],
        [["a"], {}, 0],
        [["a"], {}, -5],
        [["a"], {}, "60"],
        [["a"], {}, 1.5],
        # JSON true is a Python bool, which is an int: it must not pass as 1 second.
        [["a"], {}, True],
        [["a"], {}, False],
        [["a"], {}, None],
        # A fourth element is the recipient: a non-empty str, after a max age or null.
        [["a"], {}, 60, ""],
        [["a"], {}, 60, 5],
        [["a"], {}, None, None],
        [["a"], {}, None, ["sub-1"]],
        [["a"], {}, 0, "sub-1"],
        [["a"], {}, False, "sub-1"],
        # A fifth is the campaign (a str), a sixth the message (a non-empty str).
        [["a"], {}, 60, "sub-1", 5],
        [["a"], {}, 60, "sub-1", None],
        [["a"], {}, 60, "", "spring"],
        [["a"], {}, 0, None, "spring"],
        [["a"], {}, None, None, "spring", ""],
        [["a"], {}, None, None, "spring", None],
        [["a"], {}, None, None, "spring", 7],
        [["a"], {}, 60, "sub-1", "spring", "m-1", "extra"],
    ],
)
def test_payload_of_wrong_shape_is_invalid(payload: Any) -> None:
    token = tokens.serializer().dumps(payload)
    with pytest.raises(InvalidToken, match=r"payload|max age|recipient|campaign|message"):
        tokens.loads(token)


@pytest.mark.parametrize(
    ("options", "payload"),
    [
        ({"campaign": "spring"}, [["a"], {"k": 1}, None, None, "spring"]),
        ({"campaign": ""}, [["a"], {"k": 1}, None, None, ""]),
        (
            {"campaign": "spring", "message": "m-1", "recipient": "sub-1"},
            [["a"], {"k": 1}, None, "sub-1", "spring", "m-1"],
        ),
        ({"message": "m-1"}, [["a"], {"k": 1}, None, None, "", "m-1"]),
        ({"campaign": "spring", "max_age": 60}, [["a"], {"k": 1}, 60, None, "spring"]),
    ],
)
def test_a_campaign_and_a_message_ride_after_the_recipient_or_null(
    options: dict[str, Any], payload: list[Any], frozen: None
) -> None:
    token = tokens.dumps(["a"], {"k": 1}, **options)
    assert tokens.serializer().loads(token) == payload
    decoded = tokens.loads(token)
    assert (decoded.args, decoded.kwargs) == (("a",), {"k": 1})
    assert decoded.campaign == payload[4]
    assert decoded.message == (payload[5] if len(payload) == 6 else None)
    assert decoded.recipient == options.get("recipient")
    assert (decoded.expires_at is not None) == ("max_age" in options)


def test_links_without_a_campaign_keep_their_tokens(frozen: None) -> None:
    assert tokens.serializer().loads(tokens.dumps(["a"], {})) == [["a"], {}]
    assert tokens.serializer().loads(tokens.dumps(["a"], {}, recipient="r")) == [
        ["a"],
        {},
        None,
        "r",
    ]


@pytest.mark.parametrize(("max_age", "expires"), [(None, False), (60, True)])
def test_a_recipient_rides_after_the_max_age_or_null(
    max_age: Any, expires: bool, frozen: None
) -> None:
    token = tokens.serializer().dumps([["a"], {"k": 1}, max_age, "sub-1"])
    decoded = tokens.loads(token)
    assert (decoded.args, decoded.kwargs, decoded.recipient) == (("a",), {"k": 1}, "sub-1")
    assert (decoded.expires_at is not None) is expires
    assert tokens.loads(tokens.dumps(["a"], {"k": 1}, max_age=max_age, recipient="sub-1")) == (
        decoded
    )
    # A link naming nobody keeps the token it always had, byte for byte.
    assert tokens.dumps(["a"], {}) == tokens.serializer().dumps([["a"], {}])


@override_settings(PTRACK_MAX_TOKEN_LENGTH=8192)
def _genuine_token_longer_than(length: int) -> str:
    token = tokens.dumps([hashlib.sha256(str(n).encode()).hexdigest() for n in range(90)], {})
    assert len(token) > length
    return token


def test_oversized_genuine_token_is_refused_before_any_decoding(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token = _genuine_token_longer_than(4096)  # signed under a larger cap: it would verify
    calls: list[str] = []

    def spy(name: str, real: Any) -> Any:
        def call(*args: Any) -> Any:
            calls.append(name)
            return real(*args)

        return call

    for name in ("_unb64", "_inflate"):
        monkeypatch.setattr(tokens, name, spy(name, getattr(tokens, name)))
    monkeypatch.setattr(tokens.hmac, "compare_digest", spy("hmac", hmac.compare_digest))
    with pytest.raises(InvalidToken, match="longer than 4096"):
        tokens.loads(token)
    assert calls == []
    with override_settings(PTRACK_MAX_TOKEN_LENGTH=8192):
        assert tokens.loads(token).args  # the same token, under a cap it fits
    assert "hmac" in calls


@override_settings(PTRACK_MAX_TOKEN_LENGTH=100)
def test_token_cap_is_configurable() -> None:
    token = tokens.dumps([hashlib.sha256(b"incompressible").hexdigest() * 2], {})
    assert len(token) > 100
    with pytest.raises(InvalidToken, match="longer than 100"):
        tokens.loads(token)


def test_decompression_is_bounded() -> None:
    # A genuinely signed token whose payload inflates past 16 x the token cap.
    bomb = zlib.compress(b"[" + b" " * 200_000 + b"[],{}]", 9)
    signed = tokens.serializer().make_signer().sign(b"." + base64_encode(bomb)).decode()
    assert len(signed) < 4096
    with pytest.raises(InvalidToken, match="over 65536 bytes"):
        tokens.loads(signed)


def test_corrupt_compressed_payload_is_invalid() -> None:
    signed = tokens.serializer().make_signer().sign(b"." + base64_encode(b"not zlib")).decode()
    with pytest.raises(InvalidToken, match="decompress"):
        tokens.loads(signed)


def test_secret_of_any_length_signs() -> None:
    for secret in ("s" * 10 + "ecret!", "long-" * 200):
        with override_settings(PTRACK_SECRET=secret):
            assert tokens.loads(tokens.dumps(["a"], {})).args == ("a",)


def test_ptrack_secret_replaces_secret_key() -> None:
    token = tokens.dumps(["a"], {})
    with override_settings(PTRACK_SECRET="a-separate-pixel-secret-" * 3):
        with pytest.raises(InvalidToken):
            tokens.loads(token)
        own = tokens.dumps(["a"], {})
    with pytest.raises(InvalidToken):
        tokens.loads(own)


@pytest.mark.parametrize("empty", ["", b""])
def test_an_empty_ptrack_secret_of_either_type_leaves_secret_key_signing(
    empty: str | bytes,
) -> None:
    # An empty bytes key would otherwise sign with no key at all: anyone could forge links.
    with freeze_time("2026-05-01 08:00:00"):
        with override_settings(PTRACK_SECRET=empty):
            token = tokens.dumps(["a"], {})
        assert token == tokens.dumps(["a"], {})
    with (
        override_settings(PTRACK_SECRET=empty, SECRET_KEY="another-key-" * 5),
        pytest.raises(InvalidToken),
    ):
        tokens.loads(token)


def test_mirror_sharing_only_ptrack_secret_verifies() -> None:
    shared = "shared-pixel-secret-between-deployments-0123456789"
    with override_settings(PTRACK_SECRET=shared, SECRET_KEY="internal-app-key-" * 4):
        token = tokens.dumps(["campaign"], {"id": 7})
    with override_settings(PTRACK_SECRET=shared, SECRET_KEY="public-mirror-key-" * 4):
        assert tokens.loads(token).kwargs == {"id": 7}


OLD, MID, NEW = ("old-key-" * 8, "middle-key-" * 6, "new-key-" * 8)


@pytest.mark.parametrize(
    ("setting_key", "setting_fallbacks"),
    [("PTRACK_SECRET", "PTRACK_SECRET_FALLBACKS"), ("SECRET_KEY", "SECRET_KEY_FALLBACKS")],
)
def test_rotation_accepts_fallbacks_and_signs_with_current(
    setting_key: str, setting_fallbacks: str
) -> None:
    with override_settings(**{setting_key: OLD}):
        old_token = tokens.dumps(["old"], {})
    with override_settings(**{setting_key: MID}):
        mid_token = tokens.dumps(["mid"], {})
    # Django orders fallbacks newest first.
    with override_settings(**{setting_key: NEW, setting_fallbacks: [MID, OLD]}):
        assert tokens.loads(old_token).args == ("old",)
        assert tokens.loads(mid_token).args == ("mid",)
        new_token = tokens.dumps(["new"], {})
    with override_settings(**{setting_key: NEW}):
        assert tokens.loads(new_token).args == ("new",)
        for retired in (old_token, mid_token):
            with pytest.raises(InvalidToken):
                tokens.loads(retired)
    # The current key signed: a deployment knowing only the old keys rejects it.
    with (
        override_settings(**{setting_key: MID, setting_fallbacks: [OLD]}),
        pytest.raises(InvalidToken),
    ):
        tokens.loads(new_token)


def test_secret_key_fallbacks_do_not_back_ptrack_secret() -> None:
    with override_settings(PTRACK_SECRET=OLD):
        token = tokens.dumps(["a"], {})
    with (
        override_settings(PTRACK_SECRET=NEW, SECRET_KEY_FALLBACKS=[OLD]),
        pytest.raises(InvalidToken),
    ):
        tokens.loads(token)


def test_moving_from_secret_key_to_ptrack_secret(settings: Any) -> None:
    token = tokens.dumps(["a"], {})
    with override_settings(PTRACK_SECRET=NEW, PTRACK_SECRET_FALLBACKS=[settings.SECRET_KEY]):
        assert tokens.loads(token).args == ("a",)


T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("max_age", [3600, timedelta(hours=1), 3600.0])
def test_site_max_age_expires_links_after_the_boundary(max_age: Any) -> None:
    with freeze_time(T0):
        token = tokens.dumps(["a"], {})
    with override_settings(PTRACK_MAX_AGE=max_age):
        with freeze_time(T0 + timedelta(seconds=3600)):
            decoded = tokens.loads(token)
            assert decoded.issued_at == T0
            assert decoded.expires_at == T0 + timedelta(hours=1)
        with (
            freeze_time(T0 + timedelta(seconds=3600, microseconds=1)),
            pytest.raises(ExpiredToken) as excinfo,
        ):
            tokens.loads(token)
    assert excinfo.value.issued_at == T0
    assert excinfo.value.expires_at == T0 + timedelta(hours=1)


def test_links_never_expire_by_default() -> None:
    with freeze_time(T0):
        token = tokens.dumps(["a"], {})
    with freeze_time(T0 + timedelta(days=3650)):
        decoded = tokens.loads(token)
    assert decoded.expires_at is None


@override_settings(PTRACK_MAX_AGE=60)
def test_per_link_max_age_overrides_site_default() -> None:
    with freeze_time(T0):
        long_lived = tokens.dumps(["a"], {}, max_age=86400)
        short_lived = tokens.dumps(["b"], {}, max_age=10)
    with freeze_time(T0 + timedelta(seconds=10)):
        assert tokens.loads(short_lived).expires_at == T0 + timedelta(seconds=10)
    with freeze_time(T0 + timedelta(seconds=11)), pytest.raises(ExpiredToken):
        tokens.loads(short_lived)
    with freeze_time(T0 + timedelta(hours=23)):
        assert tokens.loads(long_lived).args == ("a",)
    with freeze_time(T0 + timedelta(days=1, seconds=1)), pytest.raises(ExpiredToken):
        tokens.loads(long_lived)


def test_timestamp_in_the_future_is_invalid() -> None:
    with freeze_time(T0 + timedelta(seconds=5)):
        token = tokens.dumps(["a"], {})
    with freeze_time(T0), pytest.raises(InvalidToken, match="future"):
        tokens.loads(token)


@pytest.mark.parametrize(
    "options",
    [{}, {"max_age": 60, "recipient": "sub-1", "campaign": "spring", "message": "m-1"}],
)
def test_a_verified_token_is_the_dataclass_made_the_usual_way(
    options: dict[str, Any], frozen: None
) -> None:
    # Verified tokens are filled slot by slot for speed: the result must be the
    # frozen dataclass the constructor makes, field for field.
    decoded = tokens.loads(tokens.dumps(["a", 1], {"k": [None]}, **options))
    expected = tokens.DecodedToken(
        ("a", 1),
        {"k": [None]},
        SIGNED,
        SIGNED + timedelta(seconds=60) if options else None,
        options.get("recipient"),
        options.get("campaign"),
        options.get("message"),
    )
    assert type(decoded) is tokens.DecodedToken
    assert decoded == expected
    assert dataclasses.astuple(decoded) == dataclasses.astuple(expected)
    with pytest.raises(dataclasses.FrozenInstanceError):
        decoded.recipient = "x"  # type: ignore[misc]
