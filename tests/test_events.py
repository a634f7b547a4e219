from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timedelta, timezone

import pytest
from freezegun import freeze_time as freeze_time_at

import ptrack

T = datetime(2026, 4, 1, 9, 30, 15, 123456, tzinfo=timezone.utc)


def make_event(**changes: object) -> ptrack.PixelEvent:
    values: dict[str, object] = {
        "event_type": ptrack.EventType.LOADED,
        "args": ["campaign", 3],
        "kwargs": {"user_id": 42, "meta": {"a": [1, None]}},
        "timestamp": T,
        "issued_at": T - timedelta(days=2),
        "expires_at": T + timedelta(days=28),
        "ip": "2001:db8::1",
        "user_agent": "Mozilla/5.0",
        "referer": "",
        "token": "abc.def.ghi",
    }
    values.update(changes)
    return ptrack.PixelEvent(**values)  # type: ignore[arg-type]


def test_event_round_trips_through_json() -> None:
    event = make_event()
    again = ptrack.PixelEvent.from_dict(json.loads(json.dumps(event.to_dict())))
    assert again == event
    assert again.timestamp.tzinfo is not None
    assert again.args == ("campaign", 3)


def test_event_without_issue_time_round_trips() -> None:
    event = make_event(issued_at=None, expires_at=None, ip=None)
    assert ptrack.PixelEvent.from_dict(event.to_dict()) == event


def test_event_is_immutable() -> None:
    event = make_event()
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.ip = "1.2.3.4"  # type: ignore[misc]
    with pytest.raises(TypeError):
        event.kwargs["user_id"] = 1  # type: ignore[index]
    assert isinstance(event.args, tuple)


def test_event_does_not_share_the_callers_dict() -> None:
    kwargs = {"a": 1}
    event = make_event(kwargs=kwargs)
    kwargs["a"] = 2
    assert event.kwargs["a"] == 1


def test_loaded_event_is_the_dataclass_made_the_usual_way() -> None:
    from ptrack import tracking
    from ptrack.links import Pixel

    with freeze_time_at(T):
        token = Pixel("campaign", [3], user_id=42).url().rstrip("/").rpartition("/")[2]
        event = tracking.verify(
            token, tracking.RequestContext(ip="192.0.2.1", user_agent="UA", referer="r")
        )
    assert event is not None
    expected = ptrack.PixelEvent(
        event_type=ptrack.EventType.LOADED,
        args=["campaign", [3]],
        kwargs={"user_id": 42},
        timestamp=T,
        issued_at=T.replace(microsecond=0),
        expires_at=None,
        ip="192.0.2.1",
        user_agent="UA",
        referer="r",
        token=token,
        classification=ptrack.Classification(ptrack.Kind.BOT, "lone_product"),
    )
    assert event == expected
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.ip = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        event.kwargs["user_id"] = 1  # type: ignore[index]


def test_a_click_naming_everything_is_the_dataclass_made_the_usual_way() -> None:
    # Events are filled slot by slot for speed: every field, the click's and the
    # recipient's included, must come out as the constructor would set it.
    from ptrack import tracking
    from ptrack.links import Pixel

    at = T.replace(microsecond=0)
    with freeze_time_at(at):
        url = Pixel("campaign", user_id=42).link(
            "https://example.com/a",
            name="cta",
            recipient="sub-1",
            campaign="spring",
            message="m-1",
            expires=timedelta(days=3),
        )
        token = url.rstrip("/").rpartition("/")[2]
        destination, event = tracking.verify_click(
            token, tracking.RequestContext(ip="192.0.2.1", user_agent="UA", referer="r")
        )
    assert destination == "https://example.com/a"
    assert event is not None
    expected = ptrack.PixelEvent(
        event_type=ptrack.EventType.CLICKED,
        args=["campaign"],
        kwargs={"user_id": 42},
        timestamp=at,
        issued_at=at,
        expires_at=at + timedelta(days=3),
        ip="192.0.2.1",
        user_agent="UA",
        referer="r",
        token=token,
        destination="https://example.com/a",
        link_name="cta",
        classification=ptrack.Classification(ptrack.Kind.BOT, "lone_product"),
        recipient="sub-1",
        campaign="spring",
        message="m-1",
    )
    assert type(event) is ptrack.PixelEvent
    assert event == expected
    assert event.to_dict() == expected.to_dict()
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.destination = "x"  # type: ignore[misc]
