"""Found by autodiscovery, as a site's own pixels.py is."""

from __future__ import annotations

from typing import Any

import ptrack

calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []


@ptrack.tracker.register
class DiscoveredRecorder(ptrack.TrackingPixel):
    def record(self, *args: Any, **kwargs: Any) -> None:
        calls.append((args, kwargs))
