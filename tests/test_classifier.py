from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings
from hypothesis import given, settings
from hypothesis import strategies as st

import ptrack
from ptrack import Classification, Kind, classify
from ptrack.classifier import active_rules, get_classifier, markers, user_agents

CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
GMAIL = "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"
OUTLOOK = (
    "Microsoft Office/16.0 (Microsoft Outlook 16.0.12329; Pro), "
    "Mozilla/4.0 (compatible; ms-office; MSOffice 16)"
)
DATA = Path(__file__).parent / "data"
RELAY = str(DATA / "private-relay-sample.csv")


def verdict(
    ua: str, headers: dict[str, str] | None = None, ip: str | None = None, **kw: Any
) -> tuple[str, str]:
    result = classify(ua, headers or {}, ip, **kw)
    return result.kind.value, result.reason


def test_result_is_immutable_and_counts_people_and_their_proxies_as_opens() -> None:
    result = classify(GMAIL, {}, None)
    assert result == Classification(Kind.MAIL_PROXY, "gmail_image_proxy")
    assert result.counts_as_open
    assert classify(CHROME, {}, None).counts_as_open
    assert not classify("curl/8.5.0", {}, None).counts_as_open
    with pytest.raises(AttributeError):
        result.kind = Kind.BOT  # type: ignore[misc]
    assert {k.value for k in Kind} == {
        "human",
        "mail_proxy",
        "privacy_prefetch",
        "security_scanner",
        "bot",
    }
    assert Kind.BOT == "bot"
    assert str(Kind.BOT) == "bot"


def test_round_trip_through_a_dict() -> None:
    result = classify("Mozilla/5.0", {}, None)
    assert result.to_dict() == {"kind": "privacy_prefetch", "reason": "apple_mpp_user_agent"}
    assert Classification.from_dict(result.to_dict()) == result


@pytest.mark.parametrize(
    ("ua", "expected"),
    [
        (GMAIL, ("mail_proxy", "gmail_image_proxy")),
        (
            "YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html",
            ("mail_proxy", "yahoo_mail_proxy"),
        ),
        ("Chrome Privacy Preserving Prefetch Proxy", ("privacy_prefetch", "chrome_prefetch_proxy")),
        ("Barracuda Sentinel (EE)", ("security_scanner", "scanner_user_agent")),
        (
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            ("bot", "crawler"),
        ),
        ("python-requests/2.31.0", ("bot", "http_library")),
        ("Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", ("bot", "crawler")),
        (
            "Mozilla/5.0 (Windows NT 6.1; WOW64) SkypeUriPreview Preview/0.5",
            ("bot", "link_preview"),
        ),
        (
            "Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome/120.0.0.0 Safari/537.36",
            ("bot", "headless_browser"),
        ),
        (
            "Mozilla/5.0 (compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)",
            ("bot", "monitor"),
        ),
        ("SomeTool 1.0 (contact ops@example.org)", ("bot", "crawler")),
        ("", ("bot", "no_user_agent")),
        ("   ", ("bot", "no_user_agent")),
        (OUTLOOK, ("human", "mail_client")),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
            ("human", "mail_client"),
        ),
        (CHROME, ("human", "browser")),
        ("Barca/2.8.4400", ("human", "mail_client")),
        # An unknown app naming the device it runs on may be a mail client.
        ("SomethingNew/1.0 (Android 14; Pixel 8)", ("human", "no_machine_signal")),
        # A Cubot phone is a person, whatever its name ends in.
        (
            "Mozilla/5.0 (Linux; Android 13; CUBOT P80) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
            ("human", "browser"),
        ),
        # Users of Instagram's and Ecosia's apps carry an "@" that is no address.
        (
            "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36 (Ecosia android@131.0)",
            ("human", "browser"),
        ),
    ],
)
def test_user_agent_rules(ua: str, expected: tuple[str, str]) -> None:
    assert verdict(ua) == expected


@pytest.mark.parametrize(
    ("ua", "reason"),
    [
        ("Zeus", "lone_product"),
        ("Scooter/3.3", "lone_product"),
        ("Jesus Christ of Nazareth is LORD", "lone_product"),
        ("Mozilla/5.0 (compatible; tracemyfile/1.0)", "no_platform"),
        ("Mozilla/5.0 (Exchange check)", "no_platform"),
        ("Mozilla/5.0 (compatible; Detectify)", "no_platform"),
        ("acme.sectigo.com/v2/EV", "names_website"),
    ],
)
def test_agents_that_name_no_device_are_bots(ua: str, reason: str) -> None:
    assert verdict(ua) == ("bot", reason)


@pytest.mark.parametrize(
    ("ua", "reason"),
    [
        # Mail clients that send a name and a version and nothing more are known first.
        ("Barca/2.8.4400", "mail_client"),
        ("The Bat! 4.0.0.22", "mail_client"),
        ("eMClient/9.3.6041.0", "mail_client"),
        ("WindowsMail/17.5.9600.22013", "mail_client"),
        # A mail suite on an old engine is its user's client, not a scanner's disguise.
        (
            "Mozilla/5.0 (X11; Linux x86_64; rv:10.0.12) Gecko/20130823 Firefox/10.0.11esrpre Iceape/2.7.12",
            "mail_client",
        ),
        # Apple Mail's own fetch, and browsers whose compatible form names their system.
        ("Mail/1816 CFNetwork/673.0.3 Darwin/13.0.0 (x86_64) (Macmini5%2C1)", "no_machine_signal"),
        ("Mozilla/3.0 (compatible; NetPositive/2.2.1; BeOS)", "no_machine_signal"),
        ("Mozilla/4.0 (compatible; MSIE 5.0; Mac_PowerPC)", "no_machine_signal"),
        (
            "Mozilla/5.0 (compatible; Konqueror/4.4; Linux) KHTML/4.4.5 (like Gecko)",
            "no_machine_signal",
        ),
        # isbot's version pattern stops at long build numbers and suffixes, as browsers send.
        ("MozacFetch/49.0.20200702190156", "no_machine_signal"),
        ("GoogleApp/14.35.18.28.arm64", "no_machine_signal"),
    ],
)
def test_mail_clients_and_browsers_that_name_their_system_are_people(ua: str, reason: str) -> None:
    assert verdict(ua) == ("human", reason)


def test_the_bare_mpp_user_agent_is_no_lone_product() -> None:
    assert verdict("Mozilla/5.0") == ("privacy_prefetch", "apple_mpp_user_agent")


def test_a_mail_proxy_wins_over_any_bot_marker_in_the_same_user_agent() -> None:
    assert verdict(GMAIL + " crawler +http://x") == ("mail_proxy", "gmail_image_proxy")


@pytest.mark.parametrize(
    "ua",
    [
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/96.0.4664.110 Safari/537.36",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:100.0) Gecko/20100101 Firefox/100.0",
        "Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1; SV1)",
    ],
)
def test_stale_desktop_builds_are_scanners(ua: str) -> None:
    assert verdict(ua) == ("security_scanner", "stale_browser")


@pytest.mark.parametrize(
    "ua",
    [
        # Last builds for Windows 7 and for old macOS: still people.
        "Mozilla/5.0 (Windows NT 6.1; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/109.0.0.0 Safari/537.36",
        "Mozilla/5.0 (Windows NT 6.1; Win64; x64; rv:115.0) Gecko/20100101 Firefox/115.0",
        # Mail clients embed old engines; an old Android WebView is a phone.
        "Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/51.0.2704.103 Safari/537.36 Mailbird/2.4.30.0/",
        "Mozilla/5.0 (Linux; Android 10; LIO-AL00; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/78.0.3904.108 Mobile Safari/537.36",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Evernote/10.8.5 Chrome/87.0.4280.88 Electron/11.1.1 Safari/537.36",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
    ],
)
def test_current_builds_mail_clients_and_phones_are_not_stale(ua: str) -> None:
    assert verdict(ua)[0] == "human"


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Purpose": "prefetch"},
        {"sec-purpose": "prefetch;prerender"},
        {"PURPOSE": "Prefetch"},
        {"X-Moz": "prefetch"},
        {"X-Purpose": "preview"},
        {"X-Sec-Purpose": "prefetch"},
    ],
)
def test_prefetch_headers_in_any_case(headers: dict[str, str]) -> None:
    assert verdict(CHROME, headers) == ("privacy_prefetch", "prefetch_header")


def test_unrelated_headers_change_nothing() -> None:
    assert verdict(CHROME, {"Accept": "image/*", "Sec-Purpose": ""}) == ("human", "browser")


def test_anything_but_get_or_head_is_a_bot() -> None:
    assert verdict(CHROME, method="POST") == ("bot", "not_get")
    assert verdict("curl/8.4.0", method="OPTIONS") == ("bot", "not_get")


@pytest.mark.parametrize("ua", [CHROME, "", OUTLOOK, "Mozilla/5.0"])
def test_a_head_request_is_a_scanner(ua: str) -> None:
    # Mail security products check links with HEAD; no client showing an image sends one.
    assert verdict(ua, method="HEAD") == ("security_scanner", "head_request")


@pytest.mark.parametrize(
    ("ua", "expected"),
    [
        ("curl/8.4.0", ("bot", "http_library")),
        (
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            ("bot", "crawler"),
        ),
        ("Zeus", ("bot", "lone_product")),
    ],
)
def test_a_head_request_from_an_agent_naming_a_bot_stays_a_bot(
    ua: str, expected: tuple[str, str]
) -> None:
    assert verdict(ua, method="HEAD") == expected


# As device-detector's bots.yml and crawler-user-agents give them (their instances).
@pytest.mark.parametrize(
    "ua",
    [
        "Kaspersky Lab CFR link resolver cfradmins@kaspersky.com",
        "Mozilla/5.0 (X11; U; Linux i686; ru; rv:1.9.0.5) Gecko/2008121621 Ubuntu/8.04 (hardy) "
        "Firefox/3.0.5 WebMoney Advisor",
        "Mozilla/5.0 (Windows; U; MSIE 9.0; Windows NT 9.0; en-US) AppEngine-Google; "
        "(+http://code.google.com/appengine; appid: s~virustotalcloud)",
        "K7MLWCBot/1.0 (+http://www.k7computing.com)",
        "TwinWaveScanner",
        "Mozilla/5.0 (compatible; CloudflareRadarURLScanner; +https://radar.cloudflare.com/)",
        "Cloudflare-Radar-Scanner",
        "Unshorten.It!/1.0 (https://unshorten.it/)",
        "SafeDNSBot (https://www.safedns.com/searchbot)",
        "UrlBeeBot",
        "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, "
        "like Gecko) Chrome/114.0.5735.179 Mobile Safari/537.36 (compatible; Google-Safety; "
        "+http://www.google.com/bot.html)",
        "SendGrid Event API",
        # Yandex Safe Browsing's robot, and the URL categorisers filters consult
        "Mozilla/5.0 (compatible; YandexAntivirus/2.0; +http://yandex.com/bots)",
        "Mozilla/5.0 (Windows NT 6.1; Win64; x64; +http://www.komodia.com/newwiki/index.php/"
        "URL_server_crawler) KomodiaBot/1.0",
        "Mozilla/5.0 (Windows NT 6.1; Win64; x64; +http://url-classification.io/wiki/index.php?"
        "title=URL_server_crawler) KStandBot/1.0",
        "HuaweiWebCatBot/6.0) (To acquire the allowed html pages as reliable information of URL "
        "categorization in the automatic process for Huawei Web Categorization.; "
        "https://isecurity.huawei.com/; sec at huawei dot com)",
        "Mozilla/5.0 (compatible; oBot/2.3.1; http://www.xforce-security.com/crawler/)",
        "Mozilla/5.0 (compatible; oBot/2.3.1; +http://filterdb.iss.net/crawler/)",
    ],
)
def test_products_that_check_a_link_for_its_reader_are_scanners(ua: str) -> None:
    assert verdict(ua) == ("security_scanner", "link_checker")


# Read from vendors' pages and logged agents for issue 23 (docs/truthful-opens.md, rule 8).
@pytest.mark.parametrize(
    "ua",
    [
        # Blue Coat WebPulse's dynamic rating: the names BBClone's agent rules match, in
        # agents of the shape those rules were written for
        "Mozilla/4.0 (compatible; MSIE 6.0; Bluecoat DRTR)",
        "Mozilla/4.0 (compatible; Cerberian Drtrs Version-3.2-Build-0)",
        # as botcrawl.com's record quotes it from server logs
        "Norton-Safeweb",
        # as the vendors' own pages give them
        "HuaweiSymantecSpider/1.0+DSE-support@huaweisymantec.com+(compatible; MSIE 7.0; "
        "Windows NT 5.1; Trident/4.0; .NET CLR 2.0.50727; .NET CLR 3.0.4506.2152; .NET CLR; "
        "http://www.huaweisymantec.com/cn/IRL/spider)",
        "Mozilla/5.0 (compatible; URLertBot/1.0; +https://urlert.com/bot)",
    ],
)
def test_link_checkers_named_in_vendors_pages_are_scanners(ua: str) -> None:
    assert verdict(ua) == ("security_scanner", "link_checker")


@pytest.mark.parametrize(
    "ua",
    [
        "Mozilla/5.0 (compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html)",
        "Mozilla/5.0 (compatible; CensysInspect/1.1; +https://about.censys.io/)",
        "Mozilla/5.0 (Windows; U; Windows NT 6.1; en-US; rv:1.9.2) Gecko/20100115 Firefox/3.6 "
        "MSIE 7.0; Sucuri Integrity Monitor/2.4",
        # Security search bots, and a brand owner's phishing hunter: none acts for a reader
        "Riddler (http://riddler.io/about)",
        "TLSProbe/1.0 (+https://scan.trustnet.venafi.com/)",
        "LinkWalker/3.0 (http://www.brandprotect.com)",
        # A bot's name ending in "obot", which IBM's oBot marker must not catch
        "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
    ],
)
def test_internet_scanners_and_site_monitors_stay_bots(ua: str) -> None:
    assert verdict(ua)[0] == "bot"


# Each library's default User-Agent, as its source builds it, some with a comment that
# names a system (which once let them pass for an unknown app).
@pytest.mark.parametrize(
    "ua",
    [
        "Java-http-client/17.0.8",
        "Faraday v2.7.11",
        "hyper/0.14.27",
        "wget2/2.1.0",
        "HTTPie/3.2.2",
        "aws-sdk-go/1.44.0 (go1.20.4; linux; amd64)",
        "aws-cli/2.13.0 Python/3.11.4 Linux/6.1.0 exe/x86_64.debian.12",
        "Boto3/1.28.0 md/Botocore#1.31.0 ua/2.0 os/linux#6.1.0 md/arch#x86_64 lang/python#3.11.4",
        "go-resty/2.10.0 (https://github.com/go-resty/resty)",
        "ureq/2.9.1",
        "http.rb/5.1.1",
        "excon/0.104.0",
        "node-superagent/8.1.2",
        "Ktor client",
        "Jersey/2.41 (HttpUrlConnection 17.0.8)",
        "ReactorNetty/1.1.10",
        "akka-http/10.5.2",
        "unirest-java/3.14.5",
        "Symfony HttpClient (Curl)",
        "hackney/1.20.1",
        "HTTP-Tiny/0.088",
        "Mozilla/5.0 (Windows NT; Windows NT 10.0; en-US) WindowsPowerShell/5.1.19041.3031",
        "Wget/1.21.4 (linux-gnu)",
        "Python/3.12 aiohttp/3.9.1",
        "okhttp/4.12.0",
        "Apache-HttpClient/4.5.14 (Java/17.0.8)",
        "GuzzleHttp/7",
        "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)",
        "axios/1.6.2",
        "undici",
        "Ruby",
        "reqwest/0.11.22",
        "PycURL/7.45.2 libcurl/8.4.0 OpenSSL/3.0.11",
        "SomeService/2.0 (Linux; OpenJDK 64-Bit Server VM 17.0.8)",
        # .NET Framework's SOAP client (HttpWebClientProtocol.UserAgentDefault): an old IE token
        # naming no system, which no other rule reads
        "Mozilla/4.0 (compatible; MSIE 6.0; MS Web Services Client Protocol 4.0.30319.42000)",
    ],
)
def test_http_libraries_are_bots(ua: str) -> None:
    assert verdict(ua) == ("bot", "http_library")


@pytest.mark.parametrize(
    ("ua", "expected"),
    [
        (OUTLOOK, ("human", "mail_client")),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:115.0) Gecko/20100101 Thunderbird/115.6.0",
            ("human", "mail_client"),
        ),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)",
            ("human", "mail_client"),
        ),
        ("Mail/3774.500.171 CFNetwork/1494.0.7 Darwin/23.4.0", ("human", "no_machine_signal")),
        (
            "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17126; Pro)",
            ("human", "mail_client"),
        ),
        ("Outlook-iOS/723.4027091.prod.iphone (4.2416.0)", ("human", "mail_client")),
        ("eM Client/9.2.2157.0", ("human", "mail_client")),
        (
            "Dalvik/2.1.0 (Linux; U; Android 14; Pixel 8 Build/UQ1A.240105.004)",
            ("human", "no_machine_signal"),
        ),
        (GMAIL, ("mail_proxy", "gmail_image_proxy")),
        (
            "YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html",
            ("mail_proxy", "yahoo_mail_proxy"),
        ),
    ],
)
def test_mail_clients_and_proxies_are_not_taken_for_libraries(
    ua: str, expected: tuple[str, str]
) -> None:
    assert verdict(ua, seconds_since_issued=3600) == expected


@override_settings(PTRACK_MACHINE_WINDOW=10)
def test_a_browser_within_the_machine_window_is_a_scanner_and_a_mail_client_is_not() -> None:
    assert verdict(CHROME, seconds_since_issued=3) == ("security_scanner", "within_machine_window")
    assert verdict(CHROME, seconds_since_issued=10) == ("human", "browser")
    assert verdict(CHROME, seconds_since_issued=None) == ("human", "browser")
    assert verdict(OUTLOOK, seconds_since_issued=1) == ("human", "mail_client")
    assert verdict(GMAIL, seconds_since_issued=1) == ("mail_proxy", "gmail_image_proxy")
    # The rule judges browsers only: an unknown client may be a mail app.
    assert verdict("SomethingNew/1.0 (Android 14; Pixel 8)", seconds_since_issued=1) == (
        "human",
        "no_machine_signal",
    )


@override_settings(PTRACK_MACHINE_WINDOW=0)
def test_a_zero_window_turns_the_timing_rule_off() -> None:
    assert verdict(CHROME, seconds_since_issued=0.5) == ("human", "browser")


@pytest.mark.parametrize(
    ("ip", "label"),
    [
        ("40.92.4.17", "microsoft_eop"),
        ("104.47.58.100", "microsoft_eop"),
        ("2a01:111:f403:c200::5", "microsoft_eop"),
        ("::ffff:40.107.22.93", "microsoft_eop"),
        ("209.222.82.44", "barracuda_egd"),
        # Edges of the Mimecast blocks, and hosts seen delivering mail from them.
        ("170.10.129.0", "mimecast"),
        ("170.10.129.124", "mimecast"),
        ("170.10.133.255", "mimecast"),
        ("185.58.85.151", "mimecast"),
        ("::ffff:185.58.86.255", "mimecast"),
        # Exchange Online Protection in the US Government clouds: the first and last
        # addresses of the blocks, and inside the IPv6 ones.
        ("23.103.191.0", "microsoft_eop"),
        ("23.103.199.255", "microsoft_eop"),
        ("23.103.204.0", "microsoft_eop"),
        ("23.103.211.255", "microsoft_eop"),
        ("2001:489a:2202:1::25", "microsoft_eop"),
        ("2001:489a:2202:f:ffff::1", "microsoft_eop"),
        ("2001:489a:2202:2001::9", "microsoft_eop"),
        # Cloudflare Email Security's own egress addresses.
        ("52.0.67.109", "cloudflare_email_security"),
        ("35.157.195.63", "cloudflare_email_security"),
        ("158.51.64.0", "cloudflare_email_security"),
        ("158.51.65.63", "cloudflare_email_security"),
        # SEPPmail.cloud's Swiss and German delivery ranges.
        ("86.119.9.7", "seppmail_cloud"),
        ("217.20.196.95", "seppmail_cloud"),
        ("162.55.72.192", "seppmail_cloud"),
        ("162.55.72.223", "seppmail_cloud"),
        ("2001:620:5ca1:4018:f816:3eff:fec2:5cd6", "seppmail_cloud"),
        ("2a01:4f8:272:5fe6::218", "seppmail_cloud"),
    ],
)
def test_shipped_gateway_networks_are_scanners_whatever_the_user_agent(ip: str, label: str) -> None:
    for user_agent in (CHROME, OUTLOOK, "curl/8.5.0", ""):
        assert verdict(user_agent, ip=ip) == ("security_scanner", label)


@pytest.mark.parametrize(
    "ip",
    [
        "40.94.89.23",
        "2a01:111:f404::1",
        # One address either side of each Mimecast block.
        "170.10.128.255",
        "170.10.130.0",
        "170.10.132.255",
        "170.10.134.0",
        "185.58.84.255",
        "185.58.87.0",
        # One address either side of the US Government EOP blocks; the GCC High
        # client range (Outlook on the web) and set 6's portal address stay out.
        "23.103.190.255",
        "23.103.192.0",
        "23.103.198.255",
        "23.103.200.0",
        "23.103.203.255",
        "23.103.212.0",
        "2001:489a:2202:10::1",
        "2001:489a:2202:2002::1",
        "20.35.208.1",
        "52.227.182.149",
        # Next to Cloudflare Email Security's: its shared /19 and /23 are not shipped.
        "52.0.67.110",
        "158.51.64.64",
        "158.51.65.64",
        "104.30.32.1",
        "134.195.26.1",
        "2405:8100:c400::1",
        # Next to SEPPmail.cloud's, and its private-instance hosts.
        "86.119.9.8",
        "86.119.57.8",
        "217.20.196.63",
        "217.20.196.96",
        "162.55.72.191",
        "162.55.72.224",
        "2001:620:5ca1:200c::1",
        "78.47.79.19",
        "not-an-ip",
        "",
        "1.2.3",
    ],
)
def test_addresses_outside_the_lists_or_unparseable_decide_nothing(ip: str) -> None:
    assert verdict(CHROME, ip=ip) == ("human", "browser")


def test_without_a_relay_list_mpp_is_told_by_its_user_agent_alone() -> None:
    assert verdict("Mozilla/5.0", ip="172.224.226.5") == (
        "privacy_prefetch",
        "apple_mpp_user_agent",
    )


@override_settings(PTRACK_PRIVATE_RELAY_FILE=RELAY)
def test_mpp_is_told_by_its_bare_user_agent_and_confirmed_by_the_relay_list() -> None:
    assert verdict("Mozilla/5.0", ip="172.224.226.5") == ("privacy_prefetch", "apple_mpp_relay")
    assert verdict("Mozilla/5.0", ip="198.51.100.1") == ("privacy_prefetch", "apple_mpp_user_agent")
    assert verdict("Mozilla/5.0", ip=None) == ("privacy_prefetch", "apple_mpp_user_agent")
    # A person browsing through Private Relay in Safari is a person.
    safari = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15"
    assert verdict(safari, ip="172.224.226.5") == ("human", "browser")


@override_settings(
    PTRACK_EXTRA_NETWORKS=[
        ("40.92.0.0/24", "human", "our_own_relay"),
        ("203.0.113.0/24", "security_scanner", "our_gateway"),
    ],
    PTRACK_EXTRA_RULES=[(r"AcmeLinkCheck/\d", "bot", "acme_link_checker")],
)
def test_site_rules_and_networks_come_first() -> None:
    assert verdict(CHROME, ip="203.0.113.50") == ("security_scanner", "our_gateway")
    assert verdict(CHROME, ip="40.92.0.9") == ("human", "our_own_relay")
    assert verdict(CHROME, ip="40.92.1.9") == ("security_scanner", "microsoft_eop")
    assert verdict("acmelinkcheck/2 " + GMAIL) == ("bot", "acme_link_checker")


@override_settings(
    PTRACK_EXTRA_NETWORKS=[("nonsense", "bot", "x")],
    PTRACK_EXTRA_RULES=[("(", "bot", "x")],
    PTRACK_MACHINE_WINDOW="10",
)
def test_rejected_site_settings_are_logged_and_left_out(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="ptrack"):
        assert verdict(CHROME, ip="1.2.3.4", seconds_since_issued=1) == ("human", "browser")
    assert "PTRACK_EXTRA_NETWORKS ignored" in caplog.text
    assert "PTRACK_EXTRA_RULES ignored" in caplog.text


def test_a_user_agent_is_analysed_once_and_the_memory_stays_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("ptrack.classifier.engine._MEMO_SIZE", 3)
    current = active_rules()
    current._memo.clear()
    for n in range(3):
        classify(f"Agent/{n}", {}, None)
    assert len(current._memo) == 3
    classify("Agent/0", {}, None)
    assert len(current._memo) == 3
    classify("Agent/99", {}, None)
    assert list(current._memo) == ["Agent/99"]


@override_settings(PTRACK_EXTRA_NETWORKS=[("203.0.113.0/24", "security_scanner", "our_gateway")])
def test_an_address_is_looked_up_once_and_the_memory_stays_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("ptrack.classifier.engine._MEMO_SIZE", 3)
    current = active_rules()
    searched: list[tuple[int, int]] = []
    find = current.extra_networks.find
    monkeypatch.setattr(current.extra_networks, "find", lambda *a: searched.append(a) or find(*a))
    # The same answers past the memory's size, whether an address is new or seen.
    for _ in range(2):
        for n in (1, 2, 3, 4):
            assert verdict(CHROME, ip=f"203.0.113.{n}") == ("security_scanner", "our_gateway")
            assert verdict(CHROME, ip=f"192.0.2.{n}") == ("human", "browser")
    assert verdict(CHROME, ip="not an address") == ("human", "browser")
    assert len(current._addresses) <= 3
    searched.clear()
    for _ in range(5):
        verdict(CHROME, ip="198.51.100.7")
    assert len(searched) == 1  # kept after the first load
    with override_settings(PTRACK_EXTRA_NETWORKS=[("198.51.100.0/24", "bot", "moved")]):
        assert verdict(CHROME, ip="198.51.100.7") == ("bot", "moved")  # not kept across settings


def test_the_rules_are_rebuilt_when_settings_change() -> None:
    before = active_rules()
    with override_settings(PTRACK_MACHINE_WINDOW=30):
        assert active_rules() is not before
        assert active_rules().machine_window == 30


def test_the_classifier_setting_names_a_replacement() -> None:
    assert get_classifier() is ptrack.classifier.classify
    with override_settings(PTRACK_CLASSIFIER="tests.test_classifier.always_bot"):
        assert get_classifier() is always_bot


def always_bot(user_agent: str, headers: Any, ip: str | None, **kwargs: Any) -> Classification:
    return Classification(Kind.BOT, "always")


class TestPrivateRelayFile:
    def test_a_missing_file_is_logged_once_and_matches_nothing(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr("ptrack.classifier.sources._PRIVATE_RELAY_RECHECK_SECONDS", 0)
        missing = str(tmp_path / "absent.csv")
        with (
            override_settings(PTRACK_PRIVATE_RELAY_FILE=missing),
            caplog.at_level(logging.WARNING, "ptrack"),
        ):
            assert verdict("Mozilla/5.0", ip="172.224.226.5")[1] == "apple_mpp_user_agent"
            assert verdict("Mozilla/5.0", ip="172.224.226.5")[1] == "apple_mpp_user_agent"
        assert caplog.text.count("PTRACK_PRIVATE_RELAY_FILE") == 1
        assert repr(missing) in caplog.text

    def test_a_refreshed_file_is_picked_up_and_a_broken_one_keeps_the_last_good_list(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr("ptrack.classifier.sources._PRIVATE_RELAY_RECHECK_SECONDS", 0)
        path = tmp_path / "egress.csv"
        path.write_text("192.0.2.0/24,US,US-CA,Los Angeles,\n")
        with override_settings(PTRACK_PRIVATE_RELAY_FILE=str(path)):
            assert verdict("Mozilla/5.0", ip="192.0.2.9")[1] == "apple_mpp_relay"
            path.write_text("198.51.100.0/24,US,US-CA,Los Angeles,\n")
            os.utime(path, ns=(1, 2_000_000_000))
            assert verdict("Mozilla/5.0", ip="192.0.2.9")[1] == "apple_mpp_user_agent"
            assert verdict("Mozilla/5.0", ip="198.51.100.7")[1] == "apple_mpp_relay"
            path.write_text("garbage\n")
            os.utime(path, ns=(1, 3_000_000_000))
            with caplog.at_level(logging.WARNING, "ptrack"):
                assert verdict("Mozilla/5.0", ip="198.51.100.7")[1] == "apple_mpp_relay"
            assert "'garbage' is not an IP network prefix" in caplog.text

    def test_the_file_is_read_again_only_after_the_recheck_interval(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        path = tmp_path / "egress.csv"
        path.write_text("192.0.2.0/24,,,,\n")
        with override_settings(PTRACK_PRIVATE_RELAY_FILE=str(path)):
            assert verdict("Mozilla/5.0", ip="192.0.2.9")[1] == "apple_mpp_relay"
            path.unlink()
            assert verdict("Mozilla/5.0", ip="192.0.2.9")[1] == "apple_mpp_relay"


def test_rule_families_name_their_markers() -> None:
    assert user_agents.family("x googleimageproxy y") == ("mail_proxy", "gmail_image_proxy")
    assert user_agents.family("mozilla/5.0 (cubot note 30)") is None
    assert markers.MAIL_CLIENT.find("thunderbird/115") == "mail_client"
    assert markers.MAIL_CLIENT.find("chrome/131") is None


def test_hostile_user_agents_cost_time_in_proportion_to_their_length() -> None:
    # Quadratic backtracking would take minutes on these; linear work is instant.
    for ua in (
        "a" * 20000 + "@" + "b" * 20000,
        ("a@" * 10000),
        "x." * 20000 + "@",
        "a " * 20000 + "/1" + ".1" * 20000 + "!",
        "mozilla/5.0 (" + "compatible " * 5000,
    ):
        assert classify(ua, {}, None).kind in (Kind.BOT, Kind.HUMAN)


def test_every_shipped_network_names_a_kind() -> None:
    from ptrack.classifier import KINDS, vendor_networks

    assert {kind for kind, _ in vendor_networks()._entries} <= KINDS


# family() skips the parts of a browser's User-Agent that cannot hold a marker.
# Its answer must be the one a scan of the whole string gives.

_MARKERS = list(markers.RANK)


def _whole_scan_family(ua: str) -> tuple[str, str] | None:
    """family() as a plain scan of the whole string, without skipping anything."""
    text = ua.replace("cubot", "") if "cubot" in ua else ua
    best, marker = len(markers.FAMILIES), ""
    match = markers.ANY.search(text)
    while match is not None:
        rank = markers.RANK[match.group()]
        if rank < best:
            best, marker = rank, match.group()
            if rank == 0:
                break
        match = markers.ANY.search(text, match.end())
    if best < len(markers.FAMILIES):
        name, family = markers.FAMILIES[best]
        return name, family.reasons[marker]
    if "@" in text and markers.EMAIL.search(text):
        return "bot", "crawler"
    return None


def _overlaps(marker: str, fragment: str) -> bool:
    """Whether an occurrence of ``marker`` can share a character with one of ``fragment``."""
    if marker in fragment or fragment in marker:
        return True
    return any(
        marker[-k:] == fragment[:k] or marker[:k] == fragment[-k:]
        for k in range(1, min(len(marker), len(fragment)))
    )


@pytest.mark.parametrize("fragment", user_agents.BROWSER_FRAGMENTS)
def test_no_marker_can_overlap_a_skipped_fragment(fragment: str) -> None:
    assert user_agents._BLANK not in "".join(_MARKERS)
    assert [m for m in _MARKERS if _overlaps(m, fragment)] == []


@pytest.mark.parametrize("head", user_agents.SKIPPED_HEADS)
def test_no_marker_can_start_in_a_skipped_prefix(head: str) -> None:
    # The scan starts after the prefix: a marker may end before it, never begin in it.
    assert head.startswith(user_agents.BROWSER_PREFIX[:-1])
    assert [
        m
        for m in _MARKERS
        if m in head or any(head[-k:] == m[:k] for k in range(1, min(len(m), len(head)) + 1))
    ] == []


def test_a_marker_starting_with_the_prefix_s_parenthesis_is_found() -> None:
    # Go's runtime in the comment where a browser puts its platform (Hypothesis found it).
    assert verdict("Mozilla/5.0 (go1.20.4; linux; amd64)") == ("bot", "http_library")


def test_skipping_fragments_changes_no_answer_on_the_labelled_set() -> None:
    from bench.score_classifier import load_shapes

    for shape in load_shapes():
        ua = shape.user_agent.strip().lower()
        assert user_agents.family(ua) == _whole_scan_family(ua), ua


_PIECES = [
    user_agents.BROWSER_PREFIX,
    *user_agents.BROWSER_PLATFORMS,
    *user_agents.BROWSER_FRAGMENTS,
    *_MARKERS,
    # A marker cut where LOCATE starts seeking it: the key without the rest must find nothing.
    *(marker[:offset] for marker, offset in markers._OFFSETS.items() if offset),
    *(marker[offset:] for marker, offset in markers._OFFSETS.items() if offset),
    "cubot",
    "@x.io",
    " ",
    "(",
    ")",
    ";",
    "/",
]


@given(
    st.lists(
        st.one_of(
            st.sampled_from(_PIECES),
            st.text(alphabet="abcdeghiklmnoprstuwxy0123456789 ()/;.-@+!%:_", max_size=4),
        ),
        max_size=12,
    )
)
@settings(max_examples=600, deadline=None)
def test_skipping_fragments_changes_no_answer_on_any_string(pieces: list[str]) -> None:
    ua = "".join(pieces)
    assert user_agents.family(ua) == _whole_scan_family(ua)
    browser = user_agents.BROWSER_PREFIX + ua
    assert user_agents.family(browser) == _whole_scan_family(browser)


# LOCATE seeks each marker from a character of it few User-Agents hold and checks the
# whole marker behind; family() scans with ANY only where it finds one, from LOCATE_BACK
# characters before it. Both must hold for any set of markers, not only the shipped one.


def test_the_locator_finds_every_shipped_marker_and_where_it_starts() -> None:
    for marker in _MARKERS:
        key = marker[markers._OFFSETS[marker] :]
        for text in (marker, "q " + marker + " q", key, marker[1:], marker[:-1], "q" + key):
            located = markers.LOCATE.search(text)
            assert (located is None) == (markers.ANY.search(text) is None), (marker, text)
        located = markers.LOCATE.search("q " + marker)
        assert located is not None
        assert located.start() - markers.LOCATE_BACK <= 2, marker


@given(st.data())
@settings(max_examples=800, deadline=None)
def test_the_locator_finds_the_first_marker_of_any_marker_set(data: st.DataObject) -> None:
    word = st.text(alphabet="aeox/j ", min_size=1, max_size=6)
    words = data.draw(st.lists(word, min_size=1, max_size=8, unique=True))
    pieces = data.draw(st.lists(st.one_of(st.sampled_from(words), word), max_size=10))
    text = "".join(pieces)
    offsets = markers._key_offsets(words, markers._FREQUENCY)
    locate = re.compile(markers._locator_pattern(offsets))
    scan = re.compile(markers._trie_pattern(words))
    starts = [i for i in range(len(text)) for w in words if text.startswith(w, i)]
    located = locate.search(text)
    assert (located is None) == (not starts)
    if located is not None:
        back = located.start() - max(offsets.values())
        assert min(starts) >= back
        assert scan.findall(text, max(0, back)) == scan.findall(text)


# machine_shape() reads a lone product in two steps; one pattern, as isbot has it, is the reference.
_LONE_PRODUCT_AS_ONE_PATTERN = re.compile(
    r"^[\w \.\-\(?:\):%]+(?:/v?\d+(?:\.\d+)?(?:\.\d{1,10})*?)?(?:,|$)"
)


@given(st.text(alphabet="ab ().?:%-_/,v19\n;é", max_size=24))
@settings(max_examples=600, deadline=None)
def test_a_lone_product_is_read_as_one_pattern_reads_it(ua: str) -> None:
    one_pattern = _LONE_PRODUCT_AS_ONE_PATTERN.match(ua) is not None
    assert (user_agents.machine_shape(ua) == "lone_product") == one_pattern


@override_settings(
    PTRACK_EXTRA_NETWORKS=[("203.0.113.0/24", "security_scanner", "our_gateway")],
)
def test_a_mail_proxy_user_agent_decides_before_any_network() -> None:
    for ip in ("203.0.113.50", "40.92.4.17", "::ffff:185.58.85.151"):
        assert verdict(GMAIL, ip=ip) == ("mail_proxy", "gmail_image_proxy")
    assert verdict(CHROME, ip="203.0.113.50") == ("security_scanner", "our_gateway")
    assert verdict(CHROME, ip="40.92.4.17") == ("security_scanner", "microsoft_eop")


@override_settings(
    PTRACK_EXTRA_RULES=[(r"AcmeLinkCheck/\d", "security_scanner", "acme_link_checker")]
)
@pytest.mark.parametrize("method", ["HEAD", "POST"])
def test_site_rules_come_first_whatever_the_method(method: str) -> None:
    assert verdict("AcmeLinkCheck/2", method=method) == ("security_scanner", "acme_link_checker")
    assert verdict("curl/8.4.0", method=method)[0] == "bot"


@pytest.mark.parametrize(
    "ua",
    [
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/96.0.4664.110 Safari/537.36",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/80.0.3987.149 Safari/537.36",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:100.0) Gecko/20100101 Firefox/100.0",
    ],
)
def test_stale_builds_on_every_desktop_system_are_scanners(ua: str) -> None:
    assert verdict(ua) == ("security_scanner", "stale_browser")


def test_an_old_build_naming_android_beside_a_desktop_system_is_not_stale() -> None:
    # An Android device asking for desktop pages, or an Android app on a PC, names both
    # systems; Android builds lag behind desktop ones, so the desktop threshold does not apply.
    ua = (
        "Mozilla/5.0 (X11; Linux x86_64; Android 10; K) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/96.0.4664.104 Safari/537.36"
    )
    assert verdict(ua) == ("human", "browser")


@pytest.mark.parametrize(
    "ua",
    [
        "Barracuda Sentinel (EE) python-requests/2.31.0",
        "python-requests/2.31.0 (mimecast url check)",
        "Mozilla/5.0 (compatible; Googlebot/2.1) Proofpoint",
    ],
)
def test_a_scanner_marker_wins_over_a_bot_marker_wherever_each_stands(ua: str) -> None:
    assert verdict(ua) == ("security_scanner", "scanner_user_agent")


def test_internet_explorer_11_is_a_browser() -> None:
    ie11 = "Mozilla/5.0 (Windows NT 10.0; WOW64; Trident/7.0; rv:11.0) like Gecko"
    assert verdict(ie11) == ("human", "browser")
    with override_settings(PTRACK_MACHINE_WINDOW=10):
        assert verdict(ie11, seconds_since_issued=1) == (
            "security_scanner",
            "within_machine_window",
        )


def test_the_longer_of_two_markers_sharing_a_start_decides() -> None:
    from ptrack.classifier.markers import Markers

    markers = Markers({"bot": "crawler", "boto3/": "http_library", "google-": "crawler"})
    assert markers.find("boto3/1.28.0") == "http_library"
    assert markers.find("x-bot y") == "crawler"
    assert markers.find("boto") == "crawler"
    assert markers.find("google-site-verification") == "crawler"
    assert verdict("Google-Site-Verification/1.0") == ("bot", "crawler")


@pytest.mark.parametrize(
    "ua",
    [
        # Shapes of browscap's email clients (resources/user-agents/email-clients at
        # 6c0c9208f931), versions and systems filled in.
        "Eudora/6.2.4 (MacOS)",
        "CamelHttpStream/1.0 Evolution/3.28.5",
        "Evolution/3.36.5",
        "Mozilla/5.0 (Windows NT 6.1; WOW64; rv:38.0) Gecko/20100101 Goanna/2.0 FossaMail/25.2.0",
        "Mozilla/5.0 (X11; Linux x86_64; rv:38.0) Gecko/20100101 Firefox/38.0 Framabird/38.0",
        "Incredimail 2.5 (Windows NT 6.1)",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.21 (KHTML, like Gecko) KMail2/4.14.10 "
        "Safari/537.21",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.21 (KHTML, like Gecko) Kontact/4.14.10 "
        "Safari/537.21",
        "Mozilla/5.0 (Freebox; Linux i686) AppleWebKit/535.22 (KHTML, like Gecko) Mail Free/1.0 "
        "Safari/535.22",
        "mobmail android 2.1.3",
        "Pocomail/4.8",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_8_4) AppleWebKit/536.30.1 (KHTML, like Gecko) "
        "Sparrow/1.6.4",
        "Mozilla/5.0 (Windows NT 6.1; rv:10.0) Gecko/20100101 Prism/1.0b4 zdesktop/7.2.7",
        "YahooMobileMail/1.0 (Android Mail; 1.4.4) (supersonic;HTC;PC36100;2.3.3/GRI40)",
    ],
)
def test_the_mail_clients_browscap_lists_are_people(ua: str) -> None:
    # Seconds after sending, and however old their engine: a mail client is a reader.
    assert verdict(ua, seconds_since_issued=1) == ("human", "mail_client")
