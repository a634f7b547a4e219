"""django-ptrack 3.0.0's pixel view, paired in process with a bare view, as ``bench/inprocess.py``
pairs ours: ``nox -s ptrack3_inprocess -- --json PATH`` (``make bench`` runs it).

3.0.0's import name is also ``ptrack``, so this runs in its own environment
(django-ptrack 3.0.0 and Django 4.2 from PyPI, the newest Django it runs on
unchanged), as a script, never beside this project: the harness, the payload
and the bare view's answer are read from ``bench/`` by file path, not imported
as a package, so that ``ptrack`` is 3.0.0's.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path
from types import ModuleType
from typing import Any

BENCH = Path(__file__).resolve().parent

# The bare view's answer, as bench/urls.py's: ptrack.answers' GIF and headers
# (tests/test_bench_inprocess.py keeps them equal).
PIXEL_GIF = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\x00\x00\x00"
    b"!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)
PIXEL_HEADERS = {
    "Cache-Control": "no-cache, no-store, must-revalidate, private, max-age=0",
    "Pragma": "no-cache",
    "Expires": "0",
    "X-Content-Type-Options": "nosniff",
    "Content-Length": str(len(PIXEL_GIF)),
}

urlpatterns: list[object] = []  # filled once settings are configured: 3.0.0 reads them on import


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"_bench_{name}", BENCH / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def bare(request: Any, token: str) -> Any:
    from django.http import HttpResponse

    return HttpResponse(PIXEL_GIF, content_type="image/gif", headers=PIXEL_HEADERS)


def _setup() -> tuple[ModuleType, ModuleType, dict[str, Any], list[str]]:
    """Django configured with 3.0.0 and a counting recorder: the harness, the counter
    (counting under ``BENCH_COUNTER``), a WSGI handler per middleware mode, and
    1,000 tokens 3.0.0 made."""
    harness = _load("inprocess")
    payload = _load("tokens")
    counter = _load("counter")
    middleware = _load("settings").MIDDLEWARE
    import django
    from django.conf import settings

    settings.configure(
        DEBUG=False,
        SECRET_KEY="bench-" + "k3y-used-only-by-the-ptrack-benchmark-0123456789abcdefghij",
        ALLOWED_HOSTS=["127.0.0.1"],
        USE_TZ=True,
        ROOT_URLCONF=__name__,
        INSTALLED_APPS=[
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "django.contrib.messages",
            "ptrack",
        ],
        MIDDLEWARE=middleware,
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        LOGGING_CONFIG=None,
        PTRACK_SECRET="0123456789abcdefghijklmnopqrstuv",
        PTRACK_APP_URL="https://track.example.com",
    )
    django.setup()
    from django.core.handlers.wsgi import WSGIHandler
    from django.test import override_settings
    from django.urls import include, re_path

    import ptrack

    if version("django-ptrack") != "3.0.0" or "site-packages" not in (ptrack.__file__ or ""):
        raise SystemExit(f"needs django-ptrack 3.0.0 installed, not {ptrack.__file__}")
    # 3.0.0's README has the old url() form; re_path is the same pattern.
    urlpatterns.extend(
        [re_path(r"^ptrack/", include("ptrack.urls")), re_path(r"^bare/(?P<token>.+)/$", bare)]
    )

    class CountingRecorder(ptrack.TrackingPixel):
        # Counts as ours does (bench/pixels.py), so both recorders cost the same.
        def record(self, request: Any, *args: Any, **kwargs: Any) -> None:
            counter.add()

    ptrack.tracker.register(CountingRecorder)
    tokens = [
        ptrack.ptrack_encoder.encrypt(*payload.ARGS, **{**payload.KWARGS, "user_id": n})
        for n in range(1000)
    ]
    handlers = {"startproject middleware": WSGIHandler()}
    with override_settings(MIDDLEWARE=[]):
        handlers["no middleware"] = WSGIHandler()
    return harness, counter, handlers, tokens


def _cases(harness: ModuleType, handler: Any, tokens: list[str]) -> list[Any]:
    return [
        harness.Case("bare view", handler, [f"/bare/{t}/" for t in tokens], records=False),
        harness.Case("django-ptrack 3.0.0 view", handler, [f"/ptrack/{t}/" for t in tokens]),
    ]


def peer_bench(rounds: int, number: int, warm_up: int) -> dict[str, Any]:
    harness, counter, handlers, tokens = _setup()
    results: dict[str, Any] = {"rounds": rounds, "requests_per_batch": number, "modes": {}}
    comparisons = [("django-ptrack 3.0.0 view", "bare view")]
    for mode, handler in handlers.items():
        results["modes"][mode] = harness.measure(
            mode, _cases(harness, handler, tokens), comparisons, counter, rounds, number, warm_up
        )
    results["versions"] = {
        "django-ptrack": version("django-ptrack"),
        "django": version("django"),
        "python": sys.version.split()[0],
    }
    return results


def requests_only(case: str, count: int, warm_up: int, mode: str) -> None:
    """``count`` requests of one case after ``warm_up`` in the middleware ``mode``, for
    ``bench/instructions.py``."""
    harness, _counter, handlers, tokens = _setup()
    (found,) = [c for c in _cases(harness, handlers[mode], tokens) if c.name == case]
    found.requests(warm_up)
    found.requests(count)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--warm-up", type=int, default=200)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--only", metavar="CASE", help="only make --requests requests of CASE")
    parser.add_argument("--mode", default="startproject middleware", help="with --only")
    options = parser.parse_args()
    os.chdir(tempfile.gettempdir())  # nowhere near this project's ptrack/
    if options.only:
        requests_only(options.only, options.requests, options.warm_up, options.mode)
        return
    if options.json is None:
        parser.error("--json is required")
    results = peer_bench(options.rounds, options.requests, options.warm_up)
    options.json.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results["modes"], indent=1))


if __name__ == "__main__":
    main()
