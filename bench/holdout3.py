"""Split "holdout3": drawn from source families no earlier row came from, before any rule
that issue 23 asked for was written.

Three families, none read before for the set or for the rules:

- JayBizzle/Crawler-Detect's ``tests/data/user_agent/crawlers.txt``: a stride through it, and
  every row whose text names a kind of security checking (``SECURITY_WORDS``) or Outlook;
- ua-parser/uap-core's ``tests/test_ua.yaml``: a stride through it, every row of a mail-client
  family, and every other row of an HTTP-library family;
- threads of login-link, link-shortener and one-time-secret projects that quote the requests
  that mail security products, link checkers and previewers sent them, and a web framework's
  test of the prefetch headers (``thread_rows()``).

Rows already in the set (by User-Agent) are skipped. Every row is labelled here by what the
client is, with the reason where the list's own name does not say it; the labels were written
before the split was first scored, and are never to be changed to suit a rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from bench.hand_shapes import STALE_DESKTOP_HELD, row, stale_desktop
from bench.upstream_fixtures import CRAWLER_DETECT, UAP_CORE

SPLIT = "holdout3"
CD_SOURCE = f"{CRAWLER_DETECT.repo} tests/data/user_agent/crawlers.txt"
UAP_SOURCE = f"{UAP_CORE.repo} tests/test_ua.yaml"
# (offset, stride) through each list's unused rows, set from the pool sizes alone.
CD_STRIDE = (29, 100)
UAP_STRIDE = (17, 40)

# Words that name a kind of security checking, as the issue put it (scanning, phishing,
# malware, reputation, sandboxing) and their near kin; a row containing one is taken and then
# labelled by what its product is.
SECURITY_WORDS = (
    "scan", "phish", "malware", "reputation", "sandbox", "virus", "safe", "security",
    "link resolver", "spam",
)  # fmt: skip

# Of the rows those words select, the products that judge a URL's safety for someone who is to
# open it (a mail gateway, an antivirus vendor's link resolver, a URL reputation or malware
# check): security_scanner. The rest (internet-wide and vulnerability scanners, a site owner's
# own security service, crawlers whose name only contains a word) are bots.
CD_SCANNERS = {
    "Norton-Safeweb": "Norton Safe Web, Norton's URL reputation service",
    "YandexAntivirus": "Yandex's antivirus robot, which checks pages for malicious code",
    "Online Virus Scanner": "a web tool that scans a submitted URL for malware",
    "virustotalcloud": "VirusTotal's URL scanning, run on Google App Engine",
    "Kaspersky Lab CFR link resolver": "Kaspersky's link resolver",
    "SpamExperts/": "SpamExperts (now N-able Mail Assure), a mail filtering gateway",
    "SafeDNS": "SafeDNS, a DNS filter that categorises URLs, malware and phishing among them",
    "DKIMRepBot": "",
    "Interdose AntiSpamBot": "",
    "DHSH Virus Check": "",
}
CD_DEBATABLE = {
    "DKIMRepBot": "A mail reputation service's robot: reputation is a scanner's purpose, but it "
    "crawls sites rather than checking a message's links.",
    "Interdose AntiSpamBot": "An anti-spam service's robot: it may check links in mail, or "
    "crawl sites for addresses; no documentation found.",
    "DHSH Virus Check": "Names a virus check of a URL; no documentation of the product found.",
    "safe-agent-scanner": "No documentation of the product found: a scanner, but of what is "
    "unknown.",
}

# uap-core's families among the stride's rows: a person's browser, app or device, or not.
UAP_HUMAN_FAMILIES = frozenset(
    {
        "Amazon Silk", "Weibo", "IE", "Obigo", "UC Browser", "Viewer", "Nokia OSS Browser",
        "Bing for iPad", "Sailfish Browser", "Pinterest", "Roku", "Iron", "Coc Coc", "Telegram",
        "QQ Browser Mobile", "Ladybird", "360 Secure Browser", "Microsoft Teams",
        "Samsung Internet", "Firefox iOS", "AdobeAIR", "TikTok", "Edge Mobile", "Surveyon",
        "Sparrow Browser",
    }
)  # fmt: skip
UAP_BOT_FAMILIES = frozenset(
    {
        "NewRelicPingerBot", "CazoodleBot", "YahooSeeker", "Checklinks", "KaloogaBot", "Slurp",
        "ZooShot", "semanticdiscovery", "DotSpotsBot", "MPICrawler", "VisBot", "m65bot",
        "Using Fast Enterprise Crawler", "ByWebSite-Search-Spider", "GoGuidesBot",
        "MetaWeb Crawler", "ScollSpider", "WSDL Crawler", "hitcrawler_0", "Rival IQ",
        "aws-sdk-cpp", "OpenVAS Scanner", "Comodo HTTP(S) Crawler", "Kraken", "ZyBorg",
        "voyager", "ERACrawler", "MXit WebBot", "VodpodCrawler", "magpie-crawler",
        "Wocodi Web Crawler", "CFG_SPIDER_USER_AGENT", "GoScraper", "Metadata_Scraper",
        "ScreenerBot", "iaskspider2", "aws-sdk-go-v2", "CloudFoundry",
    }
)  # fmt: skip
# EmeraldShield sold mail and web filtering; its robot categorises URLs for the filter, as
# SafeDNS's does above.
UAP_SCANNER_FAMILIES = frozenset({"com WebBot"})
# Mail clients (a person's open), and Gmail's image proxy. Left out: uap-core's
# ExchangeServicesClient and ExchangeWebServices, sync connections that show no message.
UAP_MAIL_FAMILIES = frozenset(
    {
        "Outlook", "Outlook-iOS", "Outlook-iOS-Android", "MacOutlook", "Apple Mail", "Airmail",
        "Thunderbird", "Lightning", "Windows Live Mail", "Lotus Notes", "Postbox", "Barca",
        "Evolution", "kmail2", "MailBar", "YahooMobileMail",
    }
)  # fmt: skip
UAP_PROXY_FAMILIES = frozenset({"GmailImageProxy", "YahooMailProxy"})
# HTTP client libraries, SDKs and download tools, every other row taken.
UAP_LIBRARY_FAMILIES = frozenset(
    {
        "AHC", "Apache-CXF", "Apache-HttpClient", "Axel", "Boto", "Boto3", "Debian APT-HTTP",
        "Go-CF-client", "Go-http-client", "Google-HTTP-Java-Client", "GuzzleHttp", "HTTPClient",
        "HTTPie", "Java", "Java-EurekaClient", "Jersey", "JetS3t", "Node-oauth", "OpenBSD ftp",
        "PostmanRuntime", "PyAMF", "PycURL", "Python Requests", "Python aiohttp",
        "Python-urllib", "R2Client", "ReactorNetty", "S3Gof3r", "SAP CPI", "WinHTTP", "Wget",
        "akka-http", "aria2", "aws-cli", "aws-sdk-cpp", "aws-sdk-dotnet-45", "aws-sdk-go",
        "aws-sdk-go-v2", "aws-sdk-java", "aws-sdk-nodejs", "aws-sdk-ruby2", "axios", "curl",
        "fetchurl", "go-cli", "go-resty", "got", "http.rb", "ibm-cos-sdk-java", "lftp",
        "libcurl-agent", "libwww-perl", "lua-resty-http", "minio-go", "okhttp", "rclone",
        "reqwest", "rusoto", "s3fs", "sap xsuaa", "sap-leonardo-iot-sdk-nodejs", "scalaj-http",
        "unirest-java", "ureq", "urlgrabber", "wget2",
    }
)  # fmt: skip


def _unused(user_agents: Iterable[str], taken: set[str]) -> list[str]:
    return [ua for ua in dict.fromkeys(user_agents) if ua not in taken]


def crawler_detect_rows(lines: list[str], taken: set[str]) -> Iterator[dict[str, Any]]:
    """Crawler-Detect's crawlers: a stride (bots), then the security and Outlook rows."""
    pool = _unused((line.strip() for line in lines if line.strip()), taken)
    offset, stride = CD_STRIDE
    picked = pool[offset::stride]
    taken.update(picked)
    for ua in picked:
        source = (
            f"{CD_SOURCE} (held out 3: unused rows, number {offset + 1} and every {stride}th after)"
        )
        yield row("bot", ua, source, seconds=1800, split=SPLIT)
    for ua in pool:
        if ua in taken:
            continue
        lowered = ua.lower()
        if any(word in lowered for word in SECURITY_WORDS):
            taken.add(ua)
            yield _security_row(ua)
        elif "outlook" in lowered:
            taken.add(ua)
            source = (
                f"{CD_SOURCE} (held out 3: names Outlook; a mail client the list calls a crawler)"
            )
            yield row("human", ua, source, seconds=1800, split=SPLIT)


def _security_row(ua: str) -> dict[str, Any]:
    scanner = next((name for name in CD_SCANNERS if name in ua), None)
    debatable = next((text for name, text in CD_DEBATABLE.items() if name in ua), "")
    if scanner is None:
        source = (
            f"{CD_SOURCE} (held out 3: names security checking; not a check of a URL for its "
            "reader)"
        )
        return row("bot", ua, source, seconds=1800, debatable=debatable, split=SPLIT)
    why = CD_SCANNERS[scanner]
    source = f"{CD_SOURCE} (held out 3: names security checking" + (f"; {why})" if why else ")")
    return row("security_scanner", ua, source, debatable=debatable, split=SPLIT)


def uap_rows(cases: list[tuple[str, str]], taken: set[str]) -> Iterator[dict[str, Any]]:
    """uap-core's cases: a stride, the mail clients and proxies, every other library row."""
    families = dict(reversed(cases))  # the first family given for each User-Agent
    pool = _unused((ua for ua, _ in cases), taken)
    offset, stride = UAP_STRIDE
    picked = pool[offset::stride]
    taken.update(picked)
    for ua in picked:
        family = families[ua]
        source = (
            f"{UAP_SOURCE} ({family}; held out 3: unused rows, number {offset + 1} and every "
            f"{stride}th after)"
        )
        if family in UAP_BOT_FAMILIES:
            yield row("bot", ua, source, seconds=1800, split=SPLIT)
        elif family in UAP_SCANNER_FAMILIES:
            yield row(
                "security_scanner", ua, source + "; a mail and web filter's robot", split=SPLIT
            )
        elif family in UAP_HUMAN_FAMILIES | UAP_MAIL_FAMILIES:
            debatable = STALE_DESKTOP_HELD if stale_desktop(ua) else ""
            yield row("human", ua, source, seconds=1800, debatable=debatable, split=SPLIT)
        else:
            raise ValueError(
                f"uap-core family {family!r} ({ua!r}) has no label in bench/holdout3.py"
            )
    for ua in pool:
        family = families[ua]
        if ua not in taken and family in UAP_MAIL_FAMILIES | UAP_PROXY_FAMILIES:
            taken.add(ua)
            kind = "mail_proxy" if family in UAP_PROXY_FAMILIES else "human"
            source = f"{UAP_SOURCE} ({family}; held out 3: every mail client and mail proxy)"
            yield row(kind, ua, source, seconds=1800, split=SPLIT)
    libraries = [ua for ua in pool if ua not in taken and families[ua] in UAP_LIBRARY_FAMILIES]
    taken.update(libraries[::2])
    for ua in libraries[::2]:
        source = f"{UAP_SOURCE} ({families[ua]}; held out 3: every other HTTP-library row)"
        yield row("bot", ua, source, seconds=1800, split=SPLIT)


def _chrome(version: str, platform: str = "Windows NT 10.0; Win64; x64") -> str:
    return (
        f"Mozilla/5.0 ({platform}) AppleWebKit/537.36 (KHTML, like Gecko) "
        f"Chrome/{version} Safari/537.36"
    )


ILLUSTRATIVE = " (User-Agent written from the thread's description: it quotes none)"
MAC_CHROME = _chrome("131.0.0.0", "Macintosh; Intel Mac OS X 10_15_7")
IPHONE_SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_3 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.3 Mobile/15E148 Safari/604.1"
)


def thread_rows() -> Iterator[dict[str, Any]]:
    """Requests quoted (or described) in threads of projects no earlier row cited."""
    passwordless = "edalzell/laravel-passwordless-login#79 (Safe Links uses up one-time links"
    yield row(
        "security_scanner",
        _chrome("97.0.4692.99"),
        passwordless + ": the checker's request)",
        ip="20.72.100.79",
        split=SPLIT,
    )
    for ip in ("104.47.1.254", "104.47.30.126"):
        yield row(
            "security_scanner",
            "",
            passwordless + ": later checks, blank User-Agent, from Microsoft's 104.47.x)",
            ip=ip,
            split=SPLIT,
        )
    for ip in ("104.47.11.126", "104.47.11.62"):
        yield row(
            "security_scanner",
            "",
            "SergeyMosin/Appointments#293 (HEAD with no User-Agent from Microsoft's 104.47.11.0/24 "
            "before the person's click, on outlook.com and hotmail.com recipients)",
            ip=ip,
            method="HEAD",
            split=SPLIT,
        )
    opencollective = (
        "opencollective/opencollective#3656 (Outlook's ATP Safe Links fetch magic links"
    )
    yield row(
        "security_scanner",
        _chrome("72.0.3626.109"),
        opencollective + " from 40.94.16.*; address illustrative within it)",
        ip="40.94.16.20",
        split=SPLIT,
    )
    yield row(
        "security_scanner",
        _chrome("64.0.3282.140"),
        opencollective + ", Chrome version varying, from 40.107.235.*; address illustrative "
        "within it)",
        ip="40.107.235.20",
        split=SPLIT,
    )
    yield row(
        "security_scanner",
        _chrome("125.0.0.0"),
        "fleetdm/fleet#26976 (Microsoft's link scanning visits MFA links with Chrome 125 on "
        "Windows 10, 8+ versions old, from a Microsoft address)" + ILLUSTRATIVE,
        split=SPLIT,
    )
    yield row(
        "security_scanner",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "HeadlessChrome/140.0.0.0 Safari/537.36",
        "emdash-cms/emdash#3298 (22 s after sending, two GETs from Microsoft's AS8075 with a "
        "headless Chrome User-Agent, no cookies)" + ILLUSTRATIVE,
        seconds=22,
        split=SPLIT,
    )
    yield row(
        "security_scanner",
        "Mozilla/5.0 (compatible; MSIE 9.0; Windows NT 6.1; Trident/5.0)",
        "CenterForOpenScience/osf.io#7140 (Outlook setups prefetch password links, always as "
        "IE9)" + ILLUSTRATIVE,
        split=SPLIT,
    )
    yield row(
        "human",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/117.0.0.0 Safari/537.36 Edg/117.0.2045.47 OneOutlook/1.2023.927.100",
        "nextauthjs/next-auth#1840 (the new Outlook on Windows 11, with X-Native-Host)",
        headers={"X-Native-Host": "OneOutlook/1.2023.927.100"},
        seconds=1800,
        debatable="The thread reads it as Safe Links checking a link; it is the new Outlook "
        "app's own web view, which shows a person's mail.",
        split=SPLIT,
    )
    dub = (
        "dubinc/dub#2309 (X sends three HEAD requests per shared link, with browser or empty "
        "User-Agents)"
    )
    for ua, written in (
        ("", ""),
        (IPHONE_SAFARI, ILLUSTRATIVE),
        (_chrome("134.0.0.0"), ILLUSTRATIVE),
    ):
        yield row("bot", ua, dub + written, method="HEAD", seconds=60, split=SPLIT)
    yield row(
        "bot",
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; MicrosoftPreview/2.0; "
        "+https://aka.ms/MicrosoftPreview) Chrome/100.0.4896.127 Safari/537.36",
        "HyphaApp/hypha#4535 (Outlook's link preview fetching a login link)",
        ip="52.167.144.233",
        split=SPLIT,
    )
    yield row(
        "mail_proxy",
        "YahooMailProxy;%20https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html",
        "faisalman/ua-parser-js#494 (Yahoo Mail's image proxy, as a site logged it)",
        seconds=1800,
        split=SPLIT,
    )
    remix = (
        "sergiodxa/remix-utils test/server/is-prefetch.test.ts (a prefetch names itself by "
        "this header)"
    )
    for header in (
        "Purpose",
        "X-Purpose",
        "Sec-Purpose",
        "Sec-Fetch-Purpose",
        "Moz-Purpose",
        "X-Moz",
    ):
        yield row(
            "privacy_prefetch",
            MAC_CHROME,
            remix + "; browser User-Agent illustrative",
            headers={header: "prefetch"},
            seconds=1800,
            split=SPLIT,
        )


def holdout3_rows(
    crawlers: list[str], uap_cases: list[tuple[str, str]], taken: set[str]
) -> Iterator[dict[str, Any]]:
    """Split "holdout3"; ``taken`` holds every User-Agent already in the set."""
    yield from crawler_detect_rows(crawlers, taken)
    yield from uap_rows(uap_cases, taken)
    for shape in thread_rows():
        if shape["user_agent"] and shape["user_agent"] in taken:
            continue
        yield shape
