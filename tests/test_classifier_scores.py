"""The classifier against the labelled request shapes (bench/score_classifier.py scores them)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import override_settings

from bench.score_classifier import KINDS, RELAY_SAMPLE, Score, load_shapes, main, naive_regex, score
from ptrack import classify

SHAPES = load_shapes()
CLEAR = [shape for shape in SHAPES if not shape.debatable]


@pytest.fixture(autouse=True)
def _relay_sample() -> Iterator[None]:
    with override_settings(PTRACK_PRIVATE_RELAY_FILE=str(RELAY_SAMPLE)):
        yield


def test_the_set_is_large_sourced_and_covers_every_kind() -> None:
    assert len(SHAPES) >= 150
    assert all(shape.source for shape in SHAPES)
    assert {shape.kind for shape in CLEAR} == set(KINDS)
    assert all(len(shape.debatable) > 20 for shape in SHAPES if shape.debatable)


def test_the_third_held_out_split_holds_every_kind() -> None:
    held = [shape for shape in CLEAR if shape.split == "holdout3"]
    assert {shape.kind for shape in held} == set(KINDS)
    assert not {shape.user_agent for shape in held if shape.user_agent} & {
        shape.user_agent for shape in SHAPES if shape.split != "holdout3"
    }


def test_classify_meets_the_targets() -> None:
    # Split holdout3 was drawn to measure rules not yet written (issue 23): scored apart.
    result: Score = score(classify, [shape for shape in CLEAR if shape.split != "holdout3"])
    assert result.accuracy >= 0.97
    assert result.recall("security_scanner") >= 0.85
    assert result.open_precision >= 0.95
    assert result.open_recall >= 0.98


def test_no_person_of_the_first_splits_is_taken_for_a_machine() -> None:
    # The library and scanner markers must not catch a mail client or a browser.
    people = [shape for shape in CLEAR if shape.split != "holdout3" and shape.kind == "human"]
    assert len(people) > 100
    assert [shape.user_agent for shape, _, _ in score(classify, people).mistakes] == []


def test_a_one_regex_bot_filter_does_not() -> None:
    result = score(naive_regex, CLEAR)
    assert result.accuracy < 0.97
    assert result.recall("mail_proxy") == 0


def test_the_third_held_out_split_keeps_what_the_rules_reached() -> None:
    # Below the goal (0.95, 0.85); a floor so that no change loses ground there.
    result: Score = score(classify, [shape for shape in CLEAR if shape.split == "holdout3"])
    assert result.accuracy >= 194 / 214  # 0.907
    assert result.recall("security_scanner") >= 14 / 19  # 0.737


def test_the_script_prints_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ptrack.classifier.classify", "--mistakes"]) == 0
    out = capsys.readouterr().out
    assert "| accuracy |" in out
    assert "Split 'tuning' only" in out
    assert "Split 'holdout' only" in out
    assert "Split 'holdout2' only" in out
    assert "Split 'holdout3' only" in out
    assert "debatable rows" in out
