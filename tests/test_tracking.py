"""The pipeline's entry points called directly, as a front end of one's own would."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from asgiref.sync import async_to_sync

import ptrack
from ptrack import tracking
from ptrack.events import EventType
from ptrack.tracking import RequestContext, request_context
from tests.conftest import pixel_path


class _Clicks(ptrack.TrackingPixel):
    event_types = frozenset({EventType.LOADED, EventType.CLICKED})
    events: list[ptrack.PixelEvent] = []  # noqa: RUF012 - reset by each test

    def record_event(self, event: ptrack.PixelEvent) -> None:
        self.events.append(event)


@pytest.fixture
def clicks(register: Any) -> list[ptrack.PixelEvent]:
    _Clicks.events = []
    register(_Clicks)
    return _Clicks.events


def test_without_a_context_every_entry_point_records_an_empty_one(
    clicks: list[ptrack.PixelEvent],
) -> None:
    pixel = pixel_path("n").split("/")[2]
    link = urlsplit(ptrack.Pixel("n").link("https://www.example.com/")).path.split("/")[3]
    assert tracking.track(pixel) is not None
    assert async_to_sync(tracking.atrack)(pixel) is not None
    assert tracking.track_click(link) == "https://www.example.com/"
    assert async_to_sync(tracking.atrack_click)(link) == "https://www.example.com/"
    assert [e.event_type for e in clicks] == [EventType.LOADED] * 2 + [EventType.CLICKED] * 2
    assert {(e.ip, e.user_agent, e.referer) for e in clicks} == {(None, "", "")}


def test_a_context_is_immutable_and_built_from_a_wsgi_environ() -> None:
    context = request_context(
        {"REMOTE_ADDR": "", "HTTP_USER_AGENT": "Mail/1.0", "HTTP_DNT": "1", "HTTP_X_OTHER": "x"}
    )
    assert context == RequestContext(None, "Mail/1.0", "", {"DNT": "1"})
    assert RequestContext() == RequestContext(None, "", "", {})
    with pytest.raises(AttributeError):
        context.ip = "192.0.2.1"  # type: ignore[misc]
    assert tracking.new_context((None, "Mail/1.0", "", {"DNT": "1"})) == context
