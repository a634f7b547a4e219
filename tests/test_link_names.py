"""A click link's name: which link of its email was followed, carried to the event."""

from __future__ import annotations

from datetime import datetime, timezone
from urllib.parse import urlsplit

import pytest
from django.test import Client

import ptrack
from ptrack import clicks, tokens
from ptrack.events import EventType
from ptrack.exceptions import PixelValueError

DEST = "https://www.example.com/pricing"


def _token(url: str) -> str:
    return urlsplit(url).path.split("/")[3]


def test_the_click_event_carries_the_link_name(
    client: Client, clicks_recorded: list[ptrack.PixelEvent]
) -> None:
    url = ptrack.Pixel("n", user_id=42).link(DEST, name="hero-button")

    response = client.get(urlsplit(url).path)

    assert response.status_code == 302
    assert response["Location"] == DEST
    [event] = clicks_recorded
    assert (event.link_name, event.destination) == ("hero-button", DEST)
    assert (event.args, dict(event.kwargs)) == (("n",), {"user_id": 42})


def test_the_name_travels_in_the_mark_so_the_link_data_keeps_every_name() -> None:
    decoded = tokens.loads(_token(ptrack.build_link(DEST, ["n"], {"name": "x"}, name="footer")))
    assert decoded.args == ([clicks.MARK, DEST, "footer"], "n")
    assert decoded.kwargs == {"name": "x"}


def test_an_unnamed_link_is_the_same_token_as_before_names() -> None:
    decoded = tokens.loads(_token(ptrack.Pixel("n").link(DEST)))
    assert decoded.args == ([clicks.MARK, DEST], "n")


def test_a_name_that_is_no_str_is_refused_naming_it() -> None:
    with pytest.raises(PixelValueError, match=r"name=3 should be a str"):
        ptrack.Pixel("n").link(DEST, name=3)  # type: ignore[arg-type]


def test_link_name_round_trips_through_a_dict() -> None:
    event = ptrack.PixelEvent(
        event_type=EventType.CLICKED,
        args=("n",),
        timestamp=datetime(2026, 1, 1, tzinfo=timezone.utc),
        destination=DEST,
        link_name="2",
    )
    data = event.to_dict()
    assert data["link_name"] == "2"
    assert ptrack.PixelEvent.from_dict(data) == event
    del data["link_name"]  # an event enqueued before link names existed
    assert ptrack.PixelEvent.from_dict(data).link_name == ""
