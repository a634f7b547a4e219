"""The hand-written request shapes: each quotes an issue, vendor document or fixture.

Rows whose User-Agent or circumstances come from an issue thread or a
vendor's documentation rather than a fixture file, kept as data with their
sources. ``row()`` gives every row of the set its keys, in the order the
jsonl file has always had.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from bench.upstream_fixtures import DD


def row(
    kind: str,
    ua: str,
    source: str,
    *,
    ip: str | None = None,
    headers: Mapping[str, str] | None = None,
    method: str = "GET",
    seconds: float | None = None,
    debatable: str = "",
    split: str = "",
) -> dict[str, Any]:
    """One labelled request, its keys in the order the jsonl file has always had."""
    shape: dict[str, Any] = {
        "kind": kind,
        "user_agent": ua,
        "ip": ip,
        "headers": dict(headers or {}),
        "method": method,
        "seconds_since_issued": seconds,
        "source": source,
    }
    if debatable:
        shape["debatable"] = debatable
    if split:
        shape["split"] = split
    return shape


STALE_DESKTOP_HELD = (
    "A desktop build older than any a supported system still runs, a person's browser when "
    "collected; scanners present such stale builds today (gophish#2446)."
)


def stale_desktop(ua: str) -> bool:
    """The set's standing labelling rule: such a browser row is debatable, not plainly human."""
    if not any(system in ua for system in ("Windows", "Macintosh", "X11")):
        return False
    if "Android" in ua or "Mobile" in ua:
        return False
    for pattern, oldest in ((r"Chrome/(\d+)", 109), (r"Firefox/(\d+)", 115)):
        match = re.search(pattern, ua)
        if match:
            return int(match.group(1)) < oldest
    return "MSIE " in ua


STALE_DESKTOP = (
    "A desktop build from 2019, a person's browser when collected; scanners present such stale "
    "builds today (gophish#2446)."
)
SAFARI = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Safari/605.1.15"
)


def hand_human_rows() -> Iterator[dict[str, Any]]:
    for ua in (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_14_5) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/74.0.3729.169 Safari/537.36",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:67.0) Gecko/20100101 Firefox/67.0",
    ):
        yield row(
            "human",
            ua,
            "omrilotan/isbot fixtures/browsers.yml",
            seconds=7200,
            debatable=STALE_DESKTOP,
        )
    yield row(
        "human",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_3 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Mobile/15E148",
        "omrilotan/isbot fixtures/browsers.yml (WebView form); iOS Mail renders in this WebKit view",
        seconds=900,
    )
    yield row(
        "human",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)",
        "ua-parser/uap-core#528 (Apple Mail's User-Agent: WebKit without a Safari token)",
        seconds=900,
    )
    yield row(
        "human",
        SAFARI,
        "Safari via iCloud Private Relay (egress prefix from Apple's egress-ip-ranges.csv); "
        "wordtothewise.com/2021/09/apple-mpp-reporting-and-geolocation",
        ip="172.224.226.5",
        seconds=5400,
    )


# --- mail_proxy ------------------------------------------------------------------------------

GMAIL = "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"
YAHOO = "YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html"


def mail_proxy_rows() -> Iterator[dict[str, Any]]:
    yield row(
        "mail_proxy",
        GMAIL,
        f"{DD} Tests/fixtures/bots.yml (Gmail Image Proxy)",
        ip="66.249.84.1",
        seconds=600,
    )
    yield row(
        "mail_proxy",
        GMAIL,
        "mautic/mautic#16069 (Gmail opens dropped by bot filtering)",
        ip="66.249.84.33",
        seconds=45,
    )
    yield row("mail_proxy", GMAIL, "mautic/mautic#16069", ip="66.102.6.12", seconds=7200)
    yield row(
        "mail_proxy",
        GMAIL,
        "knadh/listmonk#1025 (Gmail proxy opens)",
        ip="66.249.93.20",
        seconds=86400,
    )
    yield row(
        "mail_proxy",
        GMAIL,
        "mautic/mautic#10409 (tracking on Gmail goes through the proxy)",
        ip="66.249.84.200",
        seconds=300,
    )
    yield row(
        "mail_proxy",
        GMAIL,
        "mautic/mautic#7884 (GoogleImageProxy fetch right after sending)",
        ip="66.249.84.7",
        seconds=2,
        debatable="mautic#7884 reads a proxy fetch seconds after the send as a false open; Gmail "
        "fetches when a person views the mail, so it may equally be a fast reader.",
    )
    yield row("mail_proxy", GMAIL, "mautic/mautic#16069 (request carries no Referer or cookies)")
    yield row(
        "mail_proxy",
        YAHOO,
        f"{DD} Tests/fixtures/bots.yml (Yahoo! Mail Proxy, listed as a bot)",
        seconds=900,
    )
    yield row(
        "mail_proxy",
        YAHOO,
        "monperrus/crawler-user-agents crawler-user-agents.json (YahooMailProxy, listed as a crawler)",
        seconds=60,
    )
    yield row(
        "mail_proxy",
        YAHOO,
        "help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html",
        ip="98.137.27.103",
        seconds=4000,
    )
    yield row(
        "mail_proxy",
        "RamblerMail/6.0 (incompatible; ImageProxy/6.0)",
        f"{DD} Tests/fixtures/bots.yml (Rambler Mail image proxy)",
        seconds=1200,
    )
    yield row(
        "mail_proxy",
        "Mozilla/5.0 SeznamEmailProxy/2.0.174",
        f"{DD} Tests/fixtures/bots.yml (Seznam email proxy)",
        seconds=1200,
    )
    yield row(
        "mail_proxy",
        "Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/55.0.2883.87 "
        "Safari/537.36 (via secureurl.fwdcdn.com - mail.ukr.net proxy)",
        f"{DD} Tests/fixtures/bots.yml (mail.ukr.net proxy)",
        seconds=1200,
    )


# --- privacy_prefetch ------------------------------------------------------------------------

MPP_UA_SOURCE = "ua-parser/uap-core#509 (MPP sends the User-Agent 'Mozilla/5.0' and nothing more); "
# Addresses inside an iCloud Private Relay egress prefix, with the delay of each fetch.
MPP_RELAY = (
    ("172.224.226.5", 5),
    ("172.224.226.40", 12),
    ("172.224.227.10", 40),
    ("172.224.226.100", 300),
    ("172.224.226.130", 20),
    ("172.224.226.150", 3600),
    ("172.224.227.33", 8),
    ("172.224.226.20", 90),
    ("172.224.226.97", 15),
)
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"


def privacy_prefetch_rows() -> Iterator[dict[str, Any]]:
    for ip, seconds in MPP_RELAY:
        yield row(
            "privacy_prefetch",
            "Mozilla/5.0",
            MPP_UA_SOURCE + "Apple Mail Privacy Protection: bare User-Agent through iCloud Private "
            "Relay egress (help.socketlabs.com identifying-apple-mpp-opens; wordtothewise.com "
            "apple-mpp-reporting-and-geolocation); prefix from Apple's egress-ip-ranges.csv",
            ip=ip,
            seconds=seconds,
        )
    yield row(
        "privacy_prefetch",
        "Mozilla/5.0",
        MPP_UA_SOURCE + "help.socketlabs.com identifying-apple-mpp-opens (MPP fetches at delivery, "
        "address unknown here)",
        seconds=6,
    )
    yield row(
        "privacy_prefetch",
        "Mozilla/5.0",
        MPP_UA_SOURCE + "help.socketlabs.com identifying-apple-mpp-opens",
        debatable="A bare Mozilla/5.0 with no network evidence: Apple's proxies send it, and so "
        "might an unnamed script.",
    )
    yield row(
        "privacy_prefetch",
        "Chrome Privacy Preserving Prefetch Proxy",
        f"{DD} Tests/fixtures/bots.yml; developer.chrome.com/blog/private-prefetch-proxy",
        seconds=30,
    )
    for ua, headers, source, seconds in (
        (CHROME, {"Sec-Purpose": "prefetch"}, "MDN Sec-Purpose header (speculation rules prefetch); warmbly tracking/src/abuse.rs is_prefetch", 900),
        (CHROME, {"sec-purpose": "prefetch;prerender"}, "MDN Sec-Purpose header (prefetch;prerender)", 900),
        (CHROME, {"Sec-Purpose": "prefetch; anonymous-client-ip"}, "MDN Sec-Purpose header (prefetch via anonymous client IP)", 900),
        (CHROME, {"Purpose": "prefetch"}, "Chromium <link rel=prefetch> sends Purpose: prefetch; warmbly tracking/src/abuse.rs", 1200),
        (FIREFOX, {"X-Moz": "prefetch"}, "MDN Link prefetching FAQ (Firefox sends X-moz: prefetch); warmbly tracking/src/abuse.rs", 1200),
        (SAFARI, {"X-Purpose": "preview"}, "Safari Top Sites preview sends X-Purpose: preview; warmbly tracking/src/abuse.rs", 1200),
    ):  # fmt: skip
        yield row("privacy_prefetch", ua, source, headers=headers, seconds=seconds)


# --- security_scanner ------------------------------------------------------------------------


def _windows_chrome(version: str, platform: str = "Windows NT 10.0; Win64; x64") -> str:
    return (
        f"Mozilla/5.0 ({platform}) AppleWebKit/537.36 (KHTML, like Gecko) "
        f"Chrome/{version} Safari/537.36"
    )


EDGE_12 = _windows_chrome("42.0.2311.135") + " Edge/12.246 Mozilla/5.0"


def security_scanner_rows() -> Iterator[dict[str, Any]]:
    yield row(
        "security_scanner",
        "Barracuda Sentinel (EE)",
        f"{DD} Tests/fixtures/bots.yml (Barracuda Sentinel, Service Agent)",
        seconds=4,
    )
    for version in ("80.0.3987.132", "96.0.4664.110", "79.0.3945.136"):
        ua = _windows_chrome(version)
        yield row(
            "security_scanner",
            ua,
            "gophish/gophish#2446 (Office 365 scanning: Windows 10 with Chrome 79, 80, 96 before delivery)",
        )
        yield row("security_scanner", ua, "gophish/gophish#2446", seconds=8)
    chrome_101 = _windows_chrome("101.0.4951.54")
    yield row(
        "security_scanner",
        chrome_101,
        "gophish/gophish#2646 (opened and clicked seconds after sending, from 40.94.89.x)",
        ip="40.94.89.23",
        seconds=6,
    )
    yield row("security_scanner", chrome_101, "gophish/gophish#2646", ip="40.94.89.21")
    yield row(
        "security_scanner",
        EDGE_12,
        "mautic/mautic#10245 (Gmail's delivery-time fetch, Google IPs; gmass.co false-opens-in-gmail)",
        ip="66.249.84.10",
        seconds=3,
    )
    yield row("security_scanner", EDGE_12, "mautic/mautic#10245")
    for source, ip, seconds in (
        ("Microsoft 365 endpoints, Exchange Online Protection 40.92.0.0/15 (ID 9/10); mautic/mautic#9400 (Safe Links fetches from Microsoft IPs)", "40.92.4.17", 20),
        ("Microsoft 365 endpoints, EOP 40.107.0.0/16", "40.107.22.93", 600),
        ("Microsoft 365 endpoints, EOP 52.100.0.0/14", "52.101.10.4", None),
        ("Microsoft 365 endpoints, EOP 104.47.0.0/17", "104.47.58.100", 15),
        ("Microsoft 365 endpoints, EOP 2a01:111:f403::/48", "2a01:111:f403:c200::5", 15),
    ):  # fmt: skip
        yield row("security_scanner", CHROME, source, ip=ip, seconds=seconds)
    chrome_120 = _windows_chrome("120.0.0.0")
    yield row(
        "security_scanner",
        chrome_120,
        "Barracuda Email Gateway Defense ranges (warmbly tracking/scanner-networks.txt), 209.222.82.0/24",
        ip="209.222.82.44",
        seconds=9,
    )
    yield row(
        "security_scanner",
        chrome_120,
        "Barracuda Email Gateway Defense ranges, 35.157.190.224/27",
        ip="35.157.190.230",
    )
    yield row(
        "security_scanner",
        _windows_chrome("124.0.0.0", "X11; Linux x86_64"),
        "Barracuda Email Gateway Defense ranges, 18.185.115.192/26",
        ip="18.185.115.200",
        seconds=30,
    )
    chrome_124 = _windows_chrome("124.0.0.0")
    yield row(
        "security_scanner",
        chrome_124,
        "mautic/mautic#16263 (gateways fetch every link at delivery with a current browser UA)",
        ip="203.0.113.9",
        seconds=2,
    )
    yield row(
        "security_scanner",
        chrome_124,
        "knadh/listmonk#1025 (half the opens within a minute or two of the send)",
        ip="198.51.100.20",
        seconds=4,
    )
    yield row(
        "security_scanner",
        _windows_chrome("146.0.0.0"),
        "resend/resend-node#901 (Windows Chrome 146 from a second network 12 s after delivery)",
        ip="168.90.91.133",
        seconds=14,
        debatable="Only the time and a current browser say scanner; a person with webmail open "
        "could make the same request.",
    )
    yield row(
        "security_scanner",
        "Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1; SV1)",
        "mautic/mautic#9798 (Proofpoint fetches with varying, dated User-Agents)",
        seconds=5,
    )
    yield row(
        "security_scanner",
        "Mozilla/5.0 (Windows; U; Windows NT 5.1; en-US; rv:1.9.0.6) Gecko/2009011913 Firefox/3.0.6",
        "mautic/mautic BotRatioHelperFunctionalTest (blocked user agents)",
        seconds=1,
    )
    yield row(
        "security_scanner",
        _windows_chrome("57.0.2987.133", "Windows NT 6.1; WOW64"),
        "gophish/gophish#2357 (false clicks from an outdated Chrome not installed on the user's machine)",
        seconds=40,
    )
    yield row(
        "security_scanner",
        _windows_chrome("61.0.3163.100", "Windows NT 6.3; Win64; x64"),
        "gophish/gophish#2357 (later open on Windows 8 with an outdated Chrome)",
        seconds=30000,
    )
    # Link checkers that name themselves, read from vendors' pages for issue 23.
    yield row(
        "security_scanner",
        "Mozilla/5.0 (compatible; URLertBot/1.0; +https://urlert.com/bot)",
        "urlert.com/bot (URLertBot verifies links in emails or messages before a user clicks; "
        "the page's example address)",
        ip="34.61.148.192",
    )
    yield row(
        "security_scanner",
        "HuaweiSymantecSpider/1.0+DSE-support@huaweisymantec.com+(compatible; MSIE 7.0; "
        "Windows NT 5.1; Trident/4.0; .NET CLR 2.0.50727; .NET CLR 3.0.4506.2152; .NET CLR; "
        "http://www.huaweisymantec.com/cn/IRL/spider)",
        "huaweisymantec.com/en/IRL/spider (the crawler of Huawei Symantec's reputation analysis "
        "system, which checks pages for malicious code; its User-Agent as the page gives it)",
    )


def hand_head_row() -> dict[str, Any]:
    # Labelled bot until issue 23 found who sends HEAD to a mail's links: mail security
    # products (civicrm/civicrm-core#35328, jdavidbakr/mail-tracker#200).
    return row(
        "security_scanner",
        CHROME,
        "A HEAD request, which no client showing an image sends (ptrack's view records no HEAD; "
        "README, The endpoint); mail security products check links with HEAD "
        "(civicrm/civicrm-core#35328, jdavidbakr/mail-tracker#200)",
        method="HEAD",
        seconds=120,
    )


def hand_bot_rows() -> Iterator[dict[str, Any]]:
    yield row(
        "bot",
        "",
        "warmbly tracking/src/abuse.rs (no User-Agent is never a mail client)",
        seconds=600,
    )
    yield row("bot", "", "warmbly tracking/src/abuse.rs", ip="192.0.2.77")
    yield hand_head_row()

    yield row(
        "bot",
        FIREFOX,
        "An OPTIONS request, which no client showing an image sends (the view answers 405)",
        method="OPTIONS",
        seconds=120,
    )
