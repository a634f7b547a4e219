"""Token work in process: minting and verifying against plain itsdangerous, and rendering.

Also the payload every part of the benchmark signs, and the distinct valid
tokens the endpoint is loaded with.
"""

from __future__ import annotations

import itertools
import os
import statistics
import timeit
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ARGS = ("campaign-42",)
KWARGS = {"user_id": 123456, "email": "someone@example.com", "variant": "b"}
CLICK_DESTINATION = "https://www.example.com/pricing?plan=pro&utm_source=newsletter"

EMAIL_TEMPLATE = Path(__file__).resolve().parent / "templates" / "email.html"


def pixel_tokens(count: int) -> list[str]:
    """What ``Pixel(*ARGS, **KWARGS)`` signs, for ``count`` distinct users."""
    from ptrack import encoders

    return [encoders.encode(ARGS, {**KWARGS, "user_id": n}) for n in range(count)]


def recipient_tokens(count: int) -> list[str]:
    """What ``Pixel(*ARGS, **KWARGS).url(recipient=...)`` signs, for ``count`` recipients."""
    from ptrack import encoders

    return [
        encoders.encode(ARGS, {**KWARGS, "user_id": n}, recipient=f"sub-{n}") for n in range(count)
    ]


# A consent source that answers from memory, as one reading Django's local-memory cache would.
CONSENT_LEVELS = {f"sub-{n}": "full" for n in range(1000)}


def memory_consent(recipient: str) -> str | None:
    return CONSENT_LEVELS.get(recipient)


def click_tokens(count: int) -> list[str]:
    """What ``Pixel(*ARGS, **KWARGS).link(CLICK_DESTINATION)`` signs, for each user."""
    from ptrack import clicks, encoders

    args = clicks.click_args(CLICK_DESTINATION, ARGS)
    return [encoders.encode(args, {**KWARGS, "user_id": n}) for n in range(count)]


def _median_extra_us(cases: list[float], baselines: list[float]) -> float:
    """The median over rounds of what a case cost more than its baseline, in µs."""
    return statistics.median(c - b for c, b in zip(cases, baselines, strict=True)) * 1e6


def _median_ratio(numerators: list[float], denominators: list[float]) -> float:
    return statistics.median(n / d for n, d in zip(numerators, denominators, strict=True))


def token_bench(rounds: int, seconds: float) -> dict[str, Any]:
    import hashlib

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    django.setup()
    from django.conf import settings
    from django.template import Context, Engine
    from django.test import override_settings
    from itsdangerous import URLSafeTimedSerializer

    import ptrack
    from bench.classifier import cycling_classify
    from ptrack import encoders, tracking

    plain = URLSafeTimedSerializer(
        settings.SECRET_KEY,
        salt="ptrack.pixel",
        signer_kwargs={"key_derivation": "hmac", "digest_method": hashlib.sha256},
    )
    payload = [list(ARGS), dict(KWARGS)]
    # Many distinct valid tokens, verified in turn by both sides.
    tokens = pixel_tokens(1000)
    assert all(plain.loads(token)[1]["user_id"] == n for n, token in enumerate(tokens))
    plain_tokens = [plain.dumps([list(ARGS), {**KWARGS, "user_id": n}]) for n in range(1000)]
    assert all(
        encoders.decode(token).kwargs["user_id"] == n for n, token in enumerate(plain_tokens)
    )
    pixel = ptrack.Pixel(*ARGS, **KWARGS)

    source = EMAIL_TEMPLATE.read_text()
    engine = Engine.get_default()
    template = engine.from_string(source)
    without_tag = engine.from_string(
        "\n".join(line for line in source.splitlines() if "{% ptrack " not in line)
    )
    assert "track.example.com/ptrack/" in template.render(Context({"user_id": 1}))
    context = {
        "subject": "This week",
        "first_name": "Sam",
        "site_name": "Example",
        "user_id": 123456,
        "email": "someone@example.com",
        "cta_url": "https://example.com/weekly",
        "unsubscribe_url": "https://example.com/unsubscribe/abc",
        "items": [
            {
                "title": f"Story {n}",
                "url": f"https://example.com/s/{n}",
                "image": f"https://cdn.example.com/{n}.jpg",
                "summary": "A short summary of the story that runs for a few lines. " * 3,
            }
            for n in range(5)
        ],
    }

    def cycling(func: Callable[[str], Any], items: list[str]) -> Callable[[], Any]:
        it: Iterator[str] = itertools.cycle(items)
        return lambda: func(next(it))

    cases: dict[str, Callable[[], Any]] = {
        "itsdangerous dumps": lambda: plain.dumps(payload),
        "ptrack mint token": lambda: encoders.encode(ARGS, KWARGS),
        "ptrack mint URL": pixel.url,
        "itsdangerous loads": cycling(plain.loads, plain_tokens),
        "ptrack verify": cycling(encoders.decode, tokens),
        "ptrack track()": cycling(tracking.track, tokens),
        "ptrack track(), naming a recipient, no consent source": cycling(
            tracking.track, recipient_tokens(1000)
        ),
        "ptrack track(), naming a recipient": cycling(tracking.track, recipient_tokens(1000)),
        "ptrack classify()": cycling_classify(),
        "email render, with {% ptrack %}": lambda: template.render(Context(context)),
        "email render, without it": lambda: without_tag.render(Context(context)),
    }
    # Settings in force for a case only, around each of its measurements.
    case_settings = {
        "ptrack track(), naming a recipient": {"PTRACK_CONSENT": "bench.tokens.memory_consent"},
    }
    numbers = {}
    for name, func in cases.items():  # calibrate: about `seconds` per measurement
        n, elapsed = 1, 0.0
        with override_settings(**case_settings.get(name, {})):
            while elapsed < 0.05:
                n *= 2
                elapsed = timeit.timeit(func, number=n)
        numbers[name] = max(1, int(n * seconds / elapsed))
    with override_settings(**case_settings["ptrack track(), naming a recipient"]):
        event = tracking.track(recipient_tokens(1)[0])
        assert event is not None
        assert (event.recipient, event.consent) == ("sub-0", "full")
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(rounds):
        for name, func in cases.items():
            with override_settings(**case_settings.get(name, {})):
                times[name].append(timeit.timeit(func, number=numbers[name]) / numbers[name])
    per_second = {name: 1 / statistics.median(values) for name, values in times.items()}
    return {
        "rounds": rounds,
        "median_us": {name: statistics.median(v) * 1e6 for name, v in times.items()},
        "per_second": per_second,
        "ratios": {
            "mint token vs itsdangerous dumps": _median_ratio(
                times["itsdangerous dumps"], times["ptrack mint token"]
            ),
            "mint URL vs itsdangerous dumps": _median_ratio(
                times["itsdangerous dumps"], times["ptrack mint URL"]
            ),
            "verify vs itsdangerous loads": _median_ratio(
                times["itsdangerous loads"], times["ptrack verify"]
            ),
        },
        "extra_us": {
            "track() naming a recipient, memory consent source, over track()": _median_extra_us(
                times["ptrack track(), naming a recipient"], times["ptrack track()"]
            ),
            "of which the lookup, over the same link with no consent source": _median_extra_us(
                times["ptrack track(), naming a recipient"],
                times["ptrack track(), naming a recipient, no consent source"],
            ),
        },
        "token_length": len(encoders.encode(ARGS, KWARGS)),
        "url_length": len(pixel.url()),
        "url_example": pixel.url(),
        "plain_token_length": len(plain.dumps(payload)),
    }
