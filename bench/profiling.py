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
prints each one's microseconds and its difference from the bare view. The
benchmark's numbers come from ``bench.run``; this shows why.
"""

from __future__ import annotations

import argparse
import cProfile
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
    parser.add_argument("case", choices=["view", "bare", "fast", "raw", "breakdown"])
    parser.add_argument("--rounds", type=int, default=25, help="breakdown rounds (25)")
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--lines", type=int, default=40)
    parser.add_argument("--asgi", action="store_true")
    options = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    os.environ.setdefault("BENCH_COUNTER", os.devnull)
    os.environ["BENCH_APP"] = {"view": "django", "bare": "django", "breakdown": "django"}.get(
        options.case, options.case
    )

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

    def driver(prefix: str) -> Callable[[], None]:
        paths = [f"{prefix}{token}/" for token in tokens]
        counter = iter(range(10**9))

        def one() -> None:
            environ = {
                **base,
                "PATH_INFO": paths[next(counter) % len(paths)],
                "wsgi.input": io.BytesIO(),
            }
            result = application(environ, start_response)
            b"".join(result)
            close = getattr(result, "close", None)
            if close is not None:
                close()

        return one

    if options.case == "breakdown":
        _breakdown(driver("/bare/"), driver("/ptrack/"), options.requests // 10, options.rounds)
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
    bare: Callable[[], None], view: Callable[[], None], number: int, rounds: int
) -> None:
    from ptrack import tracking, views

    track = views.track
    variants: dict[str, Any] = {
        "pixel view": track,
        "pixel view, recording = verify the token": tracking.verify,
        "pixel view, no recording": lambda token, **context: None,
    }
    times: dict[str, list[float]] = {"bare view": [], **{name: [] for name in variants}}
    for _ in range(300):
        bare()
        view()
    try:
        for _ in range(rounds):
            times["bare view"].append(timeit.timeit(bare, number=number) / number)
            for name, replacement in variants.items():
                views.track = replacement
                times[name].append(timeit.timeit(view, number=number) / number)
    finally:
        views.track = track
    floor = min(times["bare view"])
    print(f"{'case':<42} {'min µs':>8} {'median µs':>10} {'min - bare':>11}")
    for name, values in times.items():
        print(
            f"{name:<42} {min(values) * 1e6:>8.1f} {statistics.median(values) * 1e6:>10.1f} "
            f"{(min(values) - floor) * 1e6:>+11.1f}"
        )


def _asgi_driver(application: Any, paths: list[str]) -> Any:
    import asyncio

    loop = asyncio.new_event_loop()
    counter = iter(range(10**9))

    async def request() -> None:
        path = paths[next(counter) % len(paths)]
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
            "headers": [(b"host", b"127.0.0.1"), (b"user-agent", b"wrk")],
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
