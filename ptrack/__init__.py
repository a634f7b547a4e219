"""django-ptrack: stateless, signed, expiring tracking pixels and click links for Django."""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

# Not part of the API: importing it gives the tracker the functions that run recorders.
from ptrack import dispatch as _dispatch  # noqa: F401
from ptrack.classifier import Classification, Kind, classify
from ptrack.consent import Consent
from ptrack.encoders import Encoder, FernetEncoder, SignedEncoder, get_encoder, set_encoder
from ptrack.events import EventType, PixelEvent
from ptrack.links import Pixel, build_img, build_link, build_url
from ptrack.registry import PixelTracker, TrackingPixel, tracker

__all__ = [
    "Classification",
    "Consent",
    "Encoder",
    "EventType",
    "FernetEncoder",
    "Kind",
    "Pixel",
    "PixelEvent",
    "PixelTracker",
    "SignedEncoder",
    "Tracking",
    "TrackingEmailBackend",
    "TrackingPixel",
    "build_img",
    "build_link",
    "build_url",
    "classify",
    "instrument_html",
    "instrument_message",
    "instrument_text",
    "ptrack_encoder",
    "track_message",
    "tracker",
    "withdrawal_url",
]

if TYPE_CHECKING:
    from ptrack.instrument import Tracking, instrument_html, instrument_text
    from ptrack.mail import TrackingEmailBackend, instrument_message, track_message
    from ptrack.withdrawal import withdrawal_url

    # The encoder in force, as in django-ptrack 3.x: ptrack.ptrack_encoder.encrypt(...).
    # An encoder assigned here is used by the tag and the view instead of
    # PTRACK_ENCODER; assigning None (set_encoder(None) in typed code) restores it.
    ptrack_encoder: type[Encoder]


# Imported on first use: a pixel server need not load the HTML tokenizer or Django's mail.
_LAZY = {
    "Tracking": "ptrack.instrument",
    "instrument_html": "ptrack.instrument",
    "instrument_text": "ptrack.instrument",
    "instrument_message": "ptrack.mail",
    "track_message": "ptrack.mail",
    "TrackingEmailBackend": "ptrack.mail",
    "withdrawal_url": "ptrack.withdrawal",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'ptrack' has no attribute {name!r}")
    return getattr(importlib.import_module(_LAZY[name]), name)


class _PtrackModule(types.ModuleType):
    """Lets ``ptrack.ptrack_encoder = MyEncoder`` take effect everywhere at once."""

    @property
    def ptrack_encoder(self) -> type[Encoder]:
        """The assigned encoder, else the class ``PTRACK_ENCODER`` names."""
        return get_encoder()

    @ptrack_encoder.setter
    def ptrack_encoder(self, encoder: type[Encoder] | None) -> None:
        set_encoder(encoder)


sys.modules[__name__].__class__ = _PtrackModule
