"""Where a pixel request's time goes, in process, without a server or the network.

``python -m bench.profiling CASE`` drives one front end with WSGI environs (many
distinct valid tokens), prints microseconds per request, and with ``--profile``
the cProfile lines by cumulative time. CASE is one of: view, bare, fast, raw;
``BENCH_MIDDLEWARE=0`` drops the middleware; ``--asgi`` drives the ASGI
application with scopes instead, one request at a time in an event loop.

``python -m bench.profiling breakdown`` shows where the pixel view's extra cost
over the bare view goes inside a whole request, where caches are colder than in
a tight loop: it alternates the bare view with the pixel view as it is, with
recording cut down to verifying the token, and with no recording at all, and
prints each one's microseconds and its difference from the bare view.
``python -m bench.profiling fastpath`` does the same for the fast path against
the raw callable (``--asgi`` for the ASGI pair; ``BENCH_RECORDER=async`` then
measures the recorder without a thread hand-off, which one request at a time
would turn into a wait). ``python -m bench.profiling classifier`` alternates the
fast path as it is with the same fast path under a constant ``PTRACK_CLASSIFIER``,
each request carrying one of the labelled shapes' header sets, as ``make bench``
sends them. The benchmark's numbers come from ``bench.run``; these show why.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import inspect
import io
import os
import pstats
import statistics
import sys
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "case", choices=["view", "bare", "fast", "raw", "breakdown", "fastpath", "classifier"]
    )
    parser.add_argument("--rounds", type=int, default=25, help="breakdown rounds (25)")
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--lines", type=int, default=40)
    parser.add_argument("--asgi", action="store_true")
    options = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    os.environ.setdefault("BENCH_COUNTER", os.devnull)
    os.environ["BENCH_APP"] = {
        "view": "django",
        "bare": "django",
        "breakdown": "django",
        "fastpath": "fast",
        "classifier": "fast",
    }.get(options.case, options.case)

    if options.asgi:
        from bench.asgi import application
    else:
        from bench.wsgi import application
    from ptrack import encoders

    kwargs = {"email": "someone@example.com", "variant": "b"}
    tokens = [encoders.encode(("campaign-42",), {"user_id": n, **kwargs}) for n in range(1000)]
    prefix = "/bare/" if options.case in ("bare", "raw") else "/ptrack/"
    base = {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "127.0.0.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_USER_AGENT": "wrk",
        "wsgi.errors": sys.stderr,
        "wsgi.url_scheme": "http",
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }

    def start_response(status: str, headers: Any) -> None:
        assert status.startswith("200"), status

    def driver(
        prefix: str, app: Any = application, header_sets: list[dict[str, str]] | None = None
    ) -> Callable[[], None]:
        paths = [f"{prefix}{token}/" for token in tokens]
        counter = iter(range(10**9))
        bases = [base]
        if header_sets:
            without_ua = {k: v for k, v in base.items() if k != "HTTP_USER_AGENT"}
            bases = [
                {**without_ua, **{f"HTTP_{n.upper().replace('-', '_')}": v for n, v in h.items()}}
                for h in header_sets
            ]

        def one() -> None:
            n = next(counter)
            environ = {
                **bases[n % len(bases)],
                "PATH_INFO": paths[n % len(paths)],
                "wsgi.input": io.BytesIO(),
            }
            result = app(environ, start_response)
            b"".join(result)
            close = getattr(result, "close", None)
            if close is not None:
                close()

        return one

    if options.case == "breakdown":
        from ptrack import views

        _breakdown(
            ("bare view", driver("/bare/")),
            ("pixel view", driver("/ptrack/")),
            (views, "track"),
            options.requests // 10,
            options.rounds,
        )
        return
    if options.case == "fastpath":
        from bench import raw
        from ptrack import tracking

        pixels = [f"/ptrack/{token}/" for token in tokens]
        bare = [f"/bare/{token}/" for token in tokens]
        if options.asgi:
            reference = _asgi_driver(raw.asgi, bare)
            subject = _asgi_driver(application, pixels)
            patched = (tracking, "atrack")
        else:
            reference = driver("/bare/", raw.wsgi)
            subject = driver("/ptrack/")
            patched = (tracking, "track")
        _breakdown(
            ("raw callable", reference),
            ("fast path", subject),
            patched,
            options.requests // 10,
            options.rounds,
        )
        return
    if options.case == "classifier":
        from bench.load import request_header_sets

        sets, _ = request_header_sets()
        pixels = [f"/ptrack/{token}/" for token in tokens]
        subject = (
            _asgi_driver(application, pixels, sets)
            if options.asgi
            else driver("/ptrack/", application, sets)
        )
        _compare_classifiers(subject, options.requests // 10, options.rounds, 2 * len(sets))
        return
    paths = [f"{prefix}{token}/" for token in tokens]
    one = driver(prefix)
    if options.asgi:
        one = _asgi_driver(application, paths)
    for _ in range(1000):
        one()
    n = options.requests
    best = min(timeit.repeat(one, number=n, repeat=5)) / n
    print(f"{options.case}: {best * 1e6:.1f} µs per request (best of 5 x {n})")
    if options.profile:
        profiler = cProfile.Profile()
        profiler.runcall(lambda: [one() for _ in range(n)])
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(options.lines)


def _breakdown(
    reference: tuple[str, Callable[[], None]],
    subject: tuple[str, Callable[[], None]],
    patched: tuple[Any, str],
    number: int,
    rounds: int,
) -> None:
    from ptrack import tracking

    module, attribute = patched
    track = getattr(module, attribute)
    verify_only: Any = tracking.verify
    nothing: Any = lambda token, context=None: None  # noqa: E731
    if inspect.iscoroutinefunction(track):  # its caller awaits what it calls
        verify_only, nothing = _awaitable(verify_only), _awaitable(nothing)

    name = subject[0]
    variants: dict[str, Any] = {
        name: track,
        f"{name}, recording = verify the token": verify_only,
        f"{name}, no recording": nothing,
    }
    times: dict[str, list[float]] = {reference[0]: [], **{v: [] for v in variants}}
    for _ in range(300):
        reference[1]()
        subject[1]()
    try:
        for _ in range(rounds):
            times[reference[0]].append(timeit.timeit(reference[1], number=number) / number)
            for variant, replacement in variants.items():
                setattr(module, attribute, replacement)
                times[variant].append(timeit.timeit(subject[1], number=number) / number)
    finally:
        setattr(module, attribute, track)
    floor = min(times[reference[0]])
    print(f"{'case':<42} {'min µs':>8} {'median µs':>10} {f'min - {reference[0]}':>18}")
    for variant, values in times.items():
        print(
            f"{variant:<42} {min(values) * 1e6:>8.1f} {statistics.median(values) * 1e6:>10.1f} "
            f"{(min(values) - floor) * 1e6:>+18.1f}"
        )


def _compare_classifiers(
    subject: Callable[[], None], number: int, rounds: int, warm_up: int
) -> None:
    """The fast path with ``classify()`` against itself with a constant classifier (ABBA)."""
    from django.test import override_settings

    constant = override_settings(PTRACK_CLASSIFIER="bench.classifier.constant")
    names = ("classify()", "constant classifier")
    times: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(rounds):
        for name in names if round_ % 2 == 0 else reversed(names):
            # A settings change rebuilds the rules and forgets every User-Agent seen:
            # warm up again after each switch, as a long-running worker is.
            with constant if name == "constant classifier" else contextlib.nullcontext():
                for _ in range(warm_up):
                    subject()
                times[name].append(timeit.timeit(subject, number=number) / number)
    print(f"{'fast path, PTRACK_CLASSIFIER':<30} {'min µs':>8} {'median µs':>10}")
    for name, values in times.items():
        print(f"{name:<30} {min(values) * 1e6:>8.1f} {statistics.median(values) * 1e6:>10.1f}")
    differences = [a - b for a, b in zip(*times.values(), strict=True)]
    median = statistics.median(differences) * 1e6
    print(f"classifying costs, median of per-round differences: {median:+.1f} µs")


def _awaitable(func: Callable[..., Any]) -> Callable[..., Any]:
    async def awaitable(*args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)

    return awaitable


def _asgi_driver(
    application: Any, paths: list[str], header_sets: list[dict[str, str]] | None = None
) -> Any:
    import asyncio

    loop = asyncio.new_event_loop()
    counter = iter(range(10**9))
    headers = [[(b"host", b"127.0.0.1"), (b"user-agent", b"wrk")]]
    if header_sets:
        headers = [
            [(b"host", b"127.0.0.1")] + [(n.lower().encode(), v.encode()) for n, v in h.items()]
            for h in header_sets
        ]

    async def request() -> None:
        n = next(counter)
        path = paths[n % len(paths)]
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": b"",
            "headers": headers[n % len(headers)],
            "client": ("127.0.0.1", 40000),
            "server": ("127.0.0.1", 80),
        }
        received = False
        status: list[int] = []

        async def receive() -> dict[str, Any]:
            nonlocal received
            if not received:
                received = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await asyncio.Event().wait()
            raise AssertionError

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])

        await application(scope, receive, send)
        assert status == [200], status

    def one() -> None:
        loop.run_until_complete(request())

    return one


if __name__ == "__main__":
    main()
