from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import ptrack
from ptrack.exceptions import PtrackRegistrationError
from tests.testapp.pixels import DiscoveredRecorder

REPO = Path(__file__).resolve().parent.parent


class Good(ptrack.TrackingPixel):
    def record(self, *args: Any, **kwargs: Any) -> None:
        pass


def test_register_returns_the_class_and_works_as_decorator() -> None:
    tracker = ptrack.PixelTracker()
    assert tracker.register(Good) is Good
    assert tracker.is_registered(Good)
    assert [type(r) for r in tracker.recorders] == [Good]

    @tracker.register
    class Decorated(ptrack.TrackingPixel):
        def record_event(self, event: ptrack.PixelEvent) -> None:
            pass

    assert tracker.is_registered(Decorated)
    tracker.unregister(Good)
    assert not tracker.is_registered(Good)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (Good(), r"Only classes can be registered as recorders; <.*Good object.*> is a Good"),
        ("myapp.pixels.Good", r"Only classes .* 'myapp.pixels.Good' is a str"),
        (dict, r"dict is not a subclass of ptrack.TrackingPixel"),
        (ptrack.TrackingPixel, r"TrackingPixel overrides neither record\(\) nor record_event"),
    ],
)
def test_register_refuses_wrong_types(value: Any, message: str) -> None:
    with pytest.raises(PtrackRegistrationError, match=message):
        ptrack.PixelTracker().register(value)


def test_register_refuses_duplicates() -> None:
    tracker = ptrack.PixelTracker()
    tracker.register(Good)
    with pytest.raises(
        PtrackRegistrationError, match=r"tests.test_registry.Good is already registered"
    ):
        tracker.register(Good)


def test_unregister_unknown_class() -> None:
    with pytest.raises(PtrackRegistrationError, match="Good is not registered"):
        ptrack.PixelTracker().unregister(Good)


def test_plain_app_name_autodiscovers_pixels_modules() -> None:
    assert ptrack.tracker.is_registered(DiscoveredRecorder)


def _registered_with(app: str) -> list[str]:
    script = textwrap.dedent(
        f"""
        import django
        from django.conf import settings
        settings.configure(
            INSTALLED_APPS=[{app!r}, "tests.testapp"],
            SECRET_KEY="x" * 50,
            PTRACK_APP_URL="https://t.example.com",
        )
        django.setup()
        import ptrack
        print([type(r).__name__ for r in ptrack.tracker.recorders])
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return eval(out.stdout)  # type: ignore[no-any-return]


def test_app_configs_with_and_without_autodiscovery() -> None:
    assert _registered_with("ptrack") == ["DiscoveredRecorder"]
    assert _registered_with("ptrack.apps.PtrackConfig") == ["DiscoveredRecorder"]
    assert _registered_with("ptrack.apps.SimplePtrackConfig") == []
