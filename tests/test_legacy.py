"""Links made by django-ptrack 3.x keep recording: PTRACK_LEGACY_SECRET and PTRACK_LEGACY_UNTIL.

The tokens come from the real django-ptrack 3.0.0 (``tests/ptrack3/tokens.json``,
made by ``tests/ptrack3/mint.py``) and load through this project's endpoint:
the view under WSGI and ASGI, and both fast paths.
"""

from __future__ import annotations

import base64
import json
import logging
import subprocess
import sys
import tracemalloc
import unicodedata
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client, override_settings
from freezegun import freeze_time

import ptrack
from ptrack import legacy, tokens, tracking
from ptrack.answers import PIXEL_GIF
from ptrack.exceptions import ExpiredToken, InvalidToken
from ptrack.tracking import RequestContext
from tests.conftest import Recorded, pixel_path
from tests.fronts import Bad
from tests.helpers import flip
from tests.ptrack3 import FIXTURES, SECRET, TOKENS, mint, seal, token
from tests.testapp import pixels

LEGACY = override_settings(PTRACK_LEGACY_SECRET=SECRET)


def load(send: Callable[[Bad, str], Any], token: str) -> Any:
    response = send(Bad(token), f"/ptrack/{token}/")
    assert (response.status_code, response.content) == (200, PIXEL_GIF)
    return response


def test_the_fixtures_were_minted_by_django_ptrack_3_0_0() -> None:
    assert FIXTURES["made_by"].startswith("django-ptrack 3.0.0, PyNaCl ")
    assert len({t["token"] for t in TOKENS}) == len(TOKENS) == 22
    assert {t["secret"] for t in TOKENS} == {SECRET, "0123456789abcdefghijklmnopqrstuv"}


def test_the_helper_mints_exactly_what_3_0_0_minted() -> None:
    # Same arguments and nonce: the same token, byte for byte.
    for entry in TOKENS:
        if "html" in entry:
            continue
        nonce = base64.urlsafe_b64decode(entry["token"])[:24]
        again = mint(*entry["args"], secret=entry["secret"], nonce=nonce, **entry["kwargs"])
        assert again == entry["token"], entry["case"]


@pytest.mark.parametrize(
    "entry",
    [t for t in TOKENS if "over 4096" not in t["case"]],
    ids=lambda t: f"{t['secret'][:6]}: {t['case']}",
)
def test_every_3_0_0_token_records_what_3_0_0_recorded_on_every_front_end(
    send: Callable[[Bad, str], Any], recorded: Recorded, entry: dict[str, Any]
) -> None:
    with override_settings(PTRACK_LEGACY_SECRET=entry["secret"]):
        load(send, entry["token"])
    [event] = recorded.events
    # 3.0.0 called no recorder for a link without arguments; ptrack records every valid load.
    args, kwargs = entry["recorded_by_3x"] or ([], {})
    assert (list(event.args), dict(event.kwargs)) == (args, kwargs)
    assert event.event_type == ptrack.EventType.LOADED
    assert event.legacy is True
    assert (event.issued_at, event.expires_at) == (None, None)
    assert event.token == entry["token"]
    assert event.ip == "127.0.0.1"
    # The autodiscovered recorder's record(*args, **kwargs) gets the same.
    assert pixels.calls == [(tuple(args), kwargs)]


def test_a_3x_link_whose_padding_a_mail_client_percent_encoded_records(
    send: Callable[[Bad, str], Any], recorded: Recorded
) -> None:
    old = token("newsletter")
    assert old.endswith("==")
    path = f"/ptrack/{old.replace('=', '%3D')}/"
    with LEGACY:
        assert send(Bad(old), path).status_code == 200
    assert recorded.calls == [(("newsletter",), {"user_id": 42})]


def test_the_url_3_0_0_rendered_in_emails_records(client: Client, recorded: Recorded) -> None:
    [entry] = [t for t in TOKENS if t["secret"] == SECRET and "html" in t]
    assert entry["html"].startswith("<img src='https://www.example.com/ptrack/")
    path = urlsplit(entry["html"].split("'")[1]).path
    with LEGACY:
        assert client.get(path).status_code == 200
    assert recorded.calls == [(("newsletter",), {"user_id": 42, "variant": "b"})]


def test_a_3_0_0_token_over_the_length_cap_records_only_under_a_larger_cap(
    client: Client, recorded: Recorded
) -> None:
    long = token("long, over 4096 characters")
    assert len(long) > 4096
    with LEGACY:
        client.get(f"/ptrack/{long}/")
        assert recorded.events == []
        with override_settings(PTRACK_MAX_TOKEN_LENGTH=5000):
            client.get(f"/ptrack/{long}/")
    assert recorded.calls == [(("x" * 3100,), {})]


def test_the_event_of_a_3x_link_is_the_dataclass_made_the_usual_way() -> None:
    moment = datetime(2026, 4, 1, 9, 30, tzinfo=timezone.utc)
    old = token("newsletter")
    with LEGACY, freeze_time(moment):
        event = tracking.verify(old, RequestContext(ip="192.0.2.1", user_agent="UA", referer="r"))
    assert event == ptrack.PixelEvent(
        event_type=ptrack.EventType.LOADED,
        args=("newsletter",),
        kwargs={"user_id": 42},
        timestamp=moment,
        ip="192.0.2.1",
        user_agent="UA",
        referer="r",
        token=old,
        legacy=True,
        # Classified like any load; a 3.x link says no issue time, so no machine window.
        classification=ptrack.Classification(ptrack.Kind.BOT, "lone_product"),
    )
    assert ptrack.PixelEvent.from_dict(json.loads(json.dumps(event.to_dict()))) == event
    assert event.to_dict()["legacy"] is True


def test_new_links_are_not_legacy_and_old_event_dicts_still_load(recorded: Recorded) -> None:
    with LEGACY:
        event = tracking.track(pixel_path("n").split("/")[2])
    assert event is not None
    assert event.legacy is False
    assert event.issued_at is not None
    data = event.to_dict()
    del data["legacy"]  # an event serialized before the upgrade, still queued
    assert ptrack.PixelEvent.from_dict(data) == event


def test_links_are_never_minted_in_the_3x_format() -> None:
    with LEGACY:
        made = [
            urlsplit(ptrack.Pixel("n", user_id=1).url()).path.split("/")[2],
            ptrack.ptrack_encoder.encrypt("n", user_id=1),
        ]
        for new in made:
            assert tokens.loads(new).args == ("n",)
            with pytest.raises(InvalidToken):
                legacy.decrypt(new)
    assert not hasattr(legacy, "encrypt")


@pytest.mark.parametrize("secret", [None, ""])
def test_unset_or_empty_setting_reads_no_3x_link(
    client: Client, recorded: Recorded, secret: str | None
) -> None:
    with override_settings(PTRACK_LEGACY_SECRET=secret):
        client.get(f"/ptrack/{token('newsletter')}/")
        with pytest.raises(InvalidToken, match="not set"):
            legacy.decrypt(token("newsletter"))
    assert recorded.events == []


def test_pynacl_is_imported_only_when_the_setting_is_set() -> None:
    script = f"""
import os, sys
os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
import django; django.setup()
from django.test import override_settings
from ptrack import tracking
tracking.track({token("newsletter")!r})
print("nacl" in sys.modules)
with override_settings(PTRACK_LEGACY_SECRET={SECRET!r}):
    print(tracking.track({token("newsletter")!r}).args)
print("nacl" in sys.modules)
"""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert result.stdout.split("\n") == ["False", "('newsletter',)", "True", ""]


def test_another_3x_secret_reads_nothing(client: Client, recorded: Recorded) -> None:
    with override_settings(PTRACK_LEGACY_SECRET="0123456789abcdefghijklmnopqrstuv"):
        client.get(f"/ptrack/{token('newsletter')}/")
    assert recorded.events == []


def test_every_single_character_change_of_a_3x_token_is_refused() -> None:
    genuine = token("newsletter")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/."
    refused = 0
    with LEGACY:
        assert legacy.decrypt(genuine) == (["newsletter"], {"user_id": 42})
        for index in range(len(genuine)):
            for char in alphabet.replace(genuine[index], ""):
                with pytest.raises(InvalidToken):
                    legacy.decrypt(flip(genuine, index, char))
                refused += 1
    assert refused == len(genuine) * (len(alphabet) - 1)


NON_CANONICAL = {
    # Python's base64 decoder accepts all of these for the genuine bytes; 3.x never wrote them.
    "padding removed": lambda t: t.rstrip("="),
    "padding added": lambda t: t + "==",
    "stray character": lambda t: t[:10] + "!" + t[10:],
    "line break": lambda t: t[:10] + "\n" + t[10:],
    "standard alphabet": lambda t: t.replace("-", "+").replace("_", "/"),
}


@pytest.mark.parametrize("change", NON_CANONICAL.values(), ids=NON_CANONICAL.keys())
def test_only_the_spelling_3x_wrote_is_read(change: Callable[[str], str]) -> None:
    # A token with padding and both URL-safe characters, so that every change alters it.
    genuine = next(
        t["token"] for t in TOKENS if t["secret"] == SECRET and {"-", "_", "="} <= set(t["token"])
    )
    altered = change(genuine)
    assert altered != genuine
    with LEGACY, pytest.raises(InvalidToken, match="base64"):
        legacy.decrypt(altered)


def test_python_would_decode_a_stray_character_to_the_genuine_bytes() -> None:
    # Why the spelling is checked: without it, the test above would see these decrypt.
    genuine = token("newsletter")
    altered = NON_CANONICAL["stray character"](genuine)
    assert base64.urlsafe_b64decode(altered) == base64.urlsafe_b64decode(genuine)


@pytest.mark.parametrize(
    "plaintext",
    [b"", b"not json", b"\xff\xfe", b'{"a": 1}', b"[[], {}, 1]", b"[{}, []]", b"[" * 100_000],
    ids=["empty", "not JSON", "not UTF-8", "an object", "three items", "swapped", "deep"],
)
def test_a_genuine_box_around_something_else_is_refused(plaintext: bytes) -> None:
    with LEGACY, pytest.raises(InvalidToken):
        legacy.decrypt(seal(plaintext))


def test_a_custom_or_fernet_encoder_in_force_still_falls_back(
    client: Client, recorded: Recorded
) -> None:
    from tests.encoders import Base64Encoder

    with LEGACY:
        for encoder in (Base64Encoder, ptrack.FernetEncoder):
            ptrack.ptrack_encoder = encoder
            client.get(f"/ptrack/{token('kwargs only')}/")
    assert recorded.calls == [((), {"email_id": 1234567})] * 2


@pytest.mark.parametrize(
    ("until", "last", "first_refused"),
    [
        (
            date(2027, 6, 30),
            datetime(2027, 6, 30, 23, 59, 59, 999999, tzinfo=timezone.utc),
            datetime(2027, 7, 1, tzinfo=timezone.utc),
        ),
        (
            datetime(2027, 6, 30, 12, tzinfo=timezone(timedelta(hours=2))),
            datetime(2027, 6, 30, 9, 59, 59, 999999, tzinfo=timezone.utc),
            datetime(2027, 6, 30, 10, tzinfo=timezone.utc),
        ),
    ],
    ids=["a date: to the end of that day, UTC", "an aware datetime"],
)
def test_legacy_links_record_until_the_cutoff_then_log_at_info(
    client: Client,
    recorded: Recorded,
    caplog: pytest.LogCaptureFixture,
    until: date,
    last: datetime,
    first_refused: datetime,
) -> None:
    old = token("newsletter")
    with override_settings(PTRACK_LEGACY_SECRET=SECRET, PTRACK_LEGACY_UNTIL=until):
        with freeze_time(last):
            client.get(f"/ptrack/{old}/")
        assert recorded.calls == [(("newsletter",), {"user_id": 42})]
        with freeze_time(first_refused), caplog.at_level(logging.DEBUG, logger="ptrack"):
            client.get(f"/ptrack/{old}/")
            with pytest.raises(ExpiredToken) as info:
                legacy.decrypt(old)
            # New links are not affected by the cutoff.
            client.get(pixel_path("new"))
    assert info.value.expires_at == first_refused
    assert recorded.calls == [(("newsletter",), {"user_id": 42}), (("new",), {})]
    [record] = caplog.records
    assert record.levelname == "INFO"
    assert "expired" in record.getMessage()
    assert old[:40] in record.getMessage()


def test_the_last_date_there_is_never_closes_the_window(recorded: Recorded) -> None:
    with override_settings(PTRACK_LEGACY_SECRET=SECRET, PTRACK_LEGACY_UNTIL=date.max):
        assert tracking.track(token("newsletter")) is not None


def test_an_expired_new_link_is_not_retried_as_a_3x_link(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    with freeze_time(datetime(2026, 1, 1, tzinfo=timezone.utc)):
        expired = tokens.dumps(["n"], {}, max_age=60)
    tried: list[str] = []
    monkeypatch.setattr(legacy.Reader, "decode", lambda self, t: tried.append(t))
    with LEGACY, caplog.at_level(logging.DEBUG, logger="ptrack"):
        assert tracking.track(expired) is None
    assert tried == []
    assert [r.levelname for r in caplog.records] == ["INFO"]


def test_a_bad_token_logs_one_debug_line_naming_both_readings(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with LEGACY, caplog.at_level(logging.DEBUG, logger="ptrack"):
        assert tracking.track(mint("n", secret="another-3.x-secret")) is None
    [record] = caplog.records
    assert record.levelname == "DEBUG"
    assert "No '.' found in the token. As a django-ptrack 3.x link: Does not decrypt" in (
        record.getMessage()
    )


@pytest.mark.parametrize(
    ("settings", "reason"),
    [
        ({"PTRACK_LEGACY_SECRET": "x" * 33}, "at most 32 ASCII characters, not 33"),
        ({"PTRACK_LEGACY_SECRET": "é" * 20}, "not 20 characters in 40 bytes"),
        ({"PTRACK_LEGACY_SECRET": b"bytes"}, "ASCII characters, not bytes"),
        (
            {"PTRACK_LEGACY_SECRET": SECRET, "PTRACK_LEGACY_UNTIL": datetime(2027, 1, 1)},
            "should be aware, not the naive datetime.datetime(2027, 1, 1, 0, 0)",
        ),
        (
            {"PTRACK_LEGACY_SECRET": SECRET, "PTRACK_LEGACY_UNTIL": "2027-01-01"},
            "should be a date or datetime, not '2027-01-01'",
        ),
    ],
    ids=["too long", "not ASCII", "bytes", "naive cutoff", "cutoff as text"],
)
def test_a_misconfiguration_logs_one_error_and_the_endpoint_still_answers(
    send: Callable[[Bad, str], Any],
    recorded: Recorded,
    caplog: pytest.LogCaptureFixture,
    settings: dict[str, Any],
    reason: str,
) -> None:
    with override_settings(**settings), caplog.at_level(logging.ERROR, logger="ptrack"):
        for _ in range(3):
            load(send, token("newsletter"))
        load(send, pixel_path("new").split("/")[2])
    assert recorded.calls == [(("new",), {})]
    [record] = caplog.records
    assert "Links from django-ptrack 3.x are not read" in record.getMessage()
    assert reason in record.getMessage()


def test_without_pynacl_one_error_is_logged_and_the_endpoint_still_answers(
    client: Client,
    recorded: Recorded,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("nacl", "nacl.secret", "nacl.exceptions"):
        monkeypatch.setitem(sys.modules, name, None)  # import raises ImportError
    with LEGACY, caplog.at_level(logging.ERROR, logger="ptrack"):
        assert client.get(f"/ptrack/{token('newsletter')}/").status_code == 200
        assert client.get(f"/ptrack/{token('newsletter')}/").status_code == 200
    assert recorded.events == []
    [record] = caplog.records
    assert "nacl" in record.getMessage()


def test_tokens_over_the_cap_are_refused_before_any_decoding(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    decoded: list[int] = []
    real = base64.urlsafe_b64decode

    def spy(data: Any) -> bytes:
        decoded.append(len(data))
        return real(data)

    monkeypatch.setattr(base64, "urlsafe_b64decode", spy)
    genuine = token("newsletter")
    with LEGACY:
        for huge in (genuine + "A" * 10_000_000, "A" * 4097, "=" * 4097):
            assert tracking.verify(huge) is None
        assert decoded == []
        assert tracking.verify(genuine) is not None
        with override_settings(PTRACK_MAX_TOKEN_LENGTH=len(genuine) - 1):
            assert tracking.verify(genuine) is None
    assert decoded == [len(genuine)]


WORST_3X_INPUTS: dict[str, Callable[[], str]] = {
    "base64 at the cap": lambda: "A" * 4096,
    "a genuine box at the cap": lambda: seal(b"[" * 3000 + b"x" * (3071 - 40 - 3000)),
    "a genuine 3.x token, then ten megabytes": lambda: token("newsletter") + "A" * 10_000_000,
}


@pytest.mark.parametrize("make", WORST_3X_INPUTS.values(), ids=WORST_3X_INPUTS.keys())
def test_no_3x_shaped_input_takes_more_than_a_small_constant_memory(
    make: Callable[[], str],
) -> None:
    bad = make()
    assert len(bad) >= 4096
    with LEGACY:
        legacy.reader()  # built once per settings change, not per token
        tracemalloc.start()
        try:
            assert tracking.verify(bad) is None
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    # Never more than the cap's worth of base64 decoded, decrypted and parsed (about 70 KiB
    # for 3,000 nested lists): a megabyte-sized input would show here.
    assert peak < 256 * 1024


def test_legacy_decrypt_reads_old_urls_in_scripts() -> None:
    with LEGACY:
        for entry in TOKENS:
            if entry["secret"] == SECRET and entry["recorded_by_3x"]:
                if len(entry["token"]) > 4096:
                    continue
                assert list(legacy.decrypt(entry["token"])) == entry["recorded_by_3x"]


def test_a_load_of_a_3x_link_with_control_characters_in_the_context_logs_safely(
    recorded: Recorded, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken(ptrack.TrackingPixel):
        def record(self, *args: Any, **kwargs: Any) -> None:
            raise RuntimeError("broken")

    ptrack.tracker.register(Broken)
    try:
        with LEGACY, caplog.at_level(logging.DEBUG, logger="ptrack"):
            tracking.track(mint("n\r\nX", k="\x00\u2028"), RequestContext(user_agent="a\r\nb"))
            tracking.track(mint("n") + "\n")
    finally:
        ptrack.tracker.unregister(Broken)
    assert recorded.calls == [(("n\r\nX",), {"k": "\x00\u2028"})]
    assert [r.levelname for r in caplog.records] == ["ERROR", "DEBUG"]
    for record in caplog.records:
        message = record.getMessage()
        assert not [c for c in message if unicodedata.category(c) in ("Cc", "Zl", "Zp")], message


def test_a_background_recorder_gets_the_3x_event_through_a_task(client: Client) -> None:
    from ptrack import tasks

    seen: list[ptrack.PixelEvent] = []

    class Background(ptrack.TrackingPixel):
        background = True

        def record_event(self, event: ptrack.PixelEvent) -> None:
            seen.append(event)

    immediate = {"default": {"BACKEND": f"{tasks.FRAMEWORK}.backends.immediate.ImmediateBackend"}}
    ptrack.tracker.register(Background)
    try:
        with LEGACY, override_settings(TASKS=immediate):
            client.get(f"/ptrack/{token('newsletter')}/")
    finally:
        ptrack.tracker.unregister(Background)
    [event] = seen
    assert (event.args, dict(event.kwargs), event.legacy) == (
        ("newsletter",),
        {"user_id": 42},
        True,
    )


def test_a_3x_load_is_classified_without_the_machine_window() -> None:
    # 3.x links carry no issue time: a browser's load is a person's, however soon it comes.
    chrome = (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36"
    )
    with LEGACY:
        browser = tracking.verify(token("newsletter"), RequestContext(user_agent=chrome))
        mpp = tracking.verify(token("newsletter"), RequestContext(user_agent="Mozilla/5.0"))
    assert browser is not None
    assert mpp is not None
    assert browser.classification == ptrack.Classification(ptrack.Kind.HUMAN, "browser")
    assert mpp.classification == ptrack.Classification(
        ptrack.Kind.PRIVACY_PREFETCH, "apple_mpp_user_agent"
    )


@pytest.mark.parametrize(
    "plaintext",
    [b'[["n"], []]', b'[["n"], ["k", 1]]', b'[["n"], 3]', b'[["n"], null]', b'[["n"], "k"]'],
    ids=["empty list", "list", "number", "null", "string"],
)
def test_a_3x_payload_whose_kwargs_are_not_a_mapping_is_refused(plaintext: bytes) -> None:
    with LEGACY:
        with pytest.raises(InvalidToken, match=r"Payload is not \[args, kwargs\]"):
            legacy.decrypt(seal(plaintext))
        assert tracking.verify(seal(plaintext)) is None
