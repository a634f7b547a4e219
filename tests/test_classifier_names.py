"""The names of the public bot lists (ptrack/classifier/data/bot-names.txt) and the
rule that reads them, through ``ptrack.classify()``; and the script that makes the
list, on patterns written here."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import build_bot_names
from bench.score_classifier import load_shapes
from ptrack import classify
from ptrack.classifier import names

# From device-detector's Tests/fixtures/bots.yml at 3856a28692d4: a stale Chrome
# and a phone's Chrome, each naming a product that the lists name and no marker finds.
IPLABEL = (
    "Mozilla/5.0 (iplabel; Windows NT 6.3; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/86.0.4240.75 Safari/537.36"
)
CONVERTIFY = (
    "Mozilla/5.0 (Linux; Android 9; SM-G973F) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/75.0.3770.101 Mobile Safari/537.36 Convertify"
)
PHONE = CONVERTIFY.removesuffix(" Convertify")
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)


def verdict(ua: str, **kw: object) -> tuple[str, str]:
    result = classify(ua, {}, None, **kw)  # type: ignore[arg-type]
    return result.kind.value, result.reason


def test_a_browser_naming_a_listed_product_is_a_bot() -> None:
    assert verdict(PHONE) == ("human", "browser")
    assert verdict(CONVERTIFY) == ("bot", "listed_bot")
    # Within the machine window a browser would be a scanner; the name decides first.
    assert verdict(CONVERTIFY, seconds_since_issued=1) == ("bot", "listed_bot")


def test_a_name_outweighs_a_stale_build() -> None:
    assert verdict(IPLABEL.replace("(iplabel; ", "(")) == ("security_scanner", "stale_browser")
    assert verdict(IPLABEL) == ("bot", "listed_bot")


def test_a_head_request_naming_a_listed_product_stays_a_bot() -> None:
    assert verdict(CONVERTIFY, method="HEAD") == ("bot", "listed_bot")
    assert verdict(PHONE, method="HEAD") == ("security_scanner", "head_request")


@pytest.mark.parametrize(
    "ua",
    [
        CHROME + " Convertifying/1.0",  # a longer word
        CHROME + " UnConvertify/1.0",
        CHROME + " Simbiat/1.0 (KHTML) Software",  # a two-word name, its words apart
    ],
)
def test_names_are_found_only_as_whole_words_in_order(ua: str) -> None:
    assert verdict(ua) == ("human", "browser")


@pytest.mark.parametrize(
    "ua",
    [
        CHROME + " Simbiat-Software/1.0",
        CHROME + " SIMBIAT SOFTWARE",
        CHROME + " (Convertify)",
        "Convertify7 " + CHROME,  # digits end a word
    ],
)
def test_a_name_is_found_in_any_case_and_between_any_separators(ua: str) -> None:
    assert verdict(ua) == ("bot", "listed_bot")


def test_a_name_is_found_wherever_a_browser_s_user_agent_holds_it() -> None:
    # Where crawlers put their name, in the compatible form, the platform or the end.
    compatible = "Mozilla/5.0 (compatible; Convertify/1.0; Windows NT 10.0)"
    platform = CHROME.replace("(Windows NT 10.0;", "(Windows NT 10.0; Convertify;")
    assert verdict(compatible) == ("bot", "listed_bot")
    assert verdict(platform) == ("bot", "listed_bot")
    assert verdict(CHROME.replace(" Safari/", " Convertify Safari/")) == ("bot", "listed_bot")


def test_a_mail_client_naming_a_listed_product_stays_a_mail_client() -> None:
    ua = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Thunderbird/115.0 Convertify"
    assert verdict(ua) == ("human", "mail_client")


def test_a_name_cannot_be_made_from_characters_outside_ascii() -> None:
    assert verdict(CHROME + " Conv\u00e9rtify") == ("human", "browser")
    assert names.words("conv\u00e9rtify \ud800x") == ["conv", "rtify", "x"]


LISTS = ("device-detector", "crawler-user-agents", "isbot", "browscap")


def _shipped() -> list[tuple[str, str]]:
    lines = names.NAMES_FILE.read_text(encoding="utf-8").splitlines()
    return [tuple(line.split("\t")) for line in lines if not line.startswith("#")]  # type: ignore[misc]


def test_every_shipped_name_is_its_own_words_with_a_source() -> None:
    shipped = _shipped()
    assert len(shipped) > 800
    for name, source in shipped:
        assert name == " ".join(names.words(name)), name
        assert source.startswith(LISTS), name
        assert not any("mail" in word or "proxy" in word for word in name.split()), name
        assert name not in build_bot_names.COMMON_WORDS
        # The classifier looks for names only in what it does not skip of a browser's agent.
        assert build_bot_names.SKIPPED_WORDS.isdisjoint(name.split()), name
    assert len({name for name, _ in shipped}) == len(shipped)


def test_no_shipped_name_is_in_a_person_s_user_agent_of_the_labelled_set() -> None:
    people = [s.user_agent for s in load_shapes() if s.kind in ("human", "mail_proxy")]
    assert people
    for ua in people:
        assert not names.listed(ua.lower()), ua


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("Qwantify", ["Qwantify"]),
        ("^Zeno$", ["Zeno"]),
        (r"Pcore-HTTP\/", ["Pcore-HTTP/"]),
        ("(360Spider(?:-Image|-Video)?)", ["360Spider", "360Spider-Image", "360Spider-Video"]),
        ("Hatena[ -]Bookmark", ["Hatena Bookmark", "Hatena-Bookmark"]),
        ("Speedy ?Spider", ["Speedy Spider", "SpeedySpider"]),
        ("a|b(c|d)", ["a", "bc", "bd"]),
    ],
)
def test_list_patterns_made_of_literals_are_spelled_out(pattern: str, expected: list[str]) -> None:
    assert build_bot_names.spelled_out(pattern) == sorted(expected)


@pytest.mark.parametrize(
    "pattern",
    [
        r"Octopus [\d.]+",  # a class
        "Daum(?!(?:Apps|Device))",  # a lookahead
        "Baidu.*spider",  # a wildcard
        r"\bperl\b",  # a word boundary
        "[^a]x",  # a negated class
        "(unclosed",
        "(a|b|c|d)(a|b|c|d)(a|b|c|d)(a|b|c|d)",  # more spellings than a name has
    ],
)
def test_list_patterns_with_anything_else_give_no_name(pattern: str) -> None:
    assert build_bot_names.spelled_out(pattern) is None


def test_the_script_names_each_file_to_fetch_and_refuses_a_missing_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert build_bot_names.main(["--urls"]) == 0
    urls = capsys.readouterr().out.splitlines()
    assert "device-detector/regexes/bots.yml https://raw.githubusercontent.com/" in urls[0]
    assert any(line.startswith("browscap/resources/user-agents/crawlers/") for line in urls)
    assert build_bot_names.main([str(tmp_path), "--output", str(tmp_path / "out.txt")]) == 1
    assert "fetch it from https://raw.githubusercontent.com/" in capsys.readouterr().err
    assert not (tmp_path / "out.txt").exists()
