from __future__ import annotations

import io
import logging
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient, Client, override_settings
from django.urls import get_resolver, reverse
from freezegun import freeze_time
from PIL import Image

import ptrack
from ptrack.answers import PIXEL_GIF
from tests.conftest import Recorded, pixel_path
from tests.fronts import assert_pixel
from tests.testapp import pixels


def test_pixel_is_a_transparent_1x1_gif() -> None:
    image = Image.open(io.BytesIO(PIXEL_GIF))
    assert (image.format, image.size) == ("GIF", (1, 1))
    assert image.convert("RGBA").getpixel((0, 0))[3] == 0


def test_valid_pixel_records_args_and_kwargs_exactly(client: Client, recorded: Recorded) -> None:
    kwargs = {"user_id": 42, "variant": "b", "odd": "[][]]", "money": "$%^&", "n": None}
    response = client.get(pixel_path("newsletter", 1.5, [1, {"a": True}], **kwargs))
    assert_pixel(response)
    assert recorded.calls == [(("newsletter", 1.5, [1, {"a": True}]), kwargs)]


def test_autodiscovered_recorder_uses_record(client: Client) -> None:
    client.get(pixel_path("newsletter", user_id=42))
    assert pixels.calls == [(("newsletter",), {"user_id": 42})]


def test_event_carries_the_context_of_the_load(client: Client, recorded: Recorded) -> None:
    issued = datetime(2026, 5, 1, 8, 0, tzinfo=timezone.utc)
    with freeze_time(issued):
        url = ptrack.Pixel("n", user_id=1).url(expires=timedelta(days=7))
    with freeze_time(issued + timedelta(hours=3)):
        client.get(
            urlsplit(url).path,
            HTTP_USER_AGENT="Mozilla/5.0 (test)",
            HTTP_REFERER="https://mail.example.net/inbox",
            REMOTE_ADDR="203.0.113.9",
        )
    [event] = recorded.events
    assert event.event_type == ptrack.EventType.LOADED
    assert event.timestamp == issued + timedelta(hours=3)
    assert event.issued_at == issued
    assert event.expires_at == issued + timedelta(days=7)
    assert (event.ip, event.user_agent, event.referer) == (
        "203.0.113.9",
        "Mozilla/5.0 (test)",
        "https://mail.example.net/inbox",
    )
    assert event.token == urlsplit(url).path.split("/")[2]


def test_missing_headers_give_empty_context(recorded: Recorded) -> None:
    Client(REMOTE_ADDR="").get(pixel_path("n"))
    [event] = recorded.events
    assert (event.ip, event.user_agent, event.referer) == (None, "", "")


def test_head_answers_headers_without_body_and_records_nothing(
    client: Client, recorded: Recorded
) -> None:
    assert_pixel(client.head(pixel_path("n")), body=b"")
    assert recorded.events == []


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete", "options", "trace"])
def test_other_methods_are_not_allowed(client: Client, recorded: Recorded, method: str) -> None:
    response = getattr(client, method)(pixel_path("n"))
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"
    assert recorded.events == []


def test_post_is_405_even_with_csrf_enforced(recorded: Recorded) -> None:
    response = Client(enforce_csrf_checks=True).post(pixel_path("n"))
    assert response.status_code == 405


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "W10.aaaa.bbbb",
        "....",
        "%00%0a",
        "é" * 10,
        "A" * 5000,
        "a/b/c",
    ],
)
def test_invalid_tokens_answer_the_pixel_and_record_nothing(
    client: Client, recorded: Recorded, token: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="ptrack"):
        assert_pixel(client.get(f"/ptrack/{token}/"))
    assert recorded.events == []
    assert pixels.calls == []
    assert [r.levelname for r in caplog.records] == ["DEBUG"]
    assert "Ignored invalid pixel token" in caplog.records[0].getMessage()


def test_logs_quote_at_most_80_characters_of_a_token(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    issued = datetime(2026, 5, 1, 8, 0, tzinfo=timezone.utc)
    with freeze_time(issued):
        expired = urlsplit(ptrack.Pixel("x" * 300).url(expires=60)).path.split("/")[2]
    invalid = "Q" * 3000

    class Raises(ptrack.SignedEncoder):
        @classmethod
        def decode(cls, token: str) -> Any:
            raise KeyError("encoder bug")

    with caplog.at_level(logging.DEBUG, logger="ptrack"):
        client.get(f"/ptrack/{invalid}/")
        with freeze_time(issued + timedelta(seconds=61)):
            client.get(f"/ptrack/{expired}/")
        ptrack.ptrack_encoder = Raises
        client.get(f"/ptrack/{invalid}/")
    messages = [record.getMessage() for record in caplog.records]
    assert [record.levelname for record in caplog.records] == ["DEBUG", "INFO", "ERROR"]
    for message, token in zip(messages, [invalid, expired, invalid], strict=True):
        assert repr(token[:80]) in message
        assert token[:81] not in message


def test_log_escapes_control_characters(client: Client, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="ptrack"):
        client.get("/ptrack/abc%0AINFO%20forged%20line/")
    assert "\n" not in caplog.records[0].getMessage()
    assert "abc\\nINFO" in caplog.records[0].getMessage()


def test_expired_link_answers_pixel_records_nothing_and_logs_info(
    client: Client, recorded: Recorded, caplog: pytest.LogCaptureFixture
) -> None:
    issued = datetime(2026, 5, 1, 8, 0, tzinfo=timezone.utc)
    with freeze_time(issued):
        path = urlsplit(ptrack.Pixel("n").url(expires=60)).path
    with (
        freeze_time(issued + timedelta(seconds=61)),
        caplog.at_level(logging.DEBUG, logger="ptrack"),
    ):
        assert_pixel(client.get(path))
    assert recorded.events == []
    [record] = caplog.records
    assert record.levelname == "INFO"
    assert "expired pixel link (issued 2026-05-01 08:00:00+00:00" in record.getMessage()


@pytest.mark.parametrize("server", ["wsgi", "asgi"])
@pytest.mark.parametrize("timeout", [None, 5])
def test_failing_recorder_is_logged_and_the_ones_after_it_still_run(
    recorded: Recorded, caplog: pytest.LogCaptureFixture, server: str, timeout: float | None
) -> None:
    after: list[tuple[Any, ...]] = []

    class Broken(ptrack.TrackingPixel):
        def record(self, *args: Any, **kwargs: Any) -> None:
            raise RuntimeError("database is down")

    class After(ptrack.TrackingPixel):
        def record(self, *args: Any, **kwargs: Any) -> None:
            after.append(args)

    # Registered after the autodiscovered recorder and `recorded`, before After.
    ptrack.tracker.register(Broken)
    ptrack.tracker.register(After)
    try:
        with (
            caplog.at_level(logging.ERROR, logger="ptrack"),
            override_settings(PTRACK_RECORDER_TIMEOUT=timeout),
        ):
            if server == "wsgi":
                response = Client().get(pixel_path("n", user_id=3))
            else:

                async def load() -> Any:
                    return await AsyncClient().get(pixel_path("n", user_id=3))

                response = async_to_sync(load)()
    finally:
        ptrack.tracker.unregister(Broken)
        ptrack.tracker.unregister(After)
    assert_pixel(response)
    assert recorded.calls == [(("n",), {"user_id": 3})]
    assert pixels.calls == [(("n",), {"user_id": 3})]
    assert after == [("n",)]
    [record] = caplog.records
    assert "Broken failed on pixel event" in record.getMessage()
    assert "'user_id': 3" in record.getMessage()
    assert record.exc_info is not None
    assert "database is down" in str(record.exc_info[1])


def test_no_cookie_or_vary_cookie_even_with_session_in_use(client: Client) -> None:
    client.cookies["sessionid"] = "whatever"
    client.cookies["csrftoken"] = "x" * 32
    response = client.get(pixel_path("n"))
    assert_pixel(response)


@override_settings(ROOT_URLCONF="tests.urls_re_path")
def test_re_path_include_spelling(client: Client, recorded: Recorded) -> None:
    url = ptrack.Pixel("re", n=1).url()
    assert url.startswith("https://track.example.com/pixels/")
    assert_pixel(client.get(urlsplit(url).path))
    assert recorded.calls == [(("re",), {"n": 1})]


def test_reverse_with_legacy_kwarg_name() -> None:
    assert reverse("ptrack", kwargs={"ptrack_encoded_data": "abc"}) == "/ptrack/abc/"


def test_asgi_records_and_answers(recorded: Recorded) -> None:
    path = pixel_path("asgi", k=[1, 2])

    async def load() -> list[Any]:
        client = AsyncClient()
        return [
            await client.get(path, headers={"user-agent": "async"}),
            await client.head(path),
            await client.get("/ptrack/forged/"),
        ]

    valid, head, forged = async_to_sync(load)()
    assert_pixel(valid)
    assert_pixel(head, body=b"")
    assert_pixel(forged)
    assert recorded.calls == [(("asgi",), {"k": [1, 2]})]
    assert recorded.events[0].user_agent == "async"


@pytest.mark.parametrize("method", ["get", "head"])
def test_headers_are_what_django_would_set_and_each_response_owns_them(
    client: Client, method: str
) -> None:
    from django.http import HttpResponse

    from ptrack.answers import PIXEL_HEADERS as SENT

    expected = dict(HttpResponse(content_type="image/gif", headers=SENT).items())
    first = getattr(client, method)(pixel_path("n"))
    assert {name: first[name] for name in expected} == expected
    first["X-Changed"] = "1"
    first["Cache-Control"] = "public"
    second = getattr(client, method)(pixel_path("n"))
    assert {name: second[name] for name in expected} == expected
    assert "X-Changed" not in second


def test_pixels_are_resolved_by_the_first_pattern_tried() -> None:
    # The most frequent request should fail no other pattern before its own.
    patterns = get_resolver("ptrack.urls").url_patterns
    assert patterns[0].name == "ptrack"
    pixel = ptrack.Pixel("n").url().split("/ptrack/")[1]
    assert patterns[0].resolve(pixel) is not None
    assert patterns[0].resolve("c/" + pixel) is None


def _responses() -> list[Any]:
    """One response of every kind the views give, made by the views themselves."""
    from django.test import RequestFactory

    from ptrack import views

    factory = RequestFactory()
    token = ptrack.Pixel("n").url().rstrip("/").rpartition("/")[2]
    link = ptrack.Pixel("n").link("https://example.com/a").rstrip("/").rpartition("/")[2]
    return [
        views.pixel(factory.get("/"), token),
        views.pixel(factory.head("/"), token),
        views.pixel(factory.post("/"), token),
        views.click(factory.get("/"), link),
        views.click(factory.head("/"), link),
        views.click(factory.get("/"), "forged"),
        views.click(factory.head("/"), "forged"),
    ]


def _state(response: Any) -> dict[str, Any]:
    state = dict(vars(response))
    state["headers"] = list(state["headers"].items())
    state["cookies"] = dict(state["cookies"])
    return state


@pytest.mark.django_db
def test_responses_are_what_the_constructor_makes_and_each_owns_its_parts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The views start each response as a copy of one Django's constructor made;
    # Django's own way must give the same response, attribute for attribute.
    from django.http import HttpResponse

    from ptrack import views

    assert None not in views._PREPARED.values()  # the copies are in use on this Django
    copied, again = _responses(), _responses()
    monkeypatch.setattr(views, "_PREPARED", dict.fromkeys(views._PREPARED))
    constructed = _responses()
    assert [type(r) for r in copied] == [HttpResponse] * len(constructed)
    assert [_state(r) for r in copied] == [_state(r) for r in constructed]
    assert [r.status_code for r in copied] == [200, 200, 405, 302, 302, 404, 404]
    for one, other in zip(copied, again, strict=True):
        for name, value in vars(one).items():
            if not isinstance(value, (type(None), bool, int, str, bytes)):
                assert value is not vars(other)[name], name
    copied[0].set_cookie("seen", "1")
    copied[0]["X-Changed"] = "1"
    assert not again[0].cookies
    assert "X-Changed" not in again[0]
