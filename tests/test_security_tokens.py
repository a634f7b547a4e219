"""Security properties of pixel tokens: exact round trips, no forgery, no crossing.

Each test states one guarantee of the security model (docs/security.md); hypothesis
searches for a counterexample where a table could not list them all.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import string
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

import pytest
from cryptography.fernet import Fernet
from django.contrib.auth.models import User
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core import signing
from django.core.checks import run_checks
from django.test import Client, override_settings
from django.utils.encoding import force_bytes
from freezegun import freeze_time
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from itsdangerous import URLSafeSerializer, URLSafeTimedSerializer
from itsdangerous.encoding import base64_encode

import ptrack
from ptrack import tokens
from ptrack.conf import conf
from ptrack.exceptions import ExpiredToken, InvalidToken, PixelURLTooLong
from tests import ptrack3
from tests.conftest import Recorded
from tests.settings import SECRET_KEY as KEY

URL_SAFE = string.ascii_letters + string.digits + "-_."
ENCODERS = [ptrack.SignedEncoder, ptrack.FernetEncoder]
QUICK = settings(max_examples=60, deadline=None)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)
json_args = st.lists(json_values, max_size=4)
json_kwargs = st.dictionaries(st.text(max_size=10), json_values, max_size=4)


def exact(value: Any) -> Any:
    """``value`` with every type made explicit, so 1 != 1.0 != True and -0.0 != 0.0."""
    if isinstance(value, list):
        return ["list", [exact(item) for item in value]]
    if isinstance(value, dict):
        return ["dict", {key: exact(item) for key, item in value.items()}]
    if isinstance(value, float):
        return ["float", value.hex()]
    return [type(value).__name__, value]


def assert_refused(encoder: Any, token: str) -> None:
    """``token`` does not verify, and not merely as an expired genuine link."""
    with pytest.raises((InvalidToken, ValueError)) as info:
        encoder.decode(token)
    assert not isinstance(info.value, ExpiredToken)


# Round trips ------------------------------------------------------------------------------------


@pytest.mark.parametrize("encoder", ENCODERS)
@QUICK
@given(args=json_args, kwargs=json_kwargs, max_age=st.none() | st.integers(1, 10**9))
def test_any_json_args_and_kwargs_round_trip_exactly(
    encoder: Any, args: list[Any], kwargs: dict[str, Any], max_age: int | None
) -> None:
    token = encoder.encode(args, kwargs, max_age=max_age)
    assume(len(token) <= 4096)  # longer tokens are refused by design (PTRACK_MAX_TOKEN_LENGTH)
    assert set(token) <= set(URL_SAFE + "=")
    decoded = encoder.decode(token)
    assert exact(list(decoded.args)) == exact(args)
    assert exact(decoded.kwargs) == exact(kwargs)
    assert (decoded.expires_at is None) == (max_age is None)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(args=json_args, kwargs=json_kwargs)
def test_any_json_args_and_kwargs_reach_the_recorder_exactly_over_http(
    client: Client, recorded: Recorded, args: list[Any], kwargs: dict[str, Any]
) -> None:
    recorded.events.clear()
    try:
        url = ptrack.build_url(args, kwargs)
    except PixelURLTooLong:
        assume(False)  # refused at render time by design (PTRACK_MAX_URL_LENGTH)
    response = client.get(urlsplit(url).path)
    assert response.status_code == 200
    [event] = recorded.events
    assert exact(list(event.args)) == exact(args)
    assert exact(dict(event.kwargs)) == exact(kwargs)


# Tampering --------------------------------------------------------------------------------------


@st.composite
def mutated(draw: st.DrawFn, token: str) -> str:
    """``token`` altered once: a character replaced, inserted or removed, cut or extended."""
    char = draw(st.sampled_from(URL_SAFE + "=") | st.characters())
    index = draw(st.integers(0, len(token) - 1))
    kind = draw(st.sampled_from(["replace", "insert", "delete", "cut", "extend", "swap"]))
    if kind == "replace":
        return token[:index] + char + token[index + 1 :]
    if kind == "insert":
        return token[:index] + char + token[index:]
    if kind == "delete":
        return token[:index] + token[index + 1 :]
    if kind == "cut":
        return token[:index]
    if kind == "extend":
        return token + draw(st.text(URL_SAFE + "=", min_size=1, max_size=8))
    other = draw(st.integers(0, len(token) - 1))
    chars = list(token)
    chars[index], chars[other] = chars[other], chars[index]
    return "".join(chars)


@pytest.mark.parametrize("encoder", ENCODERS)
@settings(max_examples=100, deadline=None)
@given(args=json_args, kwargs=json_kwargs, data=st.data())
def test_any_mutation_of_a_valid_token_never_verifies(
    encoder: Any, args: list[Any], kwargs: dict[str, Any], data: st.DataObject
) -> None:
    token = encoder.encode(args, kwargs)
    assume(len(token) <= 4096)
    altered = data.draw(mutated(token))
    assume(altered != token)
    assert_refused(encoder, altered)


def test_every_single_character_change_of_a_fernet_token_is_refused() -> None:
    token = ptrack.FernetEncoder.encode(["a"], {"b": 1})
    for index in range(len(token)):
        for char in (URL_SAFE + "=").replace(token[index], ""):
            assert_refused(ptrack.FernetEncoder, token[:index] + char + token[index + 1 :])
    for cut in range(len(token)):
        assert_refused(ptrack.FernetEncoder, token[:cut])


def test_padding_added_to_a_signature_is_refused() -> None:
    # base64 decoders ignore padding; the canonical-signature rule must not.
    token = tokens.dumps(["a"], {})
    for suffix in ("=", "==", "A=", "\n"):
        assert_refused(ptrack.SignedEncoder, token + suffix)


# Keys and salts never cross ---------------------------------------------------------------------

keys = st.text(min_size=1, max_size=40) | st.binary(min_size=1, max_size=40)


@QUICK
@given(signing_key=keys, other_key=keys)
def test_a_token_signed_with_one_key_never_verifies_under_another(
    signing_key: str | bytes, other_key: str | bytes
) -> None:
    # "0" and b"0" are one key: a str key is its UTF-8 bytes.
    assume(force_bytes(signing_key) != force_bytes(other_key))
    with override_settings(PTRACK_SECRET=signing_key, PTRACK_SECRET_FALLBACKS=[]):
        signed = tokens.dumps(["a"], {"n": 1})
        encrypted = ptrack.FernetEncoder.encode(["a"], {"n": 1})
    with override_settings(PTRACK_SECRET=other_key, PTRACK_SECRET_FALLBACKS=[]):
        assert_refused(ptrack.SignedEncoder, signed)
        assert_refused(ptrack.FernetEncoder, encrypted)
    with override_settings(PTRACK_SECRET=signing_key, PTRACK_SECRET_FALLBACKS=[]):
        assert tokens.loads(signed).args == ("a",)


def _itsdangerous(salt: str, **signer_kwargs: Any) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(KEY, salt=salt, signer_kwargs=signer_kwargs)


@QUICK
@given(salt=st.text(max_size=30))
def test_a_value_signed_under_another_salt_never_verifies(salt: str) -> None:
    assume(salt != tokens.SALT)
    foreign = _itsdangerous(salt, key_derivation="hmac", digest_method=hashlib.sha256)
    assert_refused(ptrack.SignedEncoder, foreign.dumps([["a"], {}]))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _jwt(alg: str, key: bytes | None) -> str:
    head = _b64(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    body = _b64(json.dumps([["a"], {}]).encode())
    signature = b"" if key is None else hmac.new(key, f"{head}.{body}".encode(), "sha256").digest()
    return f"{head}.{body}.{_b64(signature)}"


def _unsigned_value() -> str:
    """``payload.timestamp`` in itsdangerous' shape, for hand-made signatures."""
    payload = _b64(json.dumps([["a"], {}]).encode())
    return f"{payload}.{_b64(int(time.time()).to_bytes(4, 'big'))}"


def _raw_hmac(digest: str) -> str:
    value = _unsigned_value()
    return f"{value}.{_b64(hmac.new(KEY.encode(), value.encode(), digest).digest())}"


def _unsigned() -> str:
    return f"{_unsigned_value()}."


def _fernet_without_derivation() -> str:
    key = base64.urlsafe_b64encode(hashlib.sha256(KEY.encode()).digest())
    return Fernet(key).encrypt(tokens.dumps(["a"], {}).encode()).decode()


def _password_reset_token() -> str:
    user = User(pk=1, username="u", password="x", last_login=None)
    return PasswordResetTokenGenerator().make_token(user)


# Values the same site signs with the same SECRET_KEY, and look-alike formats: none may verify.
FOREIGN: dict[str, Callable[[], str]] = {
    "django signing, default salt": lambda: signing.dumps([["a"], {}]),
    "django signing, ptrack's salt": lambda: signing.dumps([["a"], {}], salt=tokens.SALT),
    "django signing, compressed": lambda: signing.dumps(
        [["a"] * 50, {}], salt=tokens.SALT, compress=True
    ),
    "django signing, '.' separator": lambda: signing.TimestampSigner(
        key=KEY, sep=".", salt=tokens.SALT
    ).sign_object([["a"], {}]),
    "django signing, sha1": lambda: signing.TimestampSigner(
        key=KEY, salt=tokens.SALT, algorithm="sha1"
    ).sign_object([["a"], {}]),
    "django signed cookie": lambda: signing.get_cookie_signer(salt="x").sign('[["a"],{}]'),
    "django password reset token": _password_reset_token,
    "itsdangerous defaults (sha1, django-concat)": lambda: _itsdangerous(tokens.SALT).dumps(
        [["a"], {}]
    ),
    "sha1 digest": lambda: _itsdangerous(
        tokens.SALT, key_derivation="hmac", digest_method=hashlib.sha1
    ).dumps([["a"], {}]),
    "sha512 digest": lambda: _itsdangerous(
        tokens.SALT, key_derivation="hmac", digest_method=hashlib.sha512
    ).dumps([["a"], {}]),
    "concat key derivation": lambda: _itsdangerous(
        tokens.SALT, key_derivation="concat", digest_method=hashlib.sha256
    ).dumps([["a"], {}]),
    "no key derivation": lambda: _itsdangerous(
        tokens.SALT, key_derivation="none", digest_method=hashlib.sha256
    ).dumps([["a"], {}]),
    "untimed serializer": lambda: URLSafeSerializer(
        KEY,
        salt=tokens.SALT,
        signer_kwargs={"key_derivation": "hmac", "digest_method": hashlib.sha256},
    ).dumps([["a"], {}]),
    "raw HMAC-SHA256 of the key": lambda: _raw_hmac("sha256"),
    "raw HMAC-SHA1 of the key": lambda: _raw_hmac("sha1"),
    "empty signature": _unsigned,
    "JWT alg none": lambda: _jwt("none", None),
    "JWT HS256 with SECRET_KEY": lambda: _jwt("HS256", KEY.encode()),
    "Fernet token given to the signed encoder": lambda: ptrack.FernetEncoder.encode(["a"], {}),
    "Fernet key not derived from the secret": _fernet_without_derivation,
    "signature of zeros": lambda: tokens.dumps(["a"], {}).rsplit(".", 1)[0] + "." + "A" * 43,
    # Read only with PTRACK_LEGACY_SECRET set (tests/test_legacy.py); unset here.
    "django-ptrack 3.0.0 token": lambda: ptrack3.token("newsletter"),
}


@pytest.mark.parametrize("make", FOREIGN.values(), ids=FOREIGN.keys())
def test_values_signed_elsewhere_and_lookalike_formats_never_verify(
    client: Client, recorded: Recorded, make: Callable[[], str]
) -> None:
    token = make()
    assert_refused(ptrack.SignedEncoder, token)
    assert client.get(f"/ptrack/{token}/").status_code == 200
    assert recorded.events == []


def test_a_signed_token_never_verifies_as_a_fernet_token() -> None:
    assert_refused(ptrack.FernetEncoder, tokens.dumps(["a"], {}))


@pytest.mark.parametrize(
    "fernet_key",
    [
        hashlib.sha256(KEY.encode()).digest(),
        KEY.encode()[:32],
        hmac.new(KEY.encode(), b"ptrack.pixel", "sha256").digest(),
        hmac.new(b"ptrack.fernet", KEY.encode(), "sha256").digest(),
    ],
    ids=["sha256 of the key", "the key cut to 32 bytes", "other label", "arguments swapped"],
)
def test_fernet_keys_derived_from_the_same_secret_in_other_ways_never_verify(
    fernet_key: bytes,
) -> None:
    # A genuine signed token inside, so only the Fernet layer's own key can refuse it.
    inner = tokens.dumps(["a"], {}).encode()
    token = Fernet(base64.urlsafe_b64encode(fernet_key)).encrypt(inner).decode()
    assert_refused(ptrack.FernetEncoder, token)


# Key rotation end to end -------------------------------------------------------------------------

OLD, MIDDLE, NEW = ("old-" + "o" * 60, "middle-" + "m" * 60, "new-" + "n" * 60)
DAY = timedelta(days=1)
START = datetime(2026, 1, 1, 9, 0, tzinfo=timezone.utc)


@pytest.fixture(params=["SECRET_KEY", "PTRACK_SECRET"])
def rotate(request: pytest.FixtureRequest) -> Iterator[Callable[..., Any]]:
    """``rotate(key, *fallbacks)``: settings signing with ``key``, fallbacks newest first."""
    if request.param == "SECRET_KEY":
        yield lambda key, *old: override_settings(SECRET_KEY=key, SECRET_KEY_FALLBACKS=list(old))
    else:
        yield lambda key, *old: override_settings(
            PTRACK_SECRET=key, PTRACK_SECRET_FALLBACKS=list(old)
        )


@pytest.mark.parametrize("encoder", ENCODERS)
def test_rotation_keeps_old_links_while_fallback_then_stops(
    client: Client, recorded: Recorded, rotate: Callable[..., Any], encoder: Any
) -> None:
    ptrack.ptrack_encoder = encoder
    with freeze_time(START), rotate(OLD):
        old_link = urlsplit(ptrack.Pixel("old").url()).path
    with freeze_time(START + 10 * DAY), rotate(MIDDLE, OLD):
        middle_link = urlsplit(ptrack.Pixel("middle").url()).path
        assert client.get(old_link).status_code == 200
    with freeze_time(START + 20 * DAY), rotate(NEW, MIDDLE, OLD):
        new_link = urlsplit(ptrack.Pixel("new").url()).path
        for link in (old_link, middle_link, new_link):
            assert client.get(link).status_code == 200
    assert [event.args for event in recorded.events] == [("old",), ("old",), ("middle",), ("new",)]
    assert recorded.events[1].issued_at == START
    recorded.events.clear()
    with freeze_time(START + 30 * DAY), rotate(NEW, MIDDLE):
        for link in (old_link, middle_link, new_link):
            client.get(link)
    with freeze_time(START + 40 * DAY), rotate(NEW):
        for link in (old_link, middle_link, new_link):
            client.get(link)
    with freeze_time(START + 40 * DAY), rotate(MIDDLE, OLD):
        client.get(new_link)  # signed with the new key, which this site never had
    assert [event.args for event in recorded.events] == [("middle",), ("new",), ("new",)]


@override_settings(PTRACK_MAX_AGE=timedelta(days=15))
def test_rotation_does_not_revive_expired_links(client: Client, recorded: Recorded) -> None:
    with freeze_time(START), override_settings(PTRACK_SECRET=OLD):
        link = urlsplit(ptrack.Pixel("old").url()).path
    with (
        freeze_time(START + 20 * DAY),
        override_settings(PTRACK_SECRET=NEW, PTRACK_SECRET_FALLBACKS=[OLD]),
    ):
        client.get(link)
    assert recorded.events == []


# Expiry at the clock's edges --------------------------------------------------------------------


@pytest.mark.parametrize("encoder", ENCODERS)
def test_expiry_edges_over_http(client: Client, recorded: Recorded, encoder: Any) -> None:
    ptrack.ptrack_encoder = encoder
    issued = START + timedelta(seconds=0.75)  # tokens carry whole seconds: issued at START
    with freeze_time(issued):
        link = urlsplit(ptrack.Pixel("e").url(expires=60)).path
    tick = timedelta(microseconds=1)
    # Asked for 60 s from START + 0.75 s; the whole-second token keeps recording
    # to the next whole second, never stopping before the time asked for.
    loads = {
        "before issue": START - tick,
        "at issue": START,
        "at the time asked for": issued + timedelta(seconds=60),
        "exactly at expiry": START + timedelta(seconds=61),
        "just after expiry": START + timedelta(seconds=61) + tick,
        "long after": START + 400 * DAY,
    }
    recorded_at = []
    for name, moment in loads.items():
        recorded.events.clear()
        with freeze_time(moment):
            assert client.get(link).status_code == 200
        if recorded.events:
            recorded_at.append(name)
    assert recorded_at == ["at issue", "at the time asked for", "exactly at expiry"]


@pytest.mark.parametrize("site_max_age", [60, 60.0, timedelta(seconds=60)])
def test_site_max_age_edges(site_max_age: Any) -> None:
    with freeze_time(START):
        token = tokens.dumps(["a"], {})
    with override_settings(PTRACK_MAX_AGE=site_max_age):
        with freeze_time(START + timedelta(seconds=60)):
            assert tokens.loads(token).expires_at == START + timedelta(seconds=60)
        with (
            freeze_time(START + timedelta(seconds=60, microseconds=1)),
            pytest.raises(ExpiredToken),
        ):
            tokens.loads(token)


def test_a_token_from_the_future_is_refused_even_by_a_microsecond() -> None:
    with freeze_time(START + timedelta(seconds=1)):
        token = tokens.dumps(["a"], {})
    with freeze_time(START + timedelta(seconds=1) - timedelta(microseconds=1)):
        assert_refused(ptrack.SignedEncoder, token)
    with freeze_time(START + timedelta(seconds=1)):
        assert tokens.loads(token).args == ("a",)


@pytest.mark.parametrize(
    "expires",
    [10**12, timedelta(days=999_999_999), 10**400, 1e300],
    ids=["1e12 s", "max days", "1e400 s", "1e300 s float"],
)
def test_a_far_future_expiry_renders_and_the_link_records(
    client: Client, recorded: Recorded, expires: Any
) -> None:
    # Past the last date a datetime holds, "far" means "never": not an error at render,
    # and never a link that renders but is dropped at load.
    url = ptrack.Pixel("n").url(expires=expires)

    assert client.get(urlsplit(url).path).status_code == 200
    assert recorded.calls == [(("n",), {})]
    assert recorded.events[0].expires_at is None


# Every model's checks, with Django 6.1's default of all databases: JSONField's asks one.
@pytest.mark.django_db
@pytest.mark.parametrize(
    "site_max_age", [timedelta.max, 10**400, 1e300], ids=["timedelta.max", "1e400 s", "1e300 s"]
)
def test_a_far_future_site_max_age_passes_the_checks_and_links_record(
    client: Client, recorded: Recorded, site_max_age: Any
) -> None:
    with override_settings(PTRACK_MAX_AGE=site_max_age):
        assert [m.id for m in run_checks() if (m.id or "").startswith("ptrack.")] == []
        assert client.get(urlsplit(ptrack.Pixel("n").url()).path).status_code == 200
    assert recorded.calls == [(("n",), {})]


# Resource limits --------------------------------------------------------------------------------


def _signed_bomb() -> str:
    """A genuinely signed token whose payload inflates to about 3 MB."""
    bomb = zlib.compress(b"[" + b" " * 3_000_000 + b"[],{}]", 9)
    return tokens.serializer().make_signer().sign(b"." + base64_encode(bomb)).decode()


def _forged_compressed() -> str:
    bomb = zlib.compress(b"[" + b" " * 3_000_000 + b"[],{}]", 9)
    return f".{base64_encode(bomb).decode()}.{_b64(b'1234')}.{'A' * 43}"


WORST_INPUTS: dict[str, Callable[[], str]] = {
    "genuine bomb under the cap": _signed_bomb,
    "forged bomb under the cap": _forged_compressed,
    "dots at the cap": lambda: "." * 4096,
    "random at the cap": lambda: "Ab-_" * 1024,
    "ten megabytes": lambda: "A" * 10_000_000,
    "ten megabytes of dots": lambda: "." * 10_000_000,
}


class _Inflated:
    """Counts the bytes zlib inflates, through either of its entry points."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.bytes = 0
        real_decompressobj, real_decompress = zlib.decompressobj, zlib.decompress

        def decompress(*args: Any, **kwargs: Any) -> bytes:
            data = real_decompress(*args, **kwargs)
            self.bytes += len(data)
            return data

        def decompressobj(*args: Any, **kwargs: Any) -> Any:
            return _CountingInflater(real_decompressobj(*args, **kwargs), self)

        monkeypatch.setattr(zlib, "decompress", decompress)
        monkeypatch.setattr(zlib, "decompressobj", decompressobj)


class _CountingInflater:
    def __init__(self, inflater: Any, counter: _Inflated) -> None:
        self._inflater, self._counter = inflater, counter

    def decompress(self, *args: Any, **kwargs: Any) -> bytes:
        data: bytes = self._inflater.decompress(*args, **kwargs)
        self._counter.bytes += len(data)
        return data

    def flush(self, *args: Any, **kwargs: Any) -> bytes:
        data: bytes = self._inflater.flush(*args, **kwargs)
        self._counter.bytes += len(data)
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inflater, name)


# Bytes, not seconds: what these inputs could cost is proportional to the bytes hashed,
# decoded or inflated, and each of those allocates. A refusal allocates a few kilobytes, a
# genuine bomb about 190 KB (the 64 KiB cap plus zlib's window); without the length cap the
# 10 MB token is encoded (10 MB), and without the inflation cap the bomb inflates to 3 MB.
PEAK_LIMIT = 512 * 1024


@pytest.mark.parametrize("encoder", ENCODERS)
@pytest.mark.parametrize("make", WORST_INPUTS.values(), ids=WORST_INPUTS.keys())
def test_no_input_costs_more_than_a_small_constant(
    make: Callable[[], str], encoder: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = make()
    assert len(token) > 3900
    inflated = _Inflated(monkeypatch)
    tracemalloc.start()
    try:
        assert_refused(encoder, token)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert inflated.bytes <= tokens.DECOMPRESSED_RATIO * conf.MAX_TOKEN_LENGTH
    assert peak < PEAK_LIMIT


def test_a_genuine_bomb_inflates_only_up_to_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    inflated = _Inflated(monkeypatch)
    assert_refused(ptrack.SignedEncoder, _signed_bomb())
    # It is inflated (it is genuinely signed), and stops at the cap: the counter sees it.
    assert inflated.bytes == tokens.DECOMPRESSED_RATIO * conf.MAX_TOKEN_LENGTH


def test_nothing_is_decompressed_before_the_signature_verifies(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    inflated: list[int] = []
    real_decompressobj, real_decompress = zlib.decompressobj, zlib.decompress

    def decompressobj(*args: Any, **kwargs: Any) -> Any:
        inflated.append(1)
        return real_decompressobj(*args, **kwargs)

    def decompress(*args: Any, **kwargs: Any) -> Any:
        inflated.append(1)
        return real_decompress(*args, **kwargs)

    monkeypatch.setattr(zlib, "decompressobj", decompressobj)
    monkeypatch.setattr(zlib, "decompress", decompress)
    assert_refused(ptrack.SignedEncoder, _forged_compressed())
    assert inflated == []
    tokens.loads(tokens.dumps(["abc" * 100], {}))  # the spy sees genuine decompression
    assert inflated


# Confidentiality --------------------------------------------------------------------------------


def test_signed_tokens_are_readable_by_their_holder_as_documented() -> None:
    token = tokens.dumps(["newsletter"], {"user_id": 42})
    payload = token.split(".")[0]
    assert json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))) == [
        ["newsletter"],
        {"user_id": 42},
    ]


@settings(max_examples=20, deadline=None)
@given(secret=st.text(alphabet=string.ascii_letters, min_size=6, max_size=12))
def test_fernet_tokens_hide_every_value(secret: str) -> None:
    token = ptrack.FernetEncoder.encode([secret], {"key_" + secret: secret * 3})
    assert secret not in token
    assert secret.encode() not in base64.urlsafe_b64decode(token)
    # Nor any part of the signed token it wraps.
    inner = tokens.dumps([secret], {"key_" + secret: secret * 3})
    assert all(part not in token for part in inner.split(".") if part)
