"""ptrack.urlcheck: the one absolute-URL check behind E002, E036, E022 and click destinations."""

from __future__ import annotations

from typing import Any

import pytest

from ptrack import urlcheck

UNSAFE = "contains a control character, a space or a backslash"
NON_ASCII = (
    "contains non-ASCII characters; percent-encode the path and query, and give the host in "
    "its IDNA (xn--) form"
)


@pytest.mark.parametrize("strict", [True, False])
@pytest.mark.parametrize(
    ("url", "reason"),
    [
        (None, "is a NoneType, not a str"),
        (b"https://a.example/", "is a bytes, not a str"),
        ("https://[oops/", "has a malformed host"),
        ("http://[12345::]/", "has a malformed host"),
        # Refused alike on every Python, whatever its urlsplit() lets through.
        ("http://[1.2.3.4]/", "has a malformed host"),
        ("http://[v1.fe]/", "has a malformed host"),
        ("http://[::1]junk/", "has a malformed host"),
        ("http://[fe80::1%25eth0]/", "has a malformed host"),
        ("http://a[b]c/", "has a malformed host"),
        ("http://user@[::1:/", "has a malformed host"),
        ("ftp://a.example/", "is not an absolute http:// or https:// URL"),
        ("/relative", "is not an absolute http:// or https:// URL"),
        ("https:///path", "has no host"),
    ],
)
def test_what_no_caller_accepts(url: Any, reason: str, strict: bool) -> None:
    assert urlcheck.problem(url, strict=strict) == reason


def test_strict_wants_scheme_colon_slash_slash_as_written() -> None:
    assert urlcheck.problem("https:a.example") == "is not an absolute http:// or https:// URL"
    assert urlcheck.problem("https:a.example", strict=False) == "has no host"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://a.example/a b", UNSAFE),
        ("https://evil.example\\.bank.example/", UNSAFE),
        ("https:/\\/a.example/", UNSAFE),
        ("https://a.example/\x7f", UNSAFE),
        ("https://bücher.example/", NON_ASCII),
        ("https://u:p@a.example/", "carries credentials (user@ or user:password@)"),
        ("https://a.example:https/", "has an invalid port"),
        ("https://:443/", "has no host"),
    ],
)  # fmt: skip
def test_strict_refuses_what_a_browser_may_misread(url: str, reason: str) -> None:
    assert urlcheck.problem(url) == reason


@pytest.mark.parametrize(
    "url",
    [
        "https://a.example/a b",
        "https://u:p@a.example/",
        "https://a.example:https/",
        "https://:443/",
    ],
)
def test_without_strict_the_scheme_and_a_network_location_suffice(url: str) -> None:
    # What the settings checks E002 and E036 have always accepted.
    assert urlcheck.problem(url, strict=False) is None


@pytest.mark.parametrize("strict", [True, False])
@pytest.mark.parametrize("url", ["https://a.example/?q=1", "https://a.example/#top"])
def test_a_query_or_fragment_is_refused_only_when_asked(url: str, strict: bool) -> None:
    assert urlcheck.problem(url, strict=strict) is None
    assert urlcheck.problem(url, strict=strict, query=False) == "has a query or a fragment"


@pytest.mark.parametrize(
    "url", ["http://a.example", "HTTPS://A.EXAMPLE/Path", "https://[2001:db8::1]:8443/x"]
)
def test_accepted_by_every_caller(url: str) -> None:
    assert urlcheck.problem(url, query=False) is None
    assert urlcheck.problem(url, strict=False, query=False) is None
