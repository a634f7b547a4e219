"""A short fuzz run of the decode step, in the normal suite.

The long run is ``make fuzz`` (``fuzz/fuzz_decode.py``). Here hypothesis feeds
arbitrary text, bytes and near-valid tokens to ``ptrack.encoders.decode`` and
``ptrack.tracking.track``: the only exceptions allowed are the documented
``InvalidToken`` and ``ValueError``, ``track`` never raises nor logs an
encoder bug, nothing unsigned verifies, and no log line carries a raw line break.
``PTRACK_LEGACY_SECRET`` is set throughout, so every token the encoder rejects
is also tried as a django-ptrack 3.x link, and 3.x-shaped tokens are among the inputs.
"""

from __future__ import annotations

import base64
import logging
import unicodedata
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.test import override_settings
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from itsdangerous.encoding import base64_encode

import ptrack
from ptrack import encoders, legacy, tokens, tracking
from ptrack.exceptions import ExpiredToken, InvalidToken
from tests import ptrack3
from tests.conftest import Recorded

# No example database: a shrunk failure could be replayed as a literal token
# that verifies forever, and every run should explore afresh.
FUZZ = settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
ENCODERS = [ptrack.SignedEncoder, ptrack.FernetEncoder]
B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


@pytest.fixture(autouse=True, scope="module")
def _legacy_links_read() -> Iterator[None]:
    with override_settings(PTRACK_LEGACY_SECRET=ptrack3.SECRET):
        yield


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def ptrack_logs() -> Iterator[list[logging.LogRecord]]:
    """ptrack's log records; caplog cannot be reset between hypothesis examples."""
    logger = logging.getLogger("ptrack")
    handler, level = _Records(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield handler.records
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def segments() -> st.SearchStrategy[str]:
    return st.text(B64, max_size=60)


@st.composite
def token_shaped(draw: st.DrawFn) -> str:
    """``[.]payload.timestamp.signature`` with arbitrary parts: past the first checks."""
    compressed = draw(st.booleans())
    payload = draw(segments() | st.binary(max_size=80).map(lambda b: base64_encode(b).decode()))
    parts = [payload, draw(segments()), draw(segments())]
    extra = draw(st.lists(segments(), max_size=2))
    return ("." if compressed else "") + ".".join(parts + extra)


@st.composite
def near_valid(draw: st.DrawFn) -> str:
    """A genuine token with some of its characters overwritten by arbitrary ones."""
    token = tokens.dumps(draw(st.lists(st.integers() | st.text(max_size=5), max_size=3)), {})
    chars = list(token)
    for _ in range(draw(st.integers(1, 4))):
        chars[draw(st.integers(0, len(chars) - 1))] = draw(st.characters())
    altered = "".join(chars)
    assume(altered != token)
    return altered


@st.composite
def near_valid_3x(draw: st.DrawFn) -> str:
    """A token django-ptrack 3.0.0 minted, with some characters overwritten or cut."""
    token = ptrack3.token(draw(st.sampled_from(["newsletter", "unicode", "nothing"])))
    chars = list(token)
    for _ in range(draw(st.integers(1, 4))):
        chars[draw(st.integers(0, len(chars) - 1))] = draw(
            st.sampled_from(B64 + "=") | st.characters()
        )
    altered = (
        "".join(chars)[: draw(st.integers(0, len(token)))]
        if draw(st.booleans())
        else "".join(chars)
    )
    assume(altered != token)
    return altered


def shaped_3x() -> st.SearchStrategy[str]:
    """URL-safe base64 of arbitrary bytes, as long as a SecretBox message or longer."""
    return st.binary(min_size=40, max_size=120).map(lambda b: base64.urlsafe_b64encode(b).decode())


arbitrary = (
    st.text()
    | st.binary().map(lambda b: b.decode("latin-1"))
    | st.binary().map(lambda b: b.decode("utf-8", "replace"))
    | token_shaped()
    | near_valid()
    | near_valid_3x()
    | shaped_3x()
)


def decode_refuses(encoder: Any, token: str) -> None:
    ptrack.ptrack_encoder = encoder
    try:
        decoded = encoders.decode(token)
    except ExpiredToken:
        pytest.fail(f"{token!r} verified as a genuine, expired link")
    except (InvalidToken, ValueError):
        return
    pytest.fail(f"{token!r} verified: {decoded!r}")


@pytest.mark.parametrize("encoder", ENCODERS)
@FUZZ
@given(token=arbitrary)
@example(token="")
@example(token="\ud800")
@example(token="." * 5000)
def test_decode_raises_only_the_handled_exceptions(encoder: Any, token: str) -> None:
    decode_refuses(encoder, token)


@FUZZ
@given(token=arbitrary, user_agent=st.text(), referer=st.text())
def test_track_never_raises_records_nothing_and_logs_one_safe_line(
    recorded: Recorded, token: str, user_agent: str, referer: str
) -> None:
    with ptrack_logs() as records:
        assert (
            tracking.track(token, tracking.RequestContext(user_agent=user_agent, referer=referer))
            is None
        )
    assert recorded.events == []
    assert [record.levelname for record in records] == ["DEBUG"]
    message = records[0].getMessage()
    assert not [c for c in message if unicodedata.category(c) in ("Cc", "Zl", "Zp")]


@settings(max_examples=100, deadline=None, database=None)
@given(payload=st.binary(max_size=300), compress=st.booleans())
@example(payload=b"[" * 50_000, compress=True)  # nesting deeper than the recursion limit
@example(payload=b'[[],{},"60"]', compress=False)
@example(payload=b"[[],{},99999999999999999999]", compress=False)  # past datetime's range
def test_genuinely_signed_arbitrary_payloads_raise_only_the_handled_exceptions(
    payload: bytes, compress: bool
) -> None:
    # Past the signature: JSON parsing, decompression and shape checks on any bytes.
    body = b"." + base64_encode(zlib.compress(payload)) if compress else base64_encode(payload)
    token = tokens.serializer().make_signer().sign(body).decode()
    try:
        decoded = encoders.decode(token)
    except (InvalidToken, ValueError):
        return
    assert isinstance(decoded.args, tuple)
    assert isinstance(decoded.kwargs, dict)


@settings(max_examples=100, deadline=None, database=None)
@given(payload=st.binary(max_size=300) | st.text(max_size=100).map(str.encode))
@example(payload=b"[" * 3000)  # nesting deeper than the recursion limit, under the length cap
@example(payload=b"[[NaN, Infinity], {}]")
@example(payload=b'[[], {"a": 1}, 3]')
@example(payload=b"\xef\xbb\xbf[[], {}]")  # a UTF-8 byte order mark
def test_arbitrary_payloads_sealed_in_3x_box_raise_only_invalid_token(payload: bytes) -> None:
    # Past the box: UTF-8, JSON and shape checks on any bytes the key's holder could seal.
    try:
        args, kwargs = legacy.decrypt(ptrack3.seal(payload))
    except ExpiredToken:
        pytest.fail("no cutoff is set")
    except InvalidToken:
        return
    assert isinstance(args, list)
    assert isinstance(kwargs, dict)
    assert all(isinstance(key, str) for key in kwargs)
