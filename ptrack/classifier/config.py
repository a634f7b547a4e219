"""The classifier the settings configure: ``classify()`` with the rules built from the
``PTRACK_*`` settings, and the callable ``PTRACK_CLASSIFIER`` names."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any

from django.utils.module_loading import import_string

from ptrack.classifier.engine import Rules
from ptrack.classifier.kinds import KINDS, Classification, Classifier
from ptrack.classifier.networks import EMPTY, Network, NetworkSet
from ptrack.classifier.sources import _PrivateRelay, vendor_networks
from ptrack.conf import cached, conf

logger = logging.getLogger("ptrack")


def classify(
    user_agent: str,
    headers: Mapping[str, str],
    ip: str | None,
    *,
    method: str = "GET",
    seconds_since_issued: float | None = None,
) -> Classification:
    """Classify one pixel load; never raises for any request a client can send.

    ``headers`` maps header names (any case) to values; ``ip`` is the client
    address or ``None``; ``seconds_since_issued`` is the time from the link
    being signed to the load, when known.
    """
    return active_rules().classify(
        user_agent or "",
        headers,
        ip,
        method=method,
        seconds_since_issued=seconds_since_issued,
    )


@cached
def active_rules() -> Rules:
    """The rules for the current settings (rebuilt when a ``PTRACK_`` setting changes).

    A setting the system checks reject is logged and left out rather than
    raised: the pixel answers whatever the configuration.
    """
    try:
        networks = NetworkSet(extra_networks(conf.EXTRA_NETWORKS))
    except (TypeError, ValueError) as e:
        logger.error("PTRACK_EXTRA_NETWORKS ignored: %s", e)
        networks = EMPTY
    try:
        site_rules = extra_rules(conf.EXTRA_RULES)
    except (TypeError, ValueError, re.error) as e:
        logger.error("PTRACK_EXTRA_RULES ignored: %s", e)
        site_rules = []
    window = conf.MACHINE_WINDOW
    return Rules(
        extra_rules=site_rules,
        extra_networks=networks,
        vendor_networks=vendor_networks(),
        private_relay=_PrivateRelay(str(conf.PRIVATE_RELAY_FILE or "") or None),
        machine_window=float(window) if isinstance(window, (int, float)) else 0.0,
    )


@cached
def get_classifier() -> Classifier:
    """The callable ``PTRACK_CLASSIFIER`` names (``ptrack.classify`` by default)."""
    return import_string(conf.CLASSIFIER)  # type: ignore[no-any-return]


@cached
def load_classifier() -> Classifier:
    """What classifies each load: ``get_classifier()``, or for ptrack's own ``classify``
    the current rules' method, one call layer less on every load."""
    found = get_classifier()
    return active_rules().classify if found is classify else found


def extra_rules(entries: Iterable[Any]) -> list[tuple[str, str, str]]:
    """``PTRACK_EXTRA_RULES`` entries, checked; ``ValueError`` or ``re.error`` names a bad one."""
    checked = []
    for entry in entries:
        if not (isinstance(entry, (list, tuple)) and len(entry) == 3):
            raise ValueError(f"expected (pattern, kind, reason), not {entry!r}")
        pattern, kind, reason = entry
        if not isinstance(pattern, str) or kind not in KINDS or not _is_name(reason):
            raise ValueError(f"expected (pattern, kind, reason), not {entry!r}")
        re.compile(pattern)
        checked.append((pattern, kind, reason))
    return checked


def _is_name(reason: object) -> bool:
    return isinstance(reason, str) and bool(reason) and reason.strip() == reason


def extra_networks(entries: Iterable[Any]) -> list[Network]:
    """``PTRACK_EXTRA_NETWORKS`` entries as networks; ``ValueError`` names a bad one."""
    networks = []
    for entry in entries:
        if not (isinstance(entry, (list, tuple)) and len(entry) == 3):
            raise ValueError(f"expected (prefix, kind, reason), not {entry!r}")
        prefix, kind, reason = entry
        if kind not in KINDS or not _is_name(reason):
            raise ValueError(f"expected (prefix, kind, reason), not {entry!r}")
        networks.append(Network.parse(str(prefix), kind, reason, source=repr(entry)))
    return networks
