from __future__ import annotations

import pytest

from ptrack.privacy import anonymize_ip, opted_out


@pytest.mark.parametrize(
    ("ip", "expected"),
    [
        ("203.0.113.77", "203.0.113.0"),
        ("2001:db8:abcd:12:1:2:3:4", "2001:db8:abcd::"),
        ("::ffff:198.51.100.9", "198.51.100.0"),
        ("fe80::1%eth0", "fe80::"),
        (" 192.0.2.1 ", "192.0.2.0"),
        ("not an address", None),
        ("", None),
        (None, None),
    ],
)
def test_anonymize_ip(ip: str | None, expected: str | None) -> None:
    assert anonymize_ip(ip) == expected


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Sec-GPC": "1"}, True),
        ({"sec-gpc": " 1 "}, True),
        ({"DNT": "1"}, True),
        ({"Dnt": "0"}, False),
        ({"Sec-GPC": "0", "DNT": "unset"}, False),
        ({"X-Other": "1"}, False),
        ({}, False),
    ],
)
def test_opted_out(headers: dict[str, str], expected: bool) -> None:
    assert opted_out(headers) is expected


@pytest.mark.parametrize(
    ("ip", "expected"),
    [
        ("203.0.113.200", "203.0.113.0"),
        ("198.51.100.255", "198.51.100.0"),
        ("::ffff:192.0.2.129", "192.0.2.0"),
    ],
)
def test_ipv4_anonymization_keeps_the_24_whatever_the_last_octet(ip: str, expected: str) -> None:
    assert anonymize_ip(ip) == expected
