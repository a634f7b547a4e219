from __future__ import annotations

import ipaddress
import re
from importlib import resources

import pytest
from django.test import override_settings
from hypothesis import given, settings
from hypothesis import strategies as st

from ptrack import Classification, Kind, classify
from ptrack.classifier import load_private_relay, vendor_networks
from ptrack.classifier.networks import (
    Network,
    NetworkSet,
    parse_address,
    parse_egress_csv,
    parse_network_lines,
)


def net(prefix: str, kind: str = "bot", label: str = "x") -> Network:
    return Network.parse(prefix, kind, label, source="test")


def test_lookup_finds_the_holding_network_in_both_families() -> None:
    networks = NetworkSet(
        [
            net("192.0.2.0/24", label="a"),
            net("2001:db8:1::5/128", label="c"),
            net("2001:db8::/32", label="b"),
        ]
    )
    assert networks.lookup("192.0.2.255") == ("bot", "a")
    assert networks.lookup("192.0.3.0") is None
    assert networks.lookup("2001:db8:ffff::1") == ("bot", "b")
    assert networks.lookup("2001:db8:1::5") == ("bot", "c")
    assert networks.lookup("2001:db8:1::6") == ("bot", "b")
    assert networks.lookup("::ffff:192.0.2.1") == ("bot", "a")
    assert networks.lookup("fe80::1%eth0") is None
    assert networks.lookup(None) is None
    assert "192.0.2.7" in networks
    assert 42 not in networks


def test_the_earlier_entry_wins_where_entries_overlap() -> None:
    networks = NetworkSet(
        [
            net("10.0.0.0/24", label="narrow"),
            net("10.0.0.0/8", label="wide"),
            net("10.0.0.128/25", label="inner"),
        ]
    )
    assert networks.lookup("10.0.0.200") == ("bot", "narrow")
    assert networks.lookup("10.0.1.1") == ("bot", "wide")
    assert networks.lookup("10.255.255.255") == ("bot", "wide")


def test_adjacent_ranges_of_one_label_are_kept_as_one() -> None:
    networks = NetworkSet([net("10.0.0.0/25"), net("10.0.0.128/25"), net("10.0.1.0/24", label="y")])
    assert len(networks) == 2
    assert networks.lookup("10.0.0.130") == ("bot", "x")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("192.0.2.1", (4, 0xC0000201)),
        ("::1", (6, 1)),
        ("::ffff:0.0.0.1", (4, 1)),
        ("x", None),
        ("1.2.3", None),
    ],
)
def test_parse_address(text: str, expected: tuple[int, int] | None) -> None:
    assert parse_address(text) == expected


def test_network_lines_and_their_errors() -> None:
    lines = ["# comment", "", "192.0.2.0/24 bot example  # trailing", "2001:db8::/32 human other"]
    assert [(str(n), n.kind, n.label) for n in parse_network_lines(lines, source="f")] == [
        ("192.0.2.0/24", "bot", "example"),
        ("2001:db8::/32", "human", "other"),
    ]
    with pytest.raises(
        ValueError, match=r"f, line 1: expected '<prefix> <kind> <label>', not '192.0.2.0/24 bot'"
    ):
        list(parse_network_lines(["192.0.2.0/24 bot"], source="f"))
    with pytest.raises(ValueError, match=r"f, line 1: '300.0.0.0/8' is not an IP network prefix"):
        list(parse_network_lines(["300.0.0.0/8 bot x"], source="f"))


def test_egress_csv_takes_the_first_column() -> None:
    lines = [
        "172.224.226.0/27,US,US-CA,Los Angeles,",
        "",
        "# note",
        "2a02:26f7:b3c0:4000::/64,CA,CA-QC,Montreal,",
    ]
    networks = list(parse_egress_csv(lines, kind="privacy_prefetch", label="relay"))
    assert [str(n) for n in networks] == ["172.224.226.0/27", "2a02:26f7:b3c0:4000::/64"]
    with pytest.raises(ValueError, match="egress list, line 2"):
        list(parse_egress_csv(["172.224.226.0/27,US,,,", "city,US,,,"], kind="bot", label="x"))


def test_the_shipped_vendor_list_parses_and_names_its_vendors() -> None:
    ips = (
        "40.92.0.1",
        "52.100.0.1",
        "23.103.208.1",
        "209.222.82.1",
        "170.10.133.1",
        "185.58.85.1",
        "158.51.64.1",
        "162.55.72.200",
    )
    labels = {vendor_networks().lookup(ip) for ip in ips}
    assert labels == {
        ("security_scanner", "microsoft_eop"),
        ("security_scanner", "barracuda_egd"),
        ("security_scanner", "mimecast"),
        ("security_scanner", "cloudflare_email_security"),
        ("security_scanner", "seppmail_cloud"),
    }


def _shipped_blocks() -> list[list[str]]:
    """The vendor list as blocks of lines separated by blank lines."""
    text = resources.files("ptrack.classifier").joinpath("data/vendor-networks.txt").read_text()
    blocks: list[list[str]] = [[]]
    for line in text.splitlines():
        if line.strip():
            blocks[-1].append(line)
        elif blocks[-1]:
            blocks.append([])
    return [block for block in blocks if block]


def test_every_shipped_entry_is_a_prefix_a_known_kind_and_a_label() -> None:
    from ptrack.classifier import KINDS

    entries = [line for block in _shipped_blocks() for line in block if not line.startswith("#")]
    assert len(entries) >= 21
    for line in entries:
        prefix, kind, label = line.split()  # no trailing comment, nothing missing
        assert str(Network.parse(prefix, kind, label, source="test")) == prefix
        assert kind in KINDS
        assert label.isidentifier(), line
        assert label.islower(), line


def test_every_block_of_shipped_entries_names_its_source_and_one_vendor() -> None:
    blocks = [b for b in _shipped_blocks() if any(not line.startswith("#") for line in b)]
    assert len(blocks) >= 3
    for block in blocks:
        comment = " ".join(line for line in block if line.startswith("#"))
        assert "Source:" in comment, block[0]
        assert re.search(r"read \d{4}-\d{2}-\d{2}", comment), block[0]
        assert len({line.split()[2] for line in block if not line.startswith("#")}) == 1


def test_shipped_entries_do_not_overlap() -> None:
    text = resources.files("ptrack.classifier").joinpath("data/vendor-networks.txt").read_text()
    entries = list(parse_network_lines(text.splitlines(), source="vendor-networks.txt"))
    for i, a in enumerate(entries):
        for b in entries[i + 1 :]:
            assert a.version != b.version or a.last < b.first or b.last < a.first, (a, b)


def test_load_private_relay(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "egress.csv"
    path.write_text("172.224.226.0/27,US,US-CA,Los Angeles,\n")
    assert load_private_relay(str(path)).lookup("172.224.226.31") == (
        "privacy_prefetch",
        "icloud_private_relay",
    )


def test_too_many_distinct_labels_are_refused() -> None:
    with pytest.raises(ValueError, match="65535"):
        NetworkSet(net(f"10.{i // 256}.{i % 256}.0/24", label=str(i)) for i in range(65536))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("192.0.2.77/24", "192.0.2.0/24"),
        ("192.0.2.77", "192.0.2.77/32"),
        ("2001:db8::1/32", "2001:db8::/32"),
        ("0.0.0.0/0", "0.0.0.0/0"),
    ],
)
def test_network_parse_drops_host_bits(text: str, expected: str) -> None:
    assert str(Network.parse(text, "bot", "x", source="s")) == expected


@pytest.mark.parametrize(
    "text", ["192.0.2.0/33", "192.0.2.0/", "192.0.2.0/+8", "2001:db8::/129", "x/8", "192.0.2.0/a"]
)
def test_network_parse_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="is not an IP network prefix"):
        Network.parse(text, "bot", "x", source="s")


def test_an_earlier_entry_wins_over_a_later_one_that_starts_lower_and_covers_it() -> None:
    networks = NetworkSet([net("10.1.0.0/16", label="office"), net("10.0.0.0/8", label="gateway")])
    assert networks.lookup("10.1.2.3") == ("bot", "office")
    assert networks.lookup("10.1.255.255") == ("bot", "office")
    assert networks.lookup("10.0.255.255") == ("bot", "gateway")
    assert networks.lookup("10.2.0.0") == ("bot", "gateway")


@override_settings(
    PTRACK_EXTRA_NETWORKS=[
        ("10.1.0.0/16", "human", "office"),
        ("10.0.0.0/8", "security_scanner", "gateway"),
    ]
)
def test_an_earlier_site_network_wins_over_a_later_wider_one() -> None:
    assert classify("curl/8.5.0", {}, "10.1.2.3") == Classification(Kind.HUMAN, "office")
    assert classify("curl/8.5.0", {}, "10.2.0.1") == Classification(
        Kind.SECURITY_SCANNER, "gateway"
    )


def test_an_ipv6_entry_longer_than_64_bits_does_not_beat_an_earlier_shorter_one() -> None:
    networks = NetworkSet(
        [
            net("2001:db8::/32", label="wide"),
            net("2001:db8::5/128", label="host"),
            net("2001:db8:1::/96", label="part"),
            net("2001:db9::8/125", label="early"),
            net("2001:db9:0:5:ffff::/80", label="middle"),
            net("2001:db9::/48", label="late"),
        ]
    )
    assert networks.lookup("2001:db8::5") == ("bot", "wide")
    assert networks.lookup("2001:db8:1::1") == ("bot", "wide")
    assert networks.lookup("2001:db9::9") == ("bot", "early")
    assert networks.lookup("2001:db9::7") == ("bot", "late")
    assert networks.lookup("2001:db9::10") == ("bot", "late")
    assert networks.lookup("2001:db9:0:1::") == ("bot", "late")
    assert networks.lookup("2001:db9:0:5:ffff::1") == ("bot", "middle")
    assert networks.lookup("2001:db9:0:5:fffe:ffff:ffff:ffff") == ("bot", "late")
    assert networks.lookup("2001:db9:0:6::") == ("bot", "late")
    assert networks.lookup("2001:db9:1::") is None


def _first_holding(
    entries: list[Network], address: ipaddress.IPv4Address | ipaddress.IPv6Address
) -> tuple[str, str] | None:
    """The reference: a linear scan, the first entry holding ``address`` wins."""
    for entry in entries:
        if address in ipaddress.ip_network(str(entry)):
            return entry.kind, entry.label
    return None


def _networks_near(base: int, bits: int, lengths: st.SearchStrategy[int]) -> st.SearchStrategy[str]:
    family = ipaddress.IPv4Address if bits == 32 else ipaddress.IPv6Address
    return st.builds(
        lambda offset, length: f"{family(base + offset)}/{length}",
        st.integers(0, (1 << (bits - 24 if bits == 32 else bits - 62)) - 1),
        lengths,
    )


# Small windows (a /24, four /64s), so that entries nest and overlap often;
# IPv6 lengths on both sides of /64, where the set keeps ranges two ways.
_V4_PREFIXES = _networks_near(0x0A000000, 32, st.integers(22, 32))
_V6_PREFIXES = _networks_near(0x20010DB8 << 96, 128, st.integers(60, 128))


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.one_of(_V4_PREFIXES, _V6_PREFIXES), st.sampled_from(["a", "b", "c", "d"])),
        max_size=12,
    ),
    st.lists(st.one_of(st.integers(0, 1 << 10), st.integers(0, 1 << 66)), max_size=8),
)
def test_lookup_agrees_with_a_first_entry_wins_scan(
    given_entries: list[tuple[str, str]], offsets: list[int]
) -> None:
    entries = [net(prefix, label=label) for prefix, label in given_entries]
    networks = NetworkSet(entries)
    addresses: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = []
    for entry in entries:
        found = ipaddress.ip_network(str(entry))
        top = 1 << found.max_prefixlen
        for value in (int(found[0]) - 1, int(found[0]), int(found[-1]), int(found[-1]) + 1):
            if 0 <= value < top:
                addresses.append(
                    ipaddress.ip_address(value) if top == 1 << 32 else ipaddress.IPv6Address(value)
                )
    addresses += [ipaddress.IPv4Address(0x0A000000 + (o & 0x3FF)) for o in offsets]
    addresses += [ipaddress.IPv6Address((0x20010DB8 << 96) + o) for o in offsets]
    for address in addresses:
        assert networks.lookup(str(address)) == _first_holding(entries, address), address


def test_an_ipv6_zone_is_left_out_of_the_lookup() -> None:
    networks = NetworkSet([net("fe80::/10", label="link_local")])
    assert parse_address("fe80::1%eth0") == (6, 0xFE80 << 112 | 1)
    assert networks.lookup("fe80::1%eth0") == ("bot", "link_local")
    assert networks.lookup("fe80::abcd%25") == ("bot", "link_local")
