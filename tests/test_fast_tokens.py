"""The cached signing path agrees with itsdangerous, and its caches follow the settings."""

from __future__ import annotations

import base64
import hashlib
import zlib
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import override_settings
from django.urls import reverse, set_script_prefix
from freezegun import freeze_time
from itsdangerous import URLSafeTimedSerializer
from itsdangerous.encoding import base64_encode

import ptrack
from ptrack import links, tokens
from ptrack.conf import conf
from ptrack.exceptions import InvalidToken
from tests.encoders import SpacedEncoder

PAYLOADS: list[tuple[list[Any], dict[str, Any]]] = [
    (["campaign-42"], {"user_id": 123456, "email": "someone@example.com", "variant": "b"}),
    (["x" * 300], {"repeated": "abc" * 100}),  # compressed, past the small-JSON window
    (["ab" * 60], {}),  # compressed, within it
    (["naïve ✉"], {"k": [1, 2.5, None, True]}),
    ([], {}),
]


def _plain(secret: str | list[str]) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(
        secret,
        salt=tokens.SALT,
        signer_kwargs={"key_derivation": "hmac", "digest_method": hashlib.sha256},
    )


@pytest.mark.parametrize(("args", "kwargs"), PAYLOADS)
def test_tokens_verify_both_ways_with_plain_itsdangerous(
    settings: Any, args: list[Any], kwargs: dict[str, Any]
) -> None:
    plain = _plain(settings.SECRET_KEY)
    assert plain.loads(tokens.dumps(args, kwargs)) == [args, kwargs]
    assert plain.loads(tokens.dumps(args, kwargs, max_age=60)) == [args, kwargs, 60]
    decoded = tokens.loads(plain.dumps([args, kwargs]))
    assert (list(decoded.args), decoded.kwargs) == (args, kwargs)


@pytest.mark.parametrize(("args", "kwargs"), PAYLOADS)
def test_same_token_as_the_serializer_within_one_second(
    args: list[Any], kwargs: dict[str, Any]
) -> None:
    with freeze_time("2026-05-01 08:00:00"):
        fast = tokens.dumps(args, kwargs)
        slow = tokens.serializer().dumps([args, kwargs])
    if fast.startswith("."):
        # Small payloads are deflated with a smaller window: the same deflate
        # stream, and a zlib header that says so.
        assert len(fast) == len(slow)
        fast_data, slow_data = (zlib.decompress(_unb64(t.split(".")[1])) for t in (fast, slow))
        assert fast_data == slow_data
    else:
        assert fast == slow


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def test_fallback_keys_verify_and_the_current_key_signs() -> None:
    old, new = "old-key-" * 8, "new-key-" * 8
    with override_settings(PTRACK_SECRET=new, PTRACK_SECRET_FALLBACKS=[old]):
        assert tokens.loads(_plain(old).dumps([["a"], {}])).args == ("a",)
        assert _plain([old, new]).loads(tokens.dumps(["b"], {})) == [["b"], {}]
        with pytest.raises(Exception, match="does not match"):
            _plain(old).loads(tokens.dumps(["b"], {}))


def _signed(payload: bytes, *, stamp: bytes | None = None) -> str:
    signer = tokens.serializer().make_signer()
    if stamp is None:
        return signer.sign(payload).decode()
    value = payload + b"." + stamp
    return (value + b"." + signer.get_signature(value)).decode()


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("nodot", "No '.'"),
        ("é.abc.def", "not ASCII"),
        (_signed(base64_encode(b"[[],{}]")).rsplit(".", 1)[0] + ".AAAA", "does not match"),
    ],
)
def test_malformed_tokens(token: str, message: str) -> None:
    with pytest.raises(InvalidToken, match=message):
        tokens.loads(token)


def test_timestamp_that_is_signed_but_malformed() -> None:
    value = base64_encode(b"[[],{}]")
    with pytest.raises(InvalidToken, match="Malformed timestamp"):
        tokens.loads(_signed(value, stamp=base64_encode(b"\x01" * 9)))
    signer = tokens.serializer().make_signer()
    no_stamp = (value + b"." + signer.get_signature(value)).decode()
    with pytest.raises(InvalidToken, match="Malformed timestamp"):
        tokens.loads(no_stamp)


def test_signed_json_with_spaces_is_read_as_json_loads_reads_it() -> None:
    spaced = tokens.loads(_signed(base64_encode(b' [ ["a"] , {"k": 1} ] ')))
    assert (spaced.args, spaced.kwargs) == (("a",), {"k": 1})
    for bad in (b'[["a"],{}] x', b"[[", b"\xff"):
        with pytest.raises(InvalidToken, match="Could not load the payload"):
            tokens.loads(_signed(base64_encode(bad)))


def test_compressed_payload_bound_applies_to_the_fast_path() -> None:
    bomb = zlib.compress(b"[" + b" " * 200_000 + b"[],{}]", 9)
    with pytest.raises(InvalidToken, match="over 65536 bytes"):
        tokens.loads(_signed(b"." + base64_encode(bomb)))


def test_cached_settings_follow_override_settings() -> None:
    assert conf.MAX_TOKEN_LENGTH == 4096
    with override_settings(PTRACK_MAX_TOKEN_LENGTH=10):
        assert conf.MAX_TOKEN_LENGTH == 10
        with pytest.raises(InvalidToken, match="longer than 10"):
            ptrack.encoders.decode("A" * 11)
    assert conf.MAX_TOKEN_LENGTH == 4096
    with override_settings(PTRACK_APP_URL="https://other.example.org/base/"):
        assert ptrack.Pixel("a").url().startswith("https://other.example.org/base/ptrack/")


def test_url_path_follows_script_prefix_and_urlconf() -> None:
    token = tokens.dumps(["a"], {})
    expected = reverse("ptrack", kwargs={"ptrack_encoded_data": token})
    assert links._path(token, "ptrack") == expected
    set_script_prefix("/mounted/")
    try:
        assert links._path(token, "ptrack") == "/mounted" + expected
    finally:
        set_script_prefix("/")
    with override_settings(ROOT_URLCONF="tests.urls_re_path"):
        assert links._path(token, "ptrack") == f"/pixels/{token}/"
    assert links._path(token, "ptrack") == expected


def test_tokens_reverse_would_quote_go_through_reverse() -> None:
    ptrack.ptrack_encoder = SpacedEncoder
    url = ptrack.Pixel("a").url()
    assert urlsplit(url).path.startswith("/ptrack/a%20token/with%20spaces%25")


def test_a_prefix_containing_the_marker_falls_back_to_reverse(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(links, "_MARKER", "ptrack")
    monkeypatch.setattr(links, "_split_paths", {})
    token = tokens.dumps(["a"], {})
    assert links._path(token, "ptrack") == f"/ptrack/{token}/"
    assert links._split_paths == {}
