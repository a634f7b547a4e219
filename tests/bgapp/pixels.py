"""A background recorder for the worker tests: one JSON line per event."""

from __future__ import annotations

import json
import os

from django.conf import settings

import ptrack


@ptrack.tracker.register
class SinkRecorder(ptrack.TrackingPixel):
    background = True

    def record_event(self, event: ptrack.PixelEvent) -> None:
        line = json.dumps({**event.to_dict(), "pid": os.getpid()}) + "\n"
        # One write() of an O_APPEND file: lines from several workers never interleave.
        fd = os.open(settings.PTRACK_TEST_SINK, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)
