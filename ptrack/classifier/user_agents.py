"""What a User-Agent says about who fetched the pixel: the built-in rules.

``family()`` finds the highest-ranked marker of ``ptrack.classifier.markers``
(``LOCATE`` says whether there is one, ``ANY`` which); the other functions read
the shapes no marker names: Apple's bare proxy, a stale desktop browser, a
machine's User-Agent, a browser's, Apple Mail's web view. The comments say
mostly what a rule must not catch.
"""

from __future__ import annotations

import re
from typing import Final

from ptrack.classifier.markers import ANY, EMAIL, FAMILIES, LOCATE, LOCATE_BACK, RANK

# What every browser's User-Agent starts with, the platforms that commonly
# follow, and fragments of the rest. None holds a marker and no marker can
# overlap one, whatever surrounds it (the tests check both for every marker):
# family() scans what follows the prefix and platform, with the fragments blanked
# out: a third of a browser's User-Agent, which costs a third of the time.
BROWSER_PREFIX: Final = "mozilla/5.0 ("
BROWSER_PLATFORMS: Final = (
    "windows nt ",
    "macintosh; intel mac os x ",
    "iphone; cpu iphone os ",
    "ipad; cpu os ",
    "linux; android ",
    "x11; linux x86_64",
    "compatible; ",
)
BROWSER_FRAGMENTS: Final = (" applewebkit/", " like gecko)", " chrome/", " safari/", " version/")
# What family() skips, in one call into the regex engine: the prefix and a platform after
# it, or without a platform the prefix up to its "(", which may start a marker ("(go1.").
SKIPPED_HEADS: Final = (
    BROWSER_PREFIX[:-1],
    *(BROWSER_PREFIX + platform for platform in BROWSER_PLATFORMS),
)
_BROWSER_HEAD: Final = re.compile(
    re.escape(BROWSER_PREFIX[:-1])
    + "(?:"
    + re.escape(BROWSER_PREFIX[-1])
    + "(?:"
    + "|".join(map(re.escape, BROWSER_PLATFORMS))
    + "))?"
)
_NO_FAMILY: Final = len(FAMILIES)
_CRAWLER: Final = ("bot", "crawler")
_BLANK: Final = "\x00"  # in no marker, so no marker is found across a blanked fragment
# Each marker's answer, made once: a User-Agent with a marker then costs one lookup more.
_ANSWER: Final = {
    marker: (FAMILIES[rank][0], FAMILIES[rank][1].reasons[marker]) for marker, rank in RANK.items()
}


def family(ua: str) -> tuple[str, str] | None:
    """``(family, rule)`` of the highest-ranked family with a marker in ``ua``.

    One scan over the string finds the markers of every family, where a
    scan per family would cost five.
    """
    return family_and_rest(ua)[0]


def family_and_rest(ua: str) -> tuple[tuple[str, str] | None, str]:
    """``family(ua)``, and the text it scanned: what a browser's User-Agent holds
    besides the prefix, platform and fragments that no marker or bot name is in."""
    # Cubot is a phone maker whose Android builds carry its name.
    text = ua.replace("cubot", "") if "cubot" in ua else ua
    scanned = text
    head = _BROWSER_HEAD.match(text)
    if head is not None:
        applewebkit, like_gecko, chrome, safari, version = BROWSER_FRAGMENTS
        scanned = (
            text[head.end() :]
            .replace(applewebkit, _BLANK)
            .replace(like_gecko, _BLANK)
            .replace(chrome, _BLANK)
            .replace(safari, _BLANK)
            .replace(version, _BLANK)
        )
    # LOCATE tells a text without markers, most of those scanned, at a third of ANY's cost.
    # Where it finds one, ANY finds every marker in one call into the regex engine, from
    # where the first can start (none starts earlier, so ANY finds what it would from 0);
    # min() keeps the first of equal rank, as a scan from the left would.
    located = LOCATE.search(scanned)
    if located is not None:
        found = ANY.findall(scanned, max(0, located.start() - LOCATE_BACK))
        return _ANSWER[found[0] if len(found) == 1 else min(found, key=RANK.__getitem__)], scanned
    if "@" in text and EMAIL.search(text):
        return _CRAWLER, scanned
    return None, scanned


# A browser, or the WebKit view Apple Mail and iOS Mail render mail in.
_CHROME = re.compile(r"(?:chrome|crios)/(\d+)")
_FIREFOX = re.compile(r"firefox/(\d+)")
_DESKTOP = ("windows nt", "macintosh", "x11;")

# The oldest majors still shipped to a supported desktop: Chrome 109 is the
# last for Windows 7/8.1, Firefox 115 ESR the last for them and old macOS.
# Older desktop builds without a mail client's token are what scanners present
# (gophish#2446: Chrome 79, 80, 96; mautic#10245: Chrome 42 with Edge 12).
STALE_CHROME_BELOW: Final = 109
STALE_FIREFOX_BELOW: Final = 115


def bare_mozilla(ua: str) -> bool:
    """Apple's Mail Privacy Protection proxies send this User-Agent and nothing more."""
    return ua == "mozilla/5.0"


def stale_desktop_browser(ua: str) -> bool:
    """A desktop browser build years older than any a supported system still runs."""
    # Spelled out rather than any(... for system in _DESKTOP): this runs on every new
    # User-Agent, and a generator costs more than the three searches.
    windows, macintosh, x11 = _DESKTOP
    if not (windows in ua or macintosh in ua or x11 in ua) or "android" in ua or "electron/" in ua:
        return False
    match = _CHROME.search(ua)
    if match is not None:
        return int(match.group(1)) < STALE_CHROME_BELOW
    match = _FIREFOX.search(ua)
    if match is not None:
        return int(match.group(1)) < STALE_FIREFOX_BELOW
    # Internet Explorer was retired in 2022; Outlook's own MSIE token is a mail
    # client's and never reaches here.
    return "msie " in ua


# What is left once browsers and known mail clients are told apart: agents that say
# nothing of a device a person reads mail on. isbot's lone-product and ".com" patterns
# (its src/patterns.json), and the crawler convention "Mozilla/5.0 (compatible; Name/1.0;
# +url)" taken more widely than isbot's "(compatible; Name/1.0)": any such comment that
# names no engine and no system. Mail clients that send no more than a name and version
# (Barca, The Bat!, eM Client, Windows Mail) match the first, which is why MAIL_CLIENT is
# consulted before these: an unknown one would be taken for a bot.
# A name and at most a version, in two steps: the name's class holds no "/", "," or newline,
# so only its longest run can be followed by a version or the end (one pattern would retry
# every shorter run before failing).
_LONE_NAME: Final = re.compile(r"[\w \.\-\(?:\):%]+")  # isbot's character class, as it has it
_LONE_VERSION: Final = re.compile(r"(?:/v?\d+(?:\.\d+)?(?:\.\d{1,10})*?)?(?:,|$)")
_COMMENT_ONLY: Final = re.compile(r"mozilla/[\d.]+ \([^()]*\)")
_WEBSITE: Final = re.compile(r"\.com\b")
# A browser's engine, and the systems that the browsers and apps in device-detector's and
# isbot's fixtures name (Amiga, BeOS and Inferno browsers use the compatible form too).
ENGINES: Final = ("applewebkit", "gecko", "trident", "msie", "khtml", "presto", "konqueror")
SYSTEMS: Final = (
    "windows", "win9", "win32", "win64", "wince", "mac", "darwin", "linux", "x11", "android",
    "iphone", "ipad", "ipod", "bsd", "sunos", "irix", "hp-ux", "aix", "os/2", "amiga",
    "morphos", "beos", "haiku", "symbian", "blackberry", "inferno", "cygwin", "nintendo",
    "playstation",
)  # fmt: skip


def machine_shape(ua: str) -> str | None:
    """The rule name if ``ua``, neither a browser's nor a known mail client's, is a machine's.

    ``lone_product``: one product and at most its version, nothing else ("Zeus",
    "Scooter/3.3"). ``no_platform``: ``Mozilla/x`` with only a comment, or the
    ``compatible`` form, naming no engine and no system ("Mozilla/5.0 (compatible;
    tracemyfile/1.0)", "Mozilla/5.0 (Exchange check)"). ``names_website``: a ``.com``
    name, as services give ("acme.sectigo.com/v2/EV").
    """
    name = _LONE_NAME.match(ua)
    if name is not None and _LONE_VERSION.match(ua, name.end()) is not None:
        return "lone_product"
    if (
        ua.startswith("mozilla/")
        and ("(compatible" in ua or _COMMENT_ONLY.fullmatch(ua) is not None)
        and not any(token in ua for token in ENGINES)
        and not any(token in ua for token in SYSTEMS)
    ):
        return "no_platform"
    if _WEBSITE.search(ua) is not None:
        return "names_website"
    return None


def browser_shaped(ua: str) -> bool:
    """A browser engine's User-Agent (mail clients are told apart before this)."""
    return ua.startswith("mozilla/5.0 (") and (
        "applewebkit/" in ua or "gecko/" in ua or "trident/" in ua
    )


def apple_mail_webview(ua: str) -> bool:
    """Apple Mail (macOS, iOS): WebKit without a browser's ``Safari/`` or ``Version/``."""
    return (
        ua.startswith("mozilla/5.0 (")
        and "applewebkit/" in ua
        and "safari/" not in ua
        and "version/" not in ua
        and ("(macintosh;" in ua or "(iphone;" in ua or "(ipad;" in ua)
    )
