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
from heapq import heappop, heappush

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


def _first_wins(intervals: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """Disjoint ``(start, end, label)`` pieces, in address order, of ``intervals``.

    Each address keeps the label of the first interval (in the given order)
    that holds it, whatever their starts and sizes: a sweep up the addresses
    with a heap of the intervals open there, keyed by their position. An
    interval that meets no other (most of a long list) skips the heap.
    Adjacent pieces of one label come out as one.
    """
    starts = [start for start, _, _ in intervals]
    order = sorted(range(len(intervals)), key=starts.__getitem__)  # stable: ties keep their order
    pieces: list[tuple[int, int, int]] = []
    open_: list[tuple[int, int, int]] = []  # (position given, end, label)
    j, count, at = 0, len(order), 0
    while j < count or open_:
        if not open_:
            i = order[j]
            at, end, label = intervals[i]
            j += 1
            if j == count or starts[order[j]] > end:
                _add(pieces, at, end, label)
                continue
            heappush(open_, (i, end, label))
        while j < count and starts[order[j]] <= at:
            i = order[j]
            heappush(open_, (i, intervals[i][1], intervals[i][2]))
            j += 1
        _, end, label = open_[0]
        if j < count:
            end = min(end, starts[order[j]] - 1)
        _add(pieces, at, end, label)
        at = end + 1
        while open_ and open_[0][1] < at:
            heappop(open_)
    return pieces


def _add(pieces: list[tuple[int, int, int]], start: int, end: int, label: int) -> None:
    """Append a piece, as part of the last one if it continues it with the same label."""
    if pieces and pieces[-1][1] + 1 == start and pieces[-1][2] == label:
        pieces[-1] = (pieces[-1][0], end, label)
    else:
        pieces.append((start, end, label))


class _Ranges:
    """Disjoint ``[start, end]`` integer intervals, in order, with a label index each."""

    __slots__ = ("ends", "labels", "starts")

    def __init__(self, typecode: str) -> None:
        self.starts: array[int] | list[int] = array(typecode) if typecode else []
        self.ends: array[int] | list[int] = array(typecode) if typecode else []
        self.labels = array("H")

    def append(self, start: int, end: int, label: int) -> None:
        """Add a range after the last one."""
        self.starts.append(start)
        self.ends.append(end)
        self.labels.append(label)

    def find(self, value: int) -> int:
        i = bisect_right(self.starts, value) - 1
        if i >= 0 and value <= self.ends[i]:
            return self.labels[i]
        return -1

    def __len__(self) -> int:
        return len(self.starts)


_LOW_64 = (1 << 64) - 1


class NetworkSet:
    """An immutable set of labelled networks; ``lookup(ip)`` gives the first that holds it.

    Where two entries overlap, the one given first wins for the shared part;
    overlaps are resolved once, when the set is built, into disjoint ranges
    that a lookup finds with one binary search. IPv6 ranges are kept on their
    top 64 bits in machine-word arrays where they cover whole /64s (every
    Private Relay prefix does); the ragged ends of longer prefixes in a small
    list.
    """

    def __init__(self, networks: Iterable[Network]) -> None:
        self._entries: list[tuple[str, str]] = []
        index: dict[tuple[str, str], int] = {}
        v4: list[tuple[int, int, int]] = []
        v6: list[tuple[int, int, int]] = []
        for entry in networks:
            key = (entry.kind, entry.label)
            label = index.get(key)
            if label is None:
                label = index[key] = len(self._entries)
                self._entries.append(key)
            (v4 if entry.version == 4 else v6).append((entry.first, entry.last, label))
        if len(self._entries) > 0xFFFF:
            raise ValueError("A NetworkSet holds at most 65535 distinct (kind, label) pairs.")
        self._v4 = _Ranges("I" if array("I").itemsize >= 4 else "L")
        for start, end, label in _first_wins(v4):
            self._v4.append(start, end, label)
        self._v6 = _Ranges("Q")
        self._v6_long = _Ranges("")
        for start, end, label in _first_wins(v6):
            # The whole /64s inside [start, end] go to the word arrays, the rest
            # (only near a prefix longer than /64) to the small list.
            top, bottom = -(-start >> 64), (end + 1) >> 64
            if top >= bottom:
                self._v6_long.append(start, end, label)
                continue
            if start & _LOW_64:
                self._v6_long.append(start, (top << 64) - 1, label)
            self._v6.append(top, bottom - 1, label)
            if (end + 1) & _LOW_64:
                self._v6_long.append(bottom << 64, end, label)

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
