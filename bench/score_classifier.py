"""Score a classifier against the labelled request shapes in tests/data/request_shapes.jsonl.

    python -m bench.score_classifier [dotted.path.to.classifier ...]

With no path it scores ``ptrack.classifier.classify`` and, for comparison,
``bench.score_classifier.naive_regex`` (one bot regex, as generic filters do).
Rows marked ``debatable`` are scored apart and listed with their reason.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
SHAPES = DATA / "request_shapes.jsonl"
RELAY_SAMPLE = DATA / "private-relay-sample.csv"
KINDS = ("human", "mail_proxy", "privacy_prefetch", "security_scanner", "bot")
OPEN_KINDS = frozenset({"human", "mail_proxy"})
# What each split is, as the report prints it.
SPLITS = {
    "tuning": "the rows the first rules were written against",
    "holdout": "chosen by a fixed stride after the first rules; its misses motivated later rules",
    "holdout2": "a fresh stride, drawn before any rule its predecessor motivated",
    "holdout3": "new source families with scanners, proxies and pre-fetches, drawn before "
    "issue 23's rules",
}
DEFAULT_CLASSIFIERS = ("ptrack.classifier.classify", "bench.score_classifier.naive_regex")


@dataclass(frozen=True)
class Shape:
    kind: str
    user_agent: str
    headers: Mapping[str, str]
    ip: str | None
    method: str
    seconds_since_issued: float | None
    source: str
    debatable: str = ""
    split: str = "tuning"  # one of SPLITS


def load_shapes(path: Path = SHAPES) -> list[Shape]:
    shapes = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            row = json.loads(line)
            if row["kind"] not in KINDS or not row.get("source"):
                raise ValueError(f"{path}, line {number}: needs a kind of {KINDS} and a source")
            if row.get("split", "tuning") not in SPLITS:
                split = row["split"]
                raise ValueError(f"{path}, line {number}: split {split!r} not in {list(SPLITS)}")
            shapes.append(Shape(**row))
    return shapes


_NAIVE = re.compile(
    r"bot|crawl|spider|slurp|proxy|preview|curl|wget|python|java|scan|headless", re.I
)


@dataclass(frozen=True)
class _Verdict:
    kind: str
    reason: str

    @property
    def counts_as_open(self) -> bool:
        return self.kind in OPEN_KINDS


def naive_regex(
    user_agent: str,
    headers: Mapping[str, str],
    ip: str | None,
    *,
    method: str = "GET",
    seconds_since_issued: float | None = None,
) -> _Verdict:
    """The one-regex bot filter many trackers use: a match is a bot, the rest are people."""
    return _Verdict("bot", "naive_regex") if _NAIVE.search(user_agent) else _Verdict("human", "")


@dataclass
class Score:
    total: int = 0
    correct: int = 0
    per_kind: dict[str, list[int]] = field(default_factory=lambda: {k: [0, 0] for k in KINDS})
    open_tp: int = 0
    open_fp: int = 0
    open_fn: int = 0
    mistakes: list[tuple[Shape, str, str]] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0

    def recall(self, kind: str) -> float:
        hit, seen = self.per_kind[kind]
        return hit / seen if seen else float("nan")

    @property
    def open_precision(self) -> float:
        counted = self.open_tp + self.open_fp
        return self.open_tp / counted if counted else 0.0

    @property
    def open_recall(self) -> float:
        real = self.open_tp + self.open_fn
        return self.open_tp / real if real else 0.0


def score(classifier: Callable[..., Any], shapes: Iterable[Shape]) -> Score:
    result = Score()
    for shape in shapes:
        verdict = classifier(
            shape.user_agent,
            shape.headers,
            shape.ip,
            method=shape.method,
            seconds_since_issued=shape.seconds_since_issued,
        )
        kind = str(getattr(verdict.kind, "value", verdict.kind))
        result.total += 1
        result.per_kind[shape.kind][1] += 1
        if kind == shape.kind:
            result.correct += 1
            result.per_kind[shape.kind][0] += 1
        else:
            result.mistakes.append((shape, kind, str(verdict.reason)))
        real_open = shape.kind in OPEN_KINDS
        if verdict.counts_as_open and real_open:
            result.open_tp += 1
        elif verdict.counts_as_open:
            result.open_fp += 1
        elif real_open:
            result.open_fn += 1
    return result


def _fmt(value: float) -> str:
    return "n/a" if value != value else f"{value:.3f}"  # NaN: no row of that kind


def table(scores: Mapping[str, Score]) -> str:
    """A Markdown table, one column per classifier."""
    names = list(scores)
    lines = [
        "| | " + " | ".join(f"`{n.rsplit('.', 1)[-1]}`" for n in names) + " |",
        "|---|" + "---:|" * len(names),
    ]

    def line(label: str, values: Iterable[str]) -> None:
        lines.append(f"| {label} | " + " | ".join(values) + " |")

    line("rows scored", (str(s.total) for s in scores.values()))
    line("accuracy", (f"{s.accuracy:.3f}" for s in scores.values()))
    for kind in KINDS:
        line(f"recall: {kind}", (_fmt(s.recall(kind)) for s in scores.values()))
    line("counts-as-open precision", (f"{s.open_precision:.3f}" for s in scores.values()))
    line("counts-as-open recall", (f"{s.open_recall:.3f}" for s in scores.values()))
    return "\n".join(lines)


def _setup_django() -> None:
    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure(PTRACK_PRIVATE_RELAY_FILE=str(RELAY_SAMPLE), USE_TZ=True)
        django.setup()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("classifiers", nargs="*", default=list(DEFAULT_CLASSIFIERS))
    parser.add_argument("--mistakes", action="store_true", help="list every misclassified row")
    args = parser.parse_args(argv)
    _setup_django()
    from django.utils.module_loading import import_string

    shapes = load_shapes()
    clear = [s for s in shapes if not s.debatable]
    debatable = [s for s in shapes if s.debatable]
    counts = {k: sum(s.kind == k for s in clear) for k in KINDS}
    print(f"{len(shapes)} rows: {len(clear)} scored ({counts}), {len(debatable)} debatable\n")
    scores = {path: score(import_string(path), clear) for path in args.classifiers}
    print(table(scores))
    for split, meaning in SPLITS.items():
        rows = [s for s in clear if s.split == split]
        print(f"\nSplit {split!r} only ({len(rows)} rows: {meaning}):\n")
        print(table({path: score(import_string(path), rows) for path in args.classifiers}))
    for path in args.classifiers:
        apart = score(import_string(path), debatable)
        print(f"\n{path}: debatable rows, {apart.correct}/{apart.total} as labelled")
        for shape, kind, reason in apart.mistakes:
            print(f"  labelled {shape.kind}, got {kind} ({reason}): {shape.debatable}")
        if args.mistakes:
            for shape, kind, reason in scores[path].mistakes:
                print(
                    f"  MISS {shape.kind} -> {kind} ({reason}): {shape.user_agent!r} {shape.source}"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
