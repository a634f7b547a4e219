"""Privacy switches a site may turn on: honouring opt-out signals, anonymizing addresses."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping

from ptrack.classifier.networks import parse_address

_OPT_OUT_HEADERS = frozenset({"sec-gpc", "dnt"})


def opted_out(headers: Mapping[str, str]) -> bool:
    """True when the request carries ``Sec-GPC: 1`` (Global Privacy Control) or ``DNT: 1``.

    Header names may come in any case.
    """
    for name, value in headers.items():
        if name.lower() in _OPT_OUT_HEADERS and value.strip() == "1":
            return True
    return False


def anonymize_ip(ip: str | None) -> str | None:
    """The address with its host part zeroed: IPv4 to its /24, IPv6 to its /48, as Matomo does.

    An IPv4-mapped IPv6 address is treated as the IPv4 address it carries.
    Anything that is not an address gives ``None``, so nothing identifying
    slips through when the switch is on.
    """
    if not ip:
        return None
    parsed = parse_address(ip.strip().partition("%")[0])
    if parsed is None:
        return None
    version, value = parsed
    if version == 4:
        return str(ipaddress.IPv4Address(value & ~0xFF))
    return str(ipaddress.IPv6Address(value & ~((1 << 80) - 1)))
