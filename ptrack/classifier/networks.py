"""Sets of IP networks, looked up by address in logarithmic time.

Apple's iCloud Private Relay egress list alone has hundreds of thousands of
prefixes, so a set keeps its ranges as sorted, non-overlapping integer
intervals in compact arrays and answers a lookup with one binary search,
instead of testing each network in turn.
"""

from __future__ import annotations

import ipaddress
import socket
from array import array
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

_V6_MAPPED_V4 = 0xFFFF << 32


@dataclass(frozen=True, slots=True)
class Network:
    """One entry of a network list: a prefix, what it tells, and why."""

    version: int  # 4 or 6
    first: int  # the prefix's lowest address, as an integer
    last: int  # its highest address
    prefixlen: int
    kind: str  # the classification a request from it gets, e.g. "security_scanner"
    label: str  # the rule name recorded as the reason, e.g. "microsoft_eop"

    @classmethod
    def parse(cls, prefix: str, kind: str, label: str, *, source: str) -> Network:
        """The network ``prefix`` (``"192.0.2.0/24"``, ``"2001:db8::/32"``, or one address).

        Host bits are ignored, as ``ipaddress.ip_network(strict=False)`` does;
        anything else raises ``ValueError`` naming ``source`` and the text.
        """
        address, slash, length = prefix.strip().partition("/")
        try:
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            value = int.from_bytes(socket.inet_pton(family, address), "big")
            bits = 128 if family == socket.AF_INET6 else 32
            size = int(length) if slash else bits
            if not (length.isdigit() or not slash) or not 0 <= size <= bits:
                raise ValueError(length)
        except (OSError, ValueError):
            raise ValueError(f"{source}: {prefix!r} is not an IP network prefix.") from None
        host = (1 << (bits - size)) - 1
        first = value & ~host
        return cls(4 if bits == 32 else 6, first, first | host, size, kind, label)

    def __str__(self) -> str:
        address = (
            ipaddress.ip_address(self.first)
            if self.version == 4
            else ipaddress.IPv6Address(self.first)
        )
        return f"{address}/{self.prefixlen}"


def parse_address(ip: str) -> tuple[int, int] | None:
    """``(version, integer)`` for an IPv4 or IPv6 address string; ``None`` if it is not one.

    An IPv4-mapped IPv6 address (``::ffff:192.0.2.1``) counts as its IPv4
    address, as dual-stack servers report IPv4 clients that way.
    """
    try:
        if ":" in ip:
            value = int.from_bytes(socket.inet_pton(socket.AF_INET6, ip.partition("%")[0]), "big")
            if value >> 32 == 0xFFFF:
                return 4, value & 0xFFFFFFFF
            return 6, value
        return 4, int.from_bytes(socket.inet_pton(socket.AF_INET, ip), "big")
    except (OSError, ValueError, TypeError):
        return None


class _Ranges:
    """Disjoint ``[start, end]`` integer intervals with a label index each."""

    __slots__ = ("ends", "labels", "starts")

    def __init__(self, typecode: str) -> None:
        self.starts: array[int] | list[int] = array(typecode) if typecode else []
        self.ends: array[int] | list[int] = array(typecode) if typecode else []
        self.labels = array("H")

    def build(self, intervals: list[tuple[int, int, int]]) -> None:
        # Earlier entries win where ranges overlap: sort stably by start, then
        # keep only the part of each range that no kept range already covers.
        intervals.sort(key=lambda item: item[0])
        starts, ends, labels = self.starts, self.ends, self.labels
        for start, end, label in intervals:
            if ends and start <= ends[-1]:
                if end <= ends[-1]:
                    continue
                start = ends[-1] + 1
            if ends and start == ends[-1] + 1 and labels[-1] == label:
                ends[-1] = end  # adjacent, same label: one range
                continue
            starts.append(start)
            ends.append(end)
            labels.append(label)

    def find(self, value: int) -> int:
        i = bisect_right(self.starts, value) - 1
        if i >= 0 and value <= self.ends[i]:
            return self.labels[i]
        return -1

    def __len__(self) -> int:
        return len(self.starts)


class NetworkSet:
    """An immutable set of labelled networks; ``lookup(ip)`` gives the first that holds it.

    Where two entries overlap, the one given first wins for the shared part.
    IPv6 prefixes up to /64 are kept on their top 64 bits in machine-word
    arrays (every Private Relay prefix is one); longer ones in a small list.
    """

    def __init__(self, networks: Iterable[Network]) -> None:
        self._entries: list[tuple[str, str]] = []
        index: dict[tuple[str, str], int] = {}
        v4: list[tuple[int, int, int]] = []
        v6_short: list[tuple[int, int, int]] = []
        v6_long: list[tuple[int, int, int]] = []
        for entry in networks:
            key = (entry.kind, entry.label)
            label = index.get(key)
            if label is None:
                label = index[key] = len(self._entries)
                self._entries.append(key)
            start, end = entry.first, entry.last
            if entry.version == 4:
                v4.append((start, end, label))
            elif entry.prefixlen <= 64:
                v6_short.append((start >> 64, end >> 64, label))
            else:
                v6_long.append((start, end, label))
        if len(self._entries) > 0xFFFF:
            raise ValueError("A NetworkSet holds at most 65535 distinct (kind, label) pairs.")
        self._v4 = _Ranges("I" if array("I").itemsize >= 4 else "L")
        self._v4.build(v4)
        self._v6 = _Ranges("Q")
        self._v6.build(v6_short)
        self._v6_long = _Ranges("")
        self._v6_long.build(v6_long)

    def lookup(self, ip: str | None) -> tuple[str, str] | None:
        """The ``(kind, label)`` of the network holding ``ip``, or ``None``."""
        parsed = parse_address(ip) if ip else None
        return None if parsed is None else self.find(*parsed)

    def find(self, version: int, value: int) -> tuple[str, str] | None:
        """``lookup()`` for an address already parsed by ``parse_address()``."""
        if version == 4:
            found = self._v4.find(value)
        else:
            found = self._v6_long.find(value) if len(self._v6_long) else -1
            if found < 0:
                found = self._v6.find(value >> 64)
        return self._entries[found] if found >= 0 else None

    def __contains__(self, ip: object) -> bool:
        return isinstance(ip, str) and self.lookup(ip) is not None

    def __len__(self) -> int:
        """The number of disjoint ranges kept (adjacent ranges of one label are merged)."""
        return len(self._v4) + len(self._v6) + len(self._v6_long)


EMPTY = NetworkSet(())


def parse_network_lines(lines: Iterable[str], *, source: str) -> Iterator[Network]:
    """Entries from lines of ``<prefix> <kind> <label>``; ``#`` starts a comment.

    Raises ``ValueError`` naming ``source`` and the line for anything else, so
    a typo in a shipped or site list is found when it is loaded, not ignored.
    """
    for number, raw in enumerate(lines, 1):
        line = raw.partition("#")[0].strip()
        if not line:
            continue
        fields = line.split()
        if len(fields) != 3:
            raise ValueError(
                f"{source}, line {number}: expected '<prefix> <kind> <label>', not {raw.strip()!r}."
            )
        yield Network.parse(fields[0], fields[1], fields[2], source=f"{source}, line {number}")


def parse_egress_csv(lines: Iterable[str], *, kind: str, label: str) -> Iterator[Network]:
    """Networks from Apple's egress list (RFC 8805 geofeed: ``prefix,country,region,city,``).

    Lines that are blank or comments are skipped; a first field that is not
    a prefix raises ``ValueError`` naming the line.
    """
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        prefix = line.partition(",")[0]
        yield Network.parse(prefix, kind, label, source=f"egress list, line {number}")
