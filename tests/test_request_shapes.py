"""The committed request shapes agree with bench/build_request_shapes.py, which builds them.

The upstream fixture files are not in the repository, so the whole rebuild is
a maintenance step (tests/data/README.md); what can be checked without them is
checked here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import hand_shapes, holdout3
from bench.score_classifier import SHAPES, SPLITS
from bench.upstream_fixtures import (
    ISBOT,
    UpstreamError,
    fixture_user_agents,
    isbot_groups,
    read_upstream,
    uap_user_agents,
)

LINES = SHAPES.read_text(encoding="utf-8").splitlines()
ROWS = [json.loads(line) for line in LINES]
KEYS = ["kind", "user_agent", "ip", "headers", "method", "seconds_since_issued", "source"]


def test_every_line_is_what_the_script_writes() -> None:
    for line, shape in zip(LINES, ROWS, strict=True):
        assert json.dumps(shape, ensure_ascii=False) == line
        assert list(shape)[:7] == KEYS, line
        assert set(shape) - set(KEYS) <= {"debatable", "split"}, line
        assert shape.get("split", "tuning") in SPLITS, line


def test_the_hand_written_rows_are_in_the_file_as_the_script_has_them() -> None:
    # A row edited in the jsonl and not in bench/hand_shapes.py would be lost on a rebuild.
    written = [
        *hand_shapes.hand_human_rows(),
        *hand_shapes.mail_proxy_rows(),
        *hand_shapes.privacy_prefetch_rows(),
        *hand_shapes.security_scanner_rows(),
        *hand_shapes.hand_bot_rows(),
    ]
    lines = [json.dumps(shape, ensure_ascii=False) for shape in written]
    positions = [LINES.index(line) for line in lines]
    assert positions == sorted(positions)


def test_the_third_split_s_thread_rows_are_in_the_file_unless_already_taken() -> None:
    taken = {shape["user_agent"] for shape in ROWS if shape.get("split") != "holdout3"}
    for shape in holdout3.thread_rows():
        line = json.dumps(shape, ensure_ascii=False)
        assert (line in LINES) != (bool(shape["user_agent"]) and shape["user_agent"] in taken)


def test_fixture_user_agents_unquotes_as_yaml_does() -> None:
    text = (
        "-\n  user_agent: Zeus\n  bot:\n    name: Zeus\n"
        "-\n  user_agent: 'Yahoo%20Mail/49268 it''s'\n"
        '-\n  user_agent: "Mozilla/5.0 (compatible)"\n'
    )
    assert fixture_user_agents(text) == [
        "Zeus",
        "Yahoo%20Mail/49268 it's",
        "Mozilla/5.0 (compatible)",
    ]


def test_uap_user_agents_pairs_each_string_with_its_family() -> None:
    text = (
        "test_cases:\n  - user_agent_string: 'Barca/2.8.2'\n    family: 'Barca'\n    major: '2'\n"
        '\n  - user_agent_string: "Xenu\'s Link Sleuth 1.0p"\n    family: "Xenu"\n'
        "  - user_agent_string: 'it''s'\n    family: Other\n"
    )
    assert uap_user_agents(text) == [
        ("Barca/2.8.2", "Barca"),
        ("Xenu's Link Sleuth 1.0p", "Xenu"),
        ("it's", "Other"),
    ]


def test_isbot_groups_keeps_each_client_with_its_user_agents() -> None:
    text = '"8":\n  - Mozilla/5.0 (compatible; 008/0.83)\n2ip.ru:\n  - 2ip.ru CMS Detector\n  - b\n'
    assert isbot_groups(text) == {
        "8": ["Mozilla/5.0 (compatible; 008/0.83)"],
        "2ip.ru": ["2ip.ru CMS Detector", "b"],
    }


def test_a_changed_upstream_file_is_refused_with_where_to_fetch_it(tmp_path: Path) -> None:
    path = "fixtures/crawlers.yml"
    (tmp_path / "isbot" / "fixtures").mkdir(parents=True)
    (tmp_path / "isbot" / path).write_text("Googlebot:\n  - Googlebot/2.1\n", encoding="utf-8")
    with pytest.raises(UpstreamError, match=f"not omrilotan/isbot's {path} at 344052da664b"):
        read_upstream(tmp_path, ISBOT, path)
    with pytest.raises(UpstreamError, match="No such file") as missing:
        read_upstream(tmp_path, ISBOT, "fixtures/browsers.yml")
    assert ISBOT.url("fixtures/browsers.yml") in str(missing.value)
