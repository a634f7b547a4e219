"""Who loaded a pixel: a person, a mail provider's proxy, a privacy pre-fetch, a scanner, a bot.

``classify()`` decides from the request alone (User-Agent, a few headers, the
method, the client network, and how long after the link was issued), with
rules in a fixed order; the first that applies gives the kind and names
itself as the reason. Only ``human`` and ``mail_proxy`` count as opens: a
provider's image proxy fetches because a person is viewing the mail.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import Enum
from importlib import resources
from typing import Any, Protocol

from django.utils.module_loading import import_string

from ptrack.classifier import rules
from ptrack.classifier.networks import (
    EMPTY,
    Network,
    NetworkSet,
    parse_address,
    parse_egress_csv,
    parse_network_lines,
)
from ptrack.conf import cached, conf

logger = logging.getLogger("ptrack")


class Kind(str, Enum):
    """Who fetched the pixel; each member is its string value."""

    HUMAN = "human"
    MAIL_PROXY = "mail_proxy"
    PRIVACY_PREFETCH = "privacy_prefetch"
    SECURITY_SCANNER = "security_scanner"
    BOT = "bot"

    def __str__(self) -> str:
        return self.value


KINDS: frozenset[str] = frozenset(kind.value for kind in Kind)
# Kind(value) by a dict: the Enum's own lookup costs several times more.
_KIND_BY_VALUE: dict[str, Kind] = {kind.value: kind for kind in Kind}
OPEN_KINDS: frozenset[Kind] = frozenset({Kind.HUMAN, Kind.MAIL_PROXY})


@dataclass(frozen=True, slots=True)
class Classification:
    """The verdict on one load: its kind and the name of the rule that decided."""

    kind: Kind  # who fetched the pixel
    reason: str  # short, stable rule name, e.g. "gmail_image_proxy"

    @property
    def counts_as_open(self) -> bool:
        """True for a person, directly or through their provider's image proxy."""
        return self.kind in OPEN_KINDS

    def to_dict(self) -> dict[str, str]:
        """``{"kind": ..., "reason": ...}``, as ``PixelEvent.to_dict()`` carries it."""
        return {"kind": self.kind.value, "reason": self.reason}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Classification:
        """The classification ``to_dict()`` gave."""
        return cls(Kind(data["kind"]), str(data["reason"]))


def admitted(kinds: Collection[str] | None, classification: Classification | None) -> bool:
    """Whether a filter on ``kinds`` (``None``: every kind) lets an event so classified
    through; an event the classifier could not judge always passes."""
    return kinds is None or classification is None or classification.kind in kinds


class Classifier(Protocol):
    """The signature ``PTRACK_CLASSIFIER`` must name."""

    def __call__(
        self,
        user_agent: str,
        headers: Mapping[str, str],
        ip: str | None,
        *,
        method: str = "GET",
        seconds_since_issued: float | None = None,
    ) -> Classification: ...


_results: dict[tuple[Kind, str], Classification] = {}


def _verdict(kind: Kind, reason: str) -> Classification:
    # One shared immutable result per rule: no allocation on the request path.
    try:
        return _results[kind, reason]
    except KeyError:
        return _results.setdefault((kind, reason), Classification(kind, reason))


# The verdicts of the rules in Rules.classify(), made once: hashing an Enum member
# to find a shared verdict costs more than the rule that chose it.
_HEAD_REQUEST = _verdict(Kind.BOT, "head_request")
_NOT_GET = _verdict(Kind.BOT, "not_get")
_PREFETCH_HEADER = _verdict(Kind.PRIVACY_PREFETCH, "prefetch_header")
_MPP_RELAY = _verdict(Kind.PRIVACY_PREFETCH, "apple_mpp_relay")
_MPP_USER_AGENT = _verdict(Kind.PRIVACY_PREFETCH, "apple_mpp_user_agent")
_STALE_BROWSER = _verdict(Kind.SECURITY_SCANNER, "stale_browser")
_MAIL_CLIENT = _verdict(Kind.HUMAN, "mail_client")
_NO_MACHINE_SIGNAL = _verdict(Kind.HUMAN, "no_machine_signal")
_WITHIN_MACHINE_WINDOW = _verdict(Kind.SECURITY_SCANNER, "within_machine_window")
_BROWSER = _verdict(Kind.HUMAN, "browser")
_NO_USER_AGENT = _verdict(Kind.BOT, "no_user_agent")

_PREFETCH_HEADERS = frozenset({"sec-purpose", "purpose", "x-purpose", "x-moz"})
_PREFETCH_VALUES = ("prefetch", "preview", "prerender")
_PRIVATE_RELAY_RECHECK_SECONDS = 60.0


def _prefetch_header(headers: Mapping[str, str]) -> bool:
    for name, value in headers.items():
        if name.lower() in _PREFETCH_HEADERS:
            value = value.lower()
            if any(marker in value for marker in _PREFETCH_VALUES):
                return True
    return False


class _UAFacts:
    """What the built-in rules read from one User-Agent, kept per distinct string."""

    __slots__ = ("browser", "decided", "machine", "mail_client", "mpp", "stale")

    def __init__(self, ua: str) -> None:
        lowered = ua.strip().lower()
        self.decided: Classification | None = None
        self.mpp = rules.bare_mozilla(lowered)
        self.mail_client = self.browser = self.stale = False
        self.machine = _NO_MACHINE_SIGNAL
        if not lowered:
            self.decided = _NO_USER_AGENT
            return
        found = rules.family(lowered)
        if found is not None and found[0] != "mail_client":
            self.decided = _verdict(_KIND_BY_VALUE[found[0]], found[1])
            return
        self.mail_client = found is not None or rules.apple_mail_webview(lowered)
        if not self.mail_client:
            self.browser = rules.browser_shaped(lowered)
            self.stale = rules.stale_desktop_browser(lowered)
            if not (self.browser or self.stale or self.mpp):
                shape = rules.machine_shape(lowered)
                if shape is not None:
                    self.machine = _verdict(Kind.BOT, shape)


_MEMO_SIZE = 4096


class Rules:
    """The built-in rules plus a site's own, ready to classify requests.

    Built once per settings (``active_rules()``); what it learns about a User-Agent
    string is kept for the next load that sends the same one.
    """

    def __init__(
        self,
        *,
        extra_rules: Iterable[tuple[str, str, str]] = (),
        extra_networks: NetworkSet = EMPTY,
        vendor_networks: NetworkSet = EMPTY,
        private_relay: Callable[[], NetworkSet] = lambda: EMPTY,
        machine_window: float = 0.0,
    ) -> None:
        self.extra_rules = [
            (re.compile(pattern, re.IGNORECASE), _verdict(Kind(kind), reason))
            for pattern, kind, reason in extra_rules
        ]
        self.extra_networks = extra_networks
        self.vendor_networks = vendor_networks
        # The site's networks first; empty sets are left out of every lookup.
        self._networks = tuple(n for n in (extra_networks, vendor_networks) if len(n))
        self.private_relay = private_relay
        self.machine_window = machine_window
        self._memo: dict[str, _UAFacts] = {}

    def _facts(self, ua: str) -> _UAFacts:
        facts = self._memo.get(ua)
        if facts is None:
            if len(self._memo) >= _MEMO_SIZE:
                self._memo.clear()
            facts = self._memo[ua] = _UAFacts(ua)
        return facts

    def classify(
        self,
        user_agent: str,
        headers: Mapping[str, str],
        ip: str | None,
        *,
        method: str = "GET",
        seconds_since_issued: float | None = None,
    ) -> Classification:
        for pattern, verdict in self.extra_rules:
            if pattern.search(user_agent):
                return verdict
        if method != "GET":
            return _HEAD_REQUEST if method == "HEAD" else _NOT_GET
        if headers and _prefetch_header(headers):
            return _PREFETCH_HEADER
        facts = self._facts(user_agent)
        if facts.decided is not None and facts.decided.kind is Kind.MAIL_PROXY:
            return facts.decided
        address = parse_address(ip) if ip else None
        if address is not None:
            for networks in self._networks:
                found = networks.find(*address)
                if found is not None:
                    return _verdict(_KIND_BY_VALUE[found[0]], found[1])
        if facts.decided is not None:
            return facts.decided
        if facts.mpp:
            relay = self.private_relay()
            if address is not None and relay and relay.find(*address) is not None:
                return _MPP_RELAY
            return _MPP_USER_AGENT
        if facts.stale:
            return _STALE_BROWSER
        if facts.mail_client:
            return _MAIL_CLIENT
        if not facts.browser:
            return facts.machine  # a machine's shape, or no_machine_signal
        if seconds_since_issued is not None and seconds_since_issued < self.machine_window:
            return _WITHIN_MACHINE_WINDOW
        return _BROWSER


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
