"""The built-in rules, in the order they decide, plus a site's own: ``Rules.classify()``.

The engine knows nothing of settings: ``ptrack.classifier.config`` builds it from
them. Rules run in a fixed order; the first that applies gives the kind and
names itself as the reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping

from ptrack.classifier import names, user_agents
from ptrack.classifier.kinds import _KIND_BY_VALUE, Classification, Kind
from ptrack.classifier.markers import FAMILIES
from ptrack.classifier.networks import EMPTY, NetworkSet, parse_address

_results: dict[tuple[Kind, str], Classification] = {}


def _verdict(kind: Kind, reason: str) -> Classification:
    # One shared immutable result per rule: no allocation on the request path.
    try:
        return _results[kind, reason]
    except KeyError:
        return _results.setdefault((kind, reason), Classification(kind, reason))


# The verdicts of the rules in Rules.classify(), made once: hashing an Enum member
# to find a shared verdict costs more than the rule that chose it.
_HEAD_REQUEST = _verdict(Kind.SECURITY_SCANNER, "head_request")
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
_LISTED_BOT = _verdict(Kind.BOT, "listed_bot")

# The verdict of each answer of user_agents.family() but a mail client's (every marker's
# reason, and the crawler's of a contact address), made once: a Kind's hash is a call into
# Python, which _verdict() pays on every lookup.
_FAMILY_VERDICTS = {
    (name, reason): _verdict(_KIND_BY_VALUE[name], reason)
    for name, markers in FAMILIES
    if name in _KIND_BY_VALUE
    for reason in markers.reasons.values()
}

# X-Sec-Purpose is what Turbo (hotwired/turbo) sends when it fetches a same-site
# link on hover, before any click: a tracked link in a Turbo page gets one.
_PREFETCH_HEADERS = frozenset({"sec-purpose", "purpose", "x-purpose", "x-moz", "x-sec-purpose"})
_PREFETCH_VALUES = ("prefetch", "preview", "prerender")


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
        self.mpp = user_agents.bare_mozilla(lowered)
        self.mail_client = self.browser = self.stale = False
        self.machine = _NO_MACHINE_SIGNAL
        if not lowered:
            self.decided = _NO_USER_AGENT
            return
        found, rest = user_agents.family_and_rest(lowered)
        if found is not None and found[0] != "mail_client":
            self.decided = _FAMILY_VERDICTS[found]
            return
        self.mail_client = found is not None or user_agents.apple_mail_webview(lowered)
        if not self.mail_client:
            self.browser = user_agents.browser_shaped(lowered)
            self.stale = user_agents.stale_desktop_browser(lowered)
            if not (self.browser or self.stale or self.mpp):
                shape = user_agents.machine_shape(lowered)
                if shape is not None:
                    self.machine = _verdict(Kind.BOT, shape)
            # A name from the public bot lists outweighs a browser's shape, and its age.
            if self.machine is _NO_MACHINE_SIGNAL and not self.mpp and names.listed(rest):
                self.decided = _LISTED_BOT


_MEMO_SIZE = 4096

# A client address parsed, and the verdict of the first network set holding it.
_AddressFacts = tuple[tuple[int, int] | None, Classification | None]
_NO_ADDRESS: _AddressFacts = (None, None)


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
        self._addresses: dict[str, _AddressFacts] = {}

    def _facts(self, ua: str) -> _UAFacts:
        facts = self._memo.get(ua)
        if facts is None:
            if len(self._memo) >= _MEMO_SIZE:
                self._memo.clear()
            facts = self._memo[ua] = _UAFacts(ua)
        return facts

    def _address(self, ip: str) -> _AddressFacts:
        # Kept per address string, as User-Agents are: parsing it and searching
        # the network sets cost more than the rest of a load's classification,
        # and a reader loading several pixels, or a proxy, comes from one address.
        facts = self._addresses.get(ip)
        if facts is None:
            if len(self._addresses) >= _MEMO_SIZE:
                self._addresses.clear()
            address = parse_address(ip)
            verdict = None
            if address is not None:
                for networks in self._networks:
                    found = networks.find(*address)
                    if found is not None:
                        verdict = _verdict(_KIND_BY_VALUE[found[0]], found[1])
                        break
            facts = self._addresses[ip] = (address, verdict)
        return facts

    def _head(self, user_agent: str) -> Classification:
        # Mail security products check a link with HEAD (civicrm-core#35328, Safe Links in
        # SergeyMosin/Appointments#293); no client showing an image sends one. An agent
        # that names itself a bot keeps that verdict.
        facts = self._facts(user_agent)
        decided = facts.decided
        if decided is not None and decided.kind is Kind.BOT and decided is not _NO_USER_AGENT:
            return decided
        if facts.machine is not _NO_MACHINE_SIGNAL and not facts.mail_client:
            return facts.machine
        return _HEAD_REQUEST

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
            return self._head(user_agent) if method == "HEAD" else _NOT_GET
        if headers and _prefetch_header(headers):
            return _PREFETCH_HEADER
        facts = self._facts(user_agent)
        if facts.decided is not None and facts.decided.kind is Kind.MAIL_PROXY:
            return facts.decided
        address, network = self._address(ip) if ip else _NO_ADDRESS
        if network is not None:
            return network
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
