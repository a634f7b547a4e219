"""http(s) URLs as browsers read them: the WHATWG URL standard's parser and serializer.

``parse()`` reads an absolute http or https URL as a browser does when it follows
a link (https://url.spec.whatwg.org/#concept-basic-url-parser, with no base URL):
spaces and controls around it stripped and tabs and newlines in it removed,
backslashes read as slashes, the host mapped and Punycode-encoded by IDNA
(UTS #46) or read as an IPv4 or IPv6 address, a default port dropped, dot
segments resolved, and path, query and fragment percent-encoded by their encode
sets (as UTF-8). ``Parts.href`` writes it back as the standard serializes it:
the URL the browser requests. Anything a browser refuses raises ``ValueError``
saying why. Plain Python: it imports neither Django nor any other ptrack module;
the ``idna`` package is imported only for hosts that need it.
"""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple
from urllib.parse import quote, unquote_to_bytes

DEFAULT_PORTS = {"http": 80, "https": 443}

# Stripped from both ends of the input, and removed from anywhere in it.
_C0_OR_SPACE = "".join(chr(c) for c in range(0x21))
_TAB_OR_NEWLINE = re.compile(r"[\t\n\r]")
# The scheme, the slashes after it (a backslash is a slash in these schemes), then
# the authority, which ends at the first slash, backslash, "?" or "#".
_START = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):([/\\]*)([^/\\?#]*)")

# What each part leaves as it is, beyond ASCII letters, digits and "_.-~"; quote()
# percent-encodes everything else as UTF-8 (C0 controls, space, DEL, non-ASCII,
# and the part's encode set): https://url.spec.whatwg.org/#percent-encoded-bytes
_PRINTABLE = "".join(chr(c) for c in range(0x21, 0x7F))
_PATH_SAFE = "".join(c for c in _PRINTABLE if c not in '"#<>?^`{}')
_QUERY_SAFE = "".join(c for c in _PRINTABLE if c not in "\"#<>'")  # special-query set
_FRAGMENT_SAFE = "".join(c for c in _PRINTABLE if c not in '"<>`')

# https://url.spec.whatwg.org/#forbidden-domain-code-point
_FORBIDDEN_DOMAIN = re.compile(r"[\x00-\x20#%/:<>?@\[\\\]^|\x7f]")
_SINGLE_DOT = frozenset({".", "%2e"})
_DOUBLE_DOT = frozenset({"..", ".%2e", "%2e.", "%2e%2e"})
_HEX_DIGITS = "0123456789abcdefABCDEF"


class Parts(NamedTuple):
    """An http(s) URL as the standard holds it, each part serialized."""

    scheme: str  # "http" or "https"
    credentials: bool  # whether the authority had a user name or password ("user@")
    host: str  # a domain in ASCII, an IPv4 address, or an IPv6 address in brackets
    port: str  # "" for the scheme's default port
    path: str  # from its first "/"
    query: str | None  # after the "?"; None: no "?"
    fragment: str | None  # after the "#"; None: no "#"

    @property
    def href(self) -> str:
        """The URL, serialized as the standard does."""
        url = f"{self.scheme}://{self.host}"
        if self.port:
            url += ":" + self.port
        url += self.path
        if self.query is not None:
            url += "?" + self.query
        if self.fragment is not None:
            url += "#" + self.fragment
        return url


def parse(url: str) -> Parts:
    """``url`` as a browser reads it, if it is an absolute http(s) URL; else ``ValueError``.

    Absolute means whatever the base URL: the scheme is followed by two
    slashes or backslashes (or more). ``https:example.com`` and
    ``https:/example.com`` are refused, which a page of an https site reads as
    paths on that site, and only pages of other schemes as ``https://example.com/``.
    """
    url = url.strip(_C0_OR_SPACE)
    if _TAB_OR_NEWLINE.search(url):
        url = _TAB_OR_NEWLINE.sub("", url)
    start = _START.match(url)
    if start is None or start[1].lower() not in DEFAULT_PORTS or len(start[2]) < 2:
        raise ValueError("is not an absolute http:// or https:// URL")
    scheme = start[1].lower()
    authority = start[3]
    credentials = "@" in authority
    host, port = _host_and_port(authority.rpartition("@")[2], scheme)
    rest = url[start.end() :]
    rest, hash_sign, fragment = rest.partition("#")
    rest, question_mark, query = rest.partition("?")
    return Parts(
        scheme,
        credentials,
        host,
        port,
        _path(rest),
        _encode(query, _QUERY_SAFE) if question_mark else None,
        _encode(fragment, _FRAGMENT_SAFE) if hash_sign else None,
    )


def _host_and_port(authority: str, scheme: str) -> tuple[str, str]:
    # A ":" inside brackets is part of an IPv6 address.
    colon, inside = -1, False
    for index, char in enumerate(authority):
        if char == "[":
            inside = True
        elif char == "]":
            inside = False
        elif char == ":" and not inside:
            colon = index
            break
    if colon < 0:
        host, port = authority, ""
    else:
        host, port = authority[:colon], authority[colon + 1 :]
    if not host:
        raise ValueError("has no host")
    if port:
        if not (port.isascii() and port.isdigit()):
            raise ValueError("has an invalid port")
        number = int(port)
        if number > 65535:
            raise ValueError("has an invalid port")
        port = "" if number == DEFAULT_PORTS[scheme] else str(number)
    return _host(host), port


def _host(text: str) -> str:
    """https://url.spec.whatwg.org/#concept-host-parser, for a special URL."""
    if text.startswith("["):
        if not text.endswith("]"):
            raise ValueError("has a malformed host")
        return f"[{_ipv6_text(_ipv6(text[1:-1]))}]"
    if "%" in text:
        text = unquote_to_bytes(text).decode("utf-8", "replace")
    domain = _domain_to_ascii(text)
    if _FORBIDDEN_DOMAIN.search(domain):
        raise ValueError("has a malformed host")
    if _ends_in_a_number(domain):
        return _ipv4_text(_ipv4(domain))
    return domain


def _domain_to_ascii(domain: str) -> str:
    """https://url.spec.whatwg.org/#concept-domain-to-ascii, with beStrict false."""
    if domain.isascii() and not any(label[:4].lower() == "xn--" for label in domain.split(".")):
        return domain.lower()
    import idna

    try:
        mapped = idna.uts46_remap(domain, std3_rules=False)
        labels = [_to_ascii_label(label) for label in mapped.split(".")]
        unicode_labels = [label for label, _ascii in labels]
        if any(_is_rtl(label) for label in unicode_labels):
            for label in unicode_labels:
                if label:
                    idna.check_bidi(label, check_ltr=True)
    except (UnicodeError, ValueError) as e:  # IDNAError is a UnicodeError
        raise ValueError(f"has a host that IDNA refuses ({e})") from None
    result = ".".join(ascii_label for _label, ascii_label in labels)
    if not result:
        raise ValueError("has no host")
    return result


def _to_ascii_label(label: str) -> tuple[str, str]:
    """A mapped label as (Unicode, ASCII), validated: UTS #46 steps 4.1 to 4.2 and 5."""
    import idna

    if label.startswith("xn--"):
        try:
            decoded = label[4:].encode("ascii").decode("punycode")
        except (UnicodeError, ValueError):
            raise ValueError(f"label {label!r} is not valid Punycode") from None
        if not decoded or decoded.isascii() or decoded.startswith("xn--"):
            raise ValueError(f"label {label!r} is not valid Punycode")
        # Only code points that map to themselves may be spelled in Punycode.
        if idna.uts46_remap(decoded, std3_rules=False) != decoded or "." in decoded:
            raise ValueError(f"label {label!r} holds code points IDNA maps")
        _validate(decoded)
        return decoded, label
    if label.isascii():
        return label, label
    _validate(label)
    return label, "xn--" + label.encode("punycode").decode("ascii")


def _validate(label: str) -> None:
    """UTS #46's validity criteria (4.1), with CheckHyphens off and CheckJoiners on, for a
    label already mapped (so in NFC, of valid code points, without a dot)."""
    import idna

    if unicodedata.category(label[0]).startswith("M"):
        raise ValueError(f"label {label!r} begins with a combining mark")
    for index, char in enumerate(label):
        if char in "\u200c\u200d" and not idna.valid_contextj(label, index):
            raise ValueError(f"label {label!r} has a joiner out of context")


def _is_rtl(label: str) -> bool:
    return any(unicodedata.bidirectional(char) in ("R", "AL", "AN") for char in label)


def _ends_in_a_number(domain: str) -> bool:
    labels = domain.split(".")
    if labels[-1] == "" and len(labels) > 1:
        labels.pop()
    last = labels[-1]
    if last and last.isascii() and last.isdigit():
        return True
    return last[:2] in ("0x", "0X") and all(char in _HEX_DIGITS for char in last[2:])


def _ipv4(domain: str) -> int:
    """https://url.spec.whatwg.org/#concept-ipv4-parser"""
    parts = domain.split(".")
    if parts[-1] == "" and len(parts) > 1:
        parts.pop()
    if len(parts) > 4:
        raise ValueError("has a malformed IPv4 host")
    numbers = [_ipv4_number(part) for part in parts]
    if any(number > 255 for number in numbers[:-1]) or numbers[-1] >= 256 ** (5 - len(numbers)):
        raise ValueError("has a malformed IPv4 host")
    address = numbers[-1]
    for index, number in enumerate(numbers[:-1]):
        address += number * 256 ** (3 - index)
    return address


def _ipv4_number(part: str) -> int:
    if not part:
        raise ValueError("has a malformed IPv4 host")
    radix = 10
    if part[:2] in ("0x", "0X"):
        part, radix = part[2:], 16
    elif len(part) > 1 and part[0] == "0":
        part, radix = part[1:], 8
    if not part:
        return 0
    # int() would also take "_", "+", spaces and non-ASCII digits.
    if not (part.isascii() and part.isalnum()):
        raise ValueError("has a malformed IPv4 host")
    try:
        return int(part, radix)
    except ValueError:
        raise ValueError("has a malformed IPv4 host") from None


def _ipv4_text(address: int) -> str:
    return ".".join(str(address >> shift & 0xFF) for shift in (24, 16, 8, 0))


def _ipv6(text: str) -> list[int]:
    """https://url.spec.whatwg.org/#concept-ipv6-parser"""
    address = [0] * 8
    piece = 0
    compress: int | None = None
    pointer = 0
    end = len(text)

    def at(index: int) -> str:
        return text[index] if index < end else ""

    malformed = ValueError("has a malformed host")
    if at(pointer) == ":":
        if at(pointer + 1) != ":":
            raise malformed
        pointer += 2
        piece += 1
        compress = piece
    while pointer < end:
        if piece == 8:
            raise malformed
        if at(pointer) == ":":
            if compress is not None:
                raise malformed
            pointer += 1
            piece += 1
            compress = piece
            continue
        value = length = 0
        while length < 4 and at(pointer) and at(pointer) in _HEX_DIGITS:
            value = value * 16 + int(at(pointer), 16)
            pointer += 1
            length += 1
        if at(pointer) == ".":
            if length == 0 or piece > 6:
                raise malformed
            pointer -= length
            numbers_seen = 0
            while pointer < end:
                if numbers_seen > 0:
                    if at(pointer) == "." and numbers_seen < 4:
                        pointer += 1
                    else:
                        raise malformed
                if not ("0" <= at(pointer) <= "9"):
                    raise malformed
                ipv4_piece: int | None = None
                while at(pointer) and "0" <= at(pointer) <= "9":
                    number = int(at(pointer))
                    if ipv4_piece is None:
                        ipv4_piece = number
                    elif ipv4_piece == 0:
                        raise malformed
                    else:
                        ipv4_piece = ipv4_piece * 10 + number
                    if ipv4_piece > 255:
                        raise malformed
                    pointer += 1
                address[piece] = address[piece] * 0x100 + (ipv4_piece or 0)
                numbers_seen += 1
                if numbers_seen in (2, 4):
                    piece += 1
            if numbers_seen != 4:
                raise malformed
            break
        if at(pointer) == ":":
            pointer += 1
            if pointer == end:
                raise malformed
        elif pointer < end:
            raise malformed
        address[piece] = value
        piece += 1
    if compress is not None:
        swaps = piece - compress
        piece = 7
        while piece != 0 and swaps > 0:
            other = compress + swaps - 1
            address[piece], address[other] = address[other], address[piece]
            piece -= 1
            swaps -= 1
    elif piece != 8:
        raise malformed
    return address


def _ipv6_text(address: list[int]) -> str:
    """https://url.spec.whatwg.org/#concept-ipv6-serializer"""
    # The first longest run of two or more zero pieces is written "::".
    best_start, best_length, start = -1, 1, -1
    for index, piece in enumerate([*address, 1]):
        if piece == 0 and start < 0:
            start = index
        elif piece != 0 and start >= 0:
            if index - start > best_length:
                best_start, best_length = start, index - start
            start = -1
    if best_start < 0:
        return ":".join(f"{piece:x}" for piece in address)
    head = ":".join(f"{piece:x}" for piece in address[:best_start])
    tail = ":".join(f"{piece:x}" for piece in address[best_start + best_length :])
    return f"{head}::{tail}"


def _path(text: str) -> str:
    """https://url.spec.whatwg.org/#path-state, for a special URL."""
    if not text:
        return "/"
    segments: list[str] = []
    parts = re.split(r"[/\\]", text)[1:]  # the text starts with a slash
    for index, part in enumerate(parts):
        segment = _encode(part, _PATH_SAFE)
        last = index == len(parts) - 1
        lowered = segment.lower() if "%" in segment else segment
        if lowered in _DOUBLE_DOT:
            if segments:
                segments.pop()
            if last:
                segments.append("")
        elif lowered in _SINGLE_DOT:
            if last:
                segments.append("")
        else:
            segments.append(segment)
    return "/" + "/".join(segments)


def _encode(text: str, safe: str) -> str:
    try:
        return quote(text, safe=safe)
    except UnicodeEncodeError:  # a lone surrogate, which no document can hold
        raise ValueError("contains a character that is not Unicode text") from None
