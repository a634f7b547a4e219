"""Build ptrack/classifier/data/bot-names.txt from the public bot lists, pinned.

    python -m bench.build_bot_names --urls          # where to fetch each upstream file
    python -m bench.build_bot_names UPSTREAM_DIR    # rebuild the names file

The names come from four lists, each read at a pinned commit: device-detector's
``regexes/bots.yml``, crawler-user-agents' ``crawler-user-agents.json``, isbot's
``src/patterns.json`` and browscap's crawler files (``resources/user-agents/crawlers``,
listed with their blob ids in ``bench/browscap_crawlers.txt``). An entry of the first
three that is a plain name, or a pattern made only of literals, alternations and
optional parts, gives the names it spells out; an entry using any other regex
feature gives none. A browscap entry gives its name (its comment) as the
User-Agents it matches spell it: the whole name, the name run together, or the
longest start of it that those User-Agents hold. Each name is kept as its words
(runs of letters, lower-cased), which is how ``ptrack.classifier``
matches it, and is left out when:

- a marker of ``ptrack.classifier.markers`` already finds it (``ahrefsbot``);
- it has a word of the browser prefix, platforms or fragments that the
  classifier skips before it looks for names (``Compatible Optimizer``,
  ``Windows-RSS-Platform``);
- it has a digit (``ltx71``, ``A360-Search``): words are runs of letters, so
  ``a search`` is all that would be left of it;
- a word of it holds ``mail`` or ``proxy`` (``fastmailua``, ``yandexuserproxy``):
  a mail provider's fetcher, or a proxy fetching for someone viewing, may be a
  reader's open, and the lists do not say which;
- it is one common word (``email``, ``fetch``, ``rest``; ``COMMON_WORDS``),
  which an app a person uses could carry as well, or ``daum``, a portal whose
  mail app device-detector tells apart from its robot;
- it has fewer than four letters in all (``ds9``, ``y!j``), too
  short to be told from a word of some other product;
- its words occur, in order and next to each other, in any User-Agent of a
  person's browser, app or device in device-detector's device and client
  fixtures, isbot's browser fixtures, or the labelled set's people and mail
  proxies outside split ``holdout3`` (which stays unseen).

The first list naming a name is recorded as its source.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

from bench.score_classifier import load_shapes
from bench.upstream_fixtures import (
    CRAWLER_USER_AGENTS,
    Upstream,
    UpstreamError,
    fixture_user_agents,
    isbot_groups,
    print_urls,
    read_upstream,
)
from ptrack.classifier import markers, user_agents
from ptrack.classifier.names import words

OUTPUT = Path(__file__).resolve().parent.parent / "ptrack" / "classifier" / "data" / "bot-names.txt"

# The lists, and the people's User-Agents a name must never be found in.
_DD_PEOPLE = {
    "Tests/Parser/Client/fixtures/browser.yml": "cf0ff51520cc70a76b1a274dc609887e8e04b575",
    "Tests/Parser/Client/fixtures/mediaplayer.yml": "a28cab98ed01dd3709c752b036d170dadebd9e73",
    "Tests/Parser/Client/fixtures/mobile_app.yml": "43cbb1bf96849774c82014e170d5b9091a805e7d",
    "Tests/Parser/Client/fixtures/pim.yml": "93a2a526eff7def3245bfc100cdca449bcfdbb49",
    "Tests/fixtures/camera.yml": "1bf32b37cfdc0b439305e14c1df1914aebf4698c",
    "Tests/fixtures/car_browser.yml": "02769138387395fcd63816ef25778acc400c04c6",
    "Tests/fixtures/clienthints-app.yml": "26d29347c430750864902c4ae66ff29fe6eabf52",
    "Tests/fixtures/clienthints.yml": "6a55c7cc570c641edc63453db182bdff9119dd93",
    "Tests/fixtures/console.yml": "350aa0a1e8051581aac16ad23a5213bcde8de693",
    "Tests/fixtures/desktop-1.yml": "694c02e3caa30b80225dab410f67f72102dcfab2",
    "Tests/fixtures/desktop.yml": "553b67330948a19b165057d1c42d8c6bb7933d79",
    "Tests/fixtures/feature_phone.yml": "23ff20a2773648fe69c36400ec92cd208088ef0f",
    "Tests/fixtures/mediaplayer.yml": "e6b8605408ee778e9e9ac38c78e76219c04e292e",
    "Tests/fixtures/mobile_apps.yml": "56a79aec0bedd2903fbd6bdcf3f508d625687920",
    "Tests/fixtures/peripheral.yml": "b04636f83f6f31ff014ef8632608ba9f66fc31af",
    "Tests/fixtures/phablet-1.yml": "1aafba7462294106fd137cd92e91b2a6b5bd1252",
    "Tests/fixtures/phablet.yml": "960575f86f250efa92cb2bcef149fcc9586ea068",
    "Tests/fixtures/podcasting.yml": "bbbace2799725e75dcb4f17696d6233c53a6df67",
    "Tests/fixtures/portable_media_player.yml": "1ef92000ff6a72472111ca68e9e4f64cc17e325c",
    "Tests/fixtures/smart_display.yml": "241a79053737f0c74b7a7f01b8803b4ea20c448a",
    "Tests/fixtures/smart_speaker.yml": "7ebcb15b082ca7c98a36723ea65b24bdd2821ec4",
    "Tests/fixtures/smartphone-1.yml": "0b87c18699ea385c08da6e1dee1096e27f43281f",
    "Tests/fixtures/smartphone-10.yml": "ee9d4dae734d9a6e208438f7d037ceb14f91d4f0",
    "Tests/fixtures/smartphone-11.yml": "1ed01288d094c20e103639369c58771906136113",
    "Tests/fixtures/smartphone-12.yml": "1045a109bc498efbbe650ab7db7e8b0f44838a41",
    "Tests/fixtures/smartphone-13.yml": "ff3b1fa9e183f88ab201b2a102db1b264a704923",
    "Tests/fixtures/smartphone-14.yml": "a78636ffbfe1e99ed5a8ef9863b37c69f7a3a560",
    "Tests/fixtures/smartphone-15.yml": "f6464e96d264dc6917976c201281a5b94d8b6fc5",
    "Tests/fixtures/smartphone-16.yml": "248a713ccc2e5327fe7acec682ab567a4af3cb9a",
    "Tests/fixtures/smartphone-17.yml": "871e056dd0e19764d8e167b0a7b3dfe1875da9c8",
    "Tests/fixtures/smartphone-18.yml": "686badf1fb9638e4db7d7679b853c14d5e74eeaf",
    "Tests/fixtures/smartphone-19.yml": "2caeb31d27d68cf3569cce19a44c43fe20163226",
    "Tests/fixtures/smartphone-2.yml": "9aeae32972a8607e321430ab8fb648b165ae5dbd",
    "Tests/fixtures/smartphone-20.yml": "c0cfacfa0cc0cf7b2667c6da7c5ed9cc023c9385",
    "Tests/fixtures/smartphone-21.yml": "1256b5e8e719af58b75d28f32c1d8aabb845949b",
    "Tests/fixtures/smartphone-22.yml": "f444869d464ee8a68f60d0fec5f9118518621b4b",
    "Tests/fixtures/smartphone-23.yml": "84192ec9d6e9e1c2565fdf952b43010bca0ee266",
    "Tests/fixtures/smartphone-24.yml": "138acdb92d9e23f3e90530f879a97bffa610a5eb",
    "Tests/fixtures/smartphone-25.yml": "777874a6a09175ffb25f73c7095526ec1664a3a5",
    "Tests/fixtures/smartphone-26.yml": "65a9f012982b0e4c5e97068da61df5caf003efe0",
    "Tests/fixtures/smartphone-27.yml": "abd8cbbb1df3ac9444eb67e4c36a4948b6a7044e",
    "Tests/fixtures/smartphone-28.yml": "ae7e6eb9ad35a6210f2dd04b65519770be7ecacf",
    "Tests/fixtures/smartphone-29.yml": "d9cbd3f439d1d53f81b2a24e42da529ff86666f7",
    "Tests/fixtures/smartphone-3.yml": "5d015729948cd978842da52b2ee1204179917c4c",
    "Tests/fixtures/smartphone-30.yml": "f5b1c65bf9226e20f7f5e5027903ba4ce7ff5395",
    "Tests/fixtures/smartphone-31.yml": "2aef8db01c4d2351b02577bee18808c7145e654b",
    "Tests/fixtures/smartphone-32.yml": "ac875fe9383b9ee05202acfacc6f074f70cf9fe5",
    "Tests/fixtures/smartphone-33.yml": "0137b99946fdd5f9beaa84914efe9b012faa503f",
    "Tests/fixtures/smartphone-34.yml": "21bcf222833652af21c4cfb4dbba0904d61232c3",
    "Tests/fixtures/smartphone-35.yml": "3626ab6c6f515dfac5345eba457d1e373df1394b",
    "Tests/fixtures/smartphone-36.yml": "ea6e20eaca587329e64b87dd2eee2447e5fc693a",
    "Tests/fixtures/smartphone-37.yml": "2979220ec9ba70e891534610eee36b6fe2e673f6",
    "Tests/fixtures/smartphone-38.yml": "ac56dec13171531892025516d2a3284d98c0c817",
    "Tests/fixtures/smartphone-39.yml": "1b47b9fbd744a0d30a5ba06beace734790d1bc03",
    "Tests/fixtures/smartphone-4.yml": "c68bcd3ec7220fd188971461cb9a609f7c184475",
    "Tests/fixtures/smartphone-40.yml": "5dc00d8d27a48bb7de69c864110de4eec2e6cb1a",
    "Tests/fixtures/smartphone-41.yml": "0832a1cfc77e4826d9fbfc451934651f878d4929",
    "Tests/fixtures/smartphone-42.yml": "46593fdd4280100d6c579c600f11352b6a55d255",
    "Tests/fixtures/smartphone-43.yml": "696990e3bd89ca1e8bca40584f9c0829fee1adb9",
    "Tests/fixtures/smartphone-5.yml": "9040d531214b2a73408813fa47f681363b582852",
    "Tests/fixtures/smartphone-6.yml": "eab178b31894c26f3901e4b52a734ff981fe7958",
    "Tests/fixtures/smartphone-7.yml": "8f0dae4d352d08bca31673825373a815c3007f8f",
    "Tests/fixtures/smartphone-8.yml": "be13b1224764b63fab110a369097d5b4d0b3da70",
    "Tests/fixtures/smartphone-9.yml": "0ecffaeb0528f1154f95e9650bd4317207cfeead",
    "Tests/fixtures/smartphone.yml": "2858613828ab6d7545577f22d6541e3c1d5057c0",
    "Tests/fixtures/tablet-1.yml": "9888342b8b74dfbc77c7dbcd2f3947c2a59f2e4d",
    "Tests/fixtures/tablet-10.yml": "f6ca3b465dba52d0f6e381275876844c8541abcc",
    "Tests/fixtures/tablet-11.yml": "ab289bc428a7c8a527e9c402ca968e4b4a7fed9e",
    "Tests/fixtures/tablet-12.yml": "507a1d3fb2cfadb2d736653a62da18d486dd5b4b",
    "Tests/fixtures/tablet-2.yml": "23dcde84dcd20c5418d4e577a485a4b207bacbca",
    "Tests/fixtures/tablet-3.yml": "fd9b0c2f740c22b4646cd910d67a41e640f6469a",
    "Tests/fixtures/tablet-4.yml": "34946af9cc687de70684939fe75a7e282ded60a1",
    "Tests/fixtures/tablet-5.yml": "91f5df7653b482ca083cc162e6407ace50aa2742",
    "Tests/fixtures/tablet-6.yml": "2e5cd32bcc5edbf807bf0302d77be953d906c0f7",
    "Tests/fixtures/tablet-7.yml": "a72c099836184430228015eac7809510a7fa44b8",
    "Tests/fixtures/tablet-8.yml": "a9c5ea8cc20e14e9f6f1a02f1171f79c63106ae8",
    "Tests/fixtures/tablet-9.yml": "4106b2fac75ab73a541c560aeb5b4d737ec93828",
    "Tests/fixtures/tablet.yml": "36960933add562f50e58863674da0620b7bd3004",
    "Tests/fixtures/tv-1.yml": "cd8bc80e522a2d5ec5c20c378707ad80e8df1b32",
    "Tests/fixtures/tv-2.yml": "8be68eb605a07eabd7c0d77e68a13ab11cf229e4",
    "Tests/fixtures/tv-3.yml": "1123cb515688b0c91fec02a75c9fee02876c2087",
    "Tests/fixtures/tv-4.yml": "a1c829fc680c9e3c456e4abf645fadc38093902a",
    "Tests/fixtures/tv-5.yml": "b0506de8af878acea02b6a1720f460c41fd66781",
    "Tests/fixtures/tv.yml": "9f0a96ccf71ec944e344346500412f6cc8e6192b",
    "Tests/fixtures/unknown.yml": "013fddefb84ab9c6c359f2d782a4aa5962dfed17",
    "Tests/fixtures/wearable.yml": "dfd398302232a14466563dd0c5930af3a0e50fab",
}
DEVICE_DETECTOR = Upstream(
    "matomo-org/device-detector",
    "3856a28692d45317d3f15f6f81ca31a06067182a",
    {"regexes/bots.yml": "08b577c1d87b52ef215daec09ae1365a32778c14", **_DD_PEOPLE},
)
ISBOT = Upstream(
    "omrilotan/isbot",
    "344052da664bde49579e21f1e62349280791efb3",
    {
        "src/patterns.json": "d833aae8ad8c51a308c27eff000ed01ce7158126",
        "fixtures/browsers.yml": "37b3e76f9a1ddc108a332a3c57b6577a7aa1ec8c",
    },
)
_BROWSCAP_FILES = Path(__file__).resolve().parent / "browscap_crawlers.txt"
BROWSCAP = Upstream(
    "browscap/browscap",
    "6c0c9208f9314f062c5ac45d933c1a419e05f421",
    dict(
        reversed(line.split(" ", 1))  # type: ignore[misc]
        for line in _BROWSCAP_FILES.read_text(encoding="utf-8").splitlines()
        if not line.startswith("#")
    ),
)
UPSTREAMS = (DEVICE_DETECTOR, CRAWLER_USER_AGENTS, ISBOT, BROWSCAP)


# One-word names left out by hand: common English words (the lists mean a product,
# a User-Agent may mean anything), and Daum. Every one-word name of eight letters
# or fewer that the rules above let through was read to choose them.
COMMON_WORDS = frozenset(
    {
        "abuse", "advisor", "analyzer", "archive", "audit", "buck", "catch", "checker", "cursor",
        "daum", "detect", "email", "feeder", "fetch", "fluffy", "grab", "insight", "inspect",
        "jigsaw", "jobs", "library", "make", "manager", "measure", "moreover", "offline",
        "operator", "optimize", "photon", "rank", "read", "readable", "rest", "rippers", "scrape",
        "sora", "spectate", "track", "trove", "vigil", "watchful",
    }
)  # fmt: skip


def spelled_out(pattern: str) -> list[str] | None:
    """Every string ``pattern`` matches, if it is made of literals, ``(a|b)``, ``(...)?``,
    ``x?`` and ``[ab]``; ``None`` if it uses anything else. Anchors are dropped:
    names are matched as whole words anyway."""
    pattern = pattern.removeprefix("^").removesuffix("$")
    try:
        return sorted(set(_alternatives(pattern)))
    except ValueError:
        return None


def _alternatives(pattern: str) -> list[str]:
    branches: list[list[str]] = [[""]]
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "|":
            branches.append([""])
            i += 1
            continue
        if char == "\\":
            if i + 1 >= len(pattern) or pattern[i + 1].isalnum():
                raise ValueError(pattern)  # \d, \b, \w ...: a class, not a literal
            pieces, i = [pattern[i + 1]], i + 2
        elif char == "(":
            depth, j = 1, i + 1
            while depth:
                if j >= len(pattern):
                    raise ValueError(pattern)
                if pattern[j] == "\\":
                    j += 1
                elif pattern[j] == "(":
                    depth += 1
                elif pattern[j] == ")":
                    depth -= 1
                j += 1
            inner = pattern[i + 1 : j - 1]
            if inner.startswith("?:"):
                inner = inner[2:]
            elif inner.startswith("?"):
                raise ValueError(pattern)  # a lookaround or a named group
            pieces, i = _alternatives(inner), j
        elif char == "[":
            j = pattern.index("]", i)
            members = pattern[i + 1 : j]
            if not members or any(c in "^-\\" for c in members.strip("-")):
                raise ValueError(pattern)
            pieces, i = list(members), j + 1
        elif char in ".*+{}^$)":
            raise ValueError(pattern)
        else:
            pieces, i = [char], i + 1
        if i < len(pattern) and pattern[i] == "?":
            pieces, i = [*pieces, ""], i + 1
        if i < len(pattern) and pattern[i] in "*+{":
            raise ValueError(pattern)
        branches[-1] = [done + piece for done in branches[-1] for piece in pieces]
        if len(branches[-1]) > 64:
            raise ValueError(pattern)
    return [s for branch in branches for s in branch]


def list_entries(root: Path) -> Iterator[tuple[str, str]]:
    """``(pattern, source)`` of every entry of the three lists, in list order."""
    text = read_upstream(root, DEVICE_DETECTOR, "regexes/bots.yml")
    pattern = None
    for line in text.splitlines():
        match = re.match(r"- regex: '(.*)'$", line)
        if match:
            pattern = match.group(1).replace("''", "'")
            continue
        match = re.match(r"  name: '(.*)'$", line)
        if match and pattern is not None:
            name = match.group(1).replace("''", "'")
            yield pattern, f"device-detector bots.yml: {pattern if '$' in name else name}"
            pattern = None
    crawlers = json.loads(read_upstream(root, CRAWLER_USER_AGENTS, "crawler-user-agents.json"))
    for entry in crawlers:
        yield entry["pattern"], f"crawler-user-agents: {entry['pattern']}"
    for pattern in json.loads(read_upstream(root, ISBOT, "src/patterns.json")):
        yield pattern, f"isbot patterns.json: {pattern}"


_PLACEHOLDER = re.compile(r"#[A-Z_]+#")  # browscap's #MAJORVER#, #PLATFORM#, ...


def browscap_names(root: Path) -> Iterator[tuple[tuple[str, ...], str]]:
    """``(name's words, source)`` of every crawler entry of browscap's files."""
    for path in sorted(BROWSCAP.files):
        for entry in json.loads(read_upstream(root, BROWSCAP, path))["userAgents"]:
            name = _PLACEHOLDER.sub(
                " ", entry.get("properties", {}).get("Comment") or entry["userAgent"]
            )
            if markers.ANY.search(name.lower()) is not None or any(c.isdigit() for c in name):
                continue  # as for the other lists' literals
            matches = [child["match"] for child in entry.get("children", ())]
            spelt = [
                words(_PLACEHOLDER.sub(" ", match).lower())
                for match in [entry["userAgent"], *matches]
            ]
            wanted = words(name.lower())
            for candidate in (
                wanted,
                ["".join(wanted)],
                *(wanted[:end] for end in range(len(wanted) - 1, 0, -1)),
            ):
                if candidate and any(_holds(ua, candidate) for ua in spelt):
                    shown = " ".join(name.split()).rstrip(" .")
                    yield tuple(candidate), f"browscap {path.rsplit('/', 1)[-1]}: {shown}"
                    break


def _holds(tokens: list[str], name: list[str]) -> bool:
    return any(tokens[at : at + len(name)] == name for at in range(len(tokens)))


def people(root: Path) -> Iterator[str]:
    """User-Agents of people's browsers, apps and devices that a name must not be found in."""
    for path in sorted(DEVICE_DETECTOR.files):
        if path != "regexes/bots.yml":
            yield from fixture_user_agents(read_upstream(root, DEVICE_DETECTOR, path))
    for group in isbot_groups(read_upstream(root, ISBOT, "fixtures/browsers.yml")).values():
        yield from group
    for shape in load_shapes():
        if shape.split != "holdout3" and shape.kind in ("human", "mail_proxy"):
            yield shape.user_agent


def _ngrams(tokens: list[str]) -> Iterator[tuple[str, ...]]:
    for start in range(len(tokens)):
        for end in range(start + 1, min(start + 6, len(tokens)) + 1):
            yield tuple(tokens[start:end])


def build(root: Path) -> list[tuple[tuple[str, ...], str]]:
    """The names to ship, as words, each with the first list entry giving it."""
    found: dict[tuple[str, ...], str] = {}
    for pattern, source in list_entries(root):
        for literal in spelled_out(pattern) or ():
            literal = literal.lower()
            name = tuple(words(literal))
            if markers.ANY.search(literal) is not None or any(c.isdigit() for c in literal):
                continue
            if name and name not in found:
                found[name] = source
    for name, source in browscap_names(root):
        found.setdefault(name, source)
    in_people = {gram for ua in people(root) for gram in _ngrams(words(ua.lower()))}
    return [
        (name, source)
        for name, source in found.items()
        if sum(map(len, name)) >= 4
        and len(name) <= 6
        and name not in in_people
        and markers.ANY.search(" ".join(name)) is None
        and not any("mail" in word or "proxy" in word for word in name)
        and not (len(name) == 1 and name[0] in COMMON_WORDS)
        and SKIPPED_WORDS.isdisjoint(name)
    ]


# The words of what user_agents.family_and_rest() leaves out of a browser's User-Agent.
SKIPPED_WORDS = frozenset(
    word
    for text in (*user_agents.SKIPPED_HEADS, *user_agents.BROWSER_FRAGMENTS)
    for word in words(text)
)


def write(names: Iterable[tuple[tuple[str, ...], str]], output: Path) -> None:
    lines = [
        "# Names of crawlers, tools and services, as the public bot lists give them, in",
        "# words (runs of letters): a User-Agent holding one, its words in order, is",
        "# a bot's. Generated by bench/build_bot_names.py from",
        *(f"#   {u.repo} at {u.commit[:12]}" for u in UPSTREAMS),
        "# each line: the name's words, a tab, the list entry it comes from.",
    ]
    lines += [f"{' '.join(name)}\t{source}" for name, source in sorted(names)]
    output.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("root", nargs="?", type=Path, metavar="UPSTREAM_DIR")
    parser.add_argument("--urls", action="store_true", help="print each file's path and URL")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    if args.urls:
        print_urls(UPSTREAMS)
        return 0
    if args.root is None:
        parser.error("UPSTREAM_DIR is required (or --urls)")
    try:
        names = build(args.root)
    except UpstreamError as e:
        print(f"build_bot_names: {e}", file=sys.stderr)
        return 1
    write(names, args.output)
    print(f"{len(names)} names written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
