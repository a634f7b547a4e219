"""The network lists the classifier reads: the vendors' networks ptrack ships, and
Apple's iCloud Private Relay egress list a site downloads."""

from __future__ import annotations

import functools
import logging
import os
import time
from collections.abc import Iterable, Iterator
from importlib import resources

from ptrack.classifier.kinds import Kind
from ptrack.classifier.networks import (
    EMPTY,
    Network,
    NetworkSet,
    parse_egress_csv,
    parse_network_lines,
)

logger = logging.getLogger("ptrack")

_PRIVATE_RELAY_RECHECK_SECONDS = 60.0


@functools.cache
def vendor_networks() -> NetworkSet:
    """The networks shipped in ``ptrack/classifier/data/vendor-networks.txt``."""
    text = resources.files("ptrack.classifier").joinpath("data/vendor-networks.txt")
    lines = text.read_text(encoding="utf-8").splitlines()
    return NetworkSet(parse_network_lines(lines, source=str(text)))


def private_relay_networks(lines: Iterable[str]) -> Iterator[Network]:
    """The prefixes of Apple's egress list (its CSV's lines), as the classifier labels them."""
    return parse_egress_csv(lines, kind=Kind.PRIVACY_PREFETCH.value, label="icloud_private_relay")


def load_private_relay(path: str) -> NetworkSet:
    """Apple's egress list from ``path`` (the CSV Apple publishes) as a network set."""
    with open(path, encoding="utf-8") as lines:
        return NetworkSet(private_relay_networks(lines))


class _PrivateRelay:
    """The egress list a site points ``PTRACK_PRIVATE_RELAY_FILE`` at, reloaded when it changes.

    A missing or unreadable file is logged once and treated as empty: the
    pixel must answer whatever state the file is in.
    """

    def __init__(self, path: str | None) -> None:
        self.path = path
        self.networks = EMPTY
        self.loaded_mtime: int | None = None
        self.checked_at = float("-inf")

    def __call__(self) -> NetworkSet:
        if self.path is None:
            return EMPTY
        now = time.monotonic()
        if now - self.checked_at >= _PRIVATE_RELAY_RECHECK_SECONDS:
            self.checked_at = now
            self._reload()
        return self.networks

    def _reload(self) -> None:
        path = self.path or ""
        try:
            mtime = os.stat(path).st_mtime_ns
            if mtime != self.loaded_mtime:
                self.networks = load_private_relay(path)
                self.loaded_mtime = mtime
        except (OSError, ValueError) as e:
            if self.loaded_mtime != -1:
                logger.warning("PTRACK_PRIVATE_RELAY_FILE %r is not usable: %s", self.path, e)
            self.loaded_mtime = -1
