"""Long-run fuzz target for the pixel view's decode step.

    make fuzz                      # 1,000,000 inputs; FUZZ_RUNS=N to change
    .venv/bin/python fuzz/fuzz_decode.py [--keep-going DIR] [libFuzzer options] [CORPUS]
    .venv/bin/python fuzz/fuzz_decode.py --hypothesis N     # without atheris

By default the first finding stops the run, as libFuzzer does. With
``--keep-going DIR`` each distinct finding (exception type and the ptrack line
that raised it) is printed once with its traceback and its input saved in DIR,
and the run carries on; ``make fuzz`` fails if DIR is not empty at the end.

Each input is turned into a token in one of six ways: raw text, a genuine
token with bytes overwritten, a token-shaped ``payload.timestamp.signature``
string, arbitrary payload bytes genuinely signed with the key (to reach the
decompression, JSON and shape checks behind the signature), a genuine
django-ptrack 3.x token with bytes overwritten, or arbitrary bytes genuinely
sealed in 3.x's SecretBox (to reach the JSON and shape checks behind it). The
token goes through ``ptrack.encoders.decode`` with both shipped encoders and
through ``ptrack.tracking.track``, with ``PTRACK_LEGACY_SECRET`` set so that
every token the encoder rejects is also tried as a 3.x link. A crash is any
exception other than ``InvalidToken``/``ValueError`` from ``decode``; any
exception from ``track``; any log record at ERROR (an encoder bug) or with a
raw line break; a token that verifies without having been signed; or one that
records without having been signed or sealed.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import sys
import traceback
import unicodedata
import zlib
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")


def _instrumented() -> contextlib.AbstractContextManager[Any]:
    """Coverage instrumentation for ptrack and itsdangerous when atheris drives the run."""
    if sys.argv[1:2] == ["--hypothesis"]:
        return contextlib.nullcontext()
    import atheris

    return atheris.instrument_imports(include=["ptrack", "itsdangerous"])


with _instrumented():
    import django
    from itsdangerous.encoding import base64_encode

    django.setup()

    from django.test import override_settings

    import ptrack
    from ptrack import encoders, tokens, tracking
    from ptrack.exceptions import ExpiredToken, InvalidToken
    from tests import ptrack3

override_settings(PTRACK_LEGACY_SECRET=ptrack3.SECRET).enable()

ENCODERS = (ptrack.SignedEncoder, ptrack.FernetEncoder)
GENUINE = tokens.dumps(["newsletter", 1.5, [True, None]], {"user_id": 42, "v": "é"})
GENUINE_3X = ptrack3.token("every JSON type, nested")
B64 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


class FuzzFinding(Exception):
    """A guarantee broke for this input."""


class _Watch(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if record.levelno >= logging.ERROR:
            raise FuzzFinding(f"ptrack logged at {record.levelname}: {message!r}")
        if any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in message):
            raise FuzzFinding(f"raw control character in a log line: {message!r}")


def _setup_logging() -> None:
    logger = logging.getLogger("ptrack")
    logger.handlers[:] = [_Watch()]
    logger.setLevel(logging.DEBUG)
    logger.propagate = False


def _b64(data: bytes) -> str:
    return "".join(chr(B64[b % 64]) for b in data)


def _overwrite(genuine: str, rest: bytes) -> str:
    chars = list(genuine)
    for i in range(0, len(rest) - 1, 2):
        chars[rest[i] % len(chars)] = chr(rest[i + 1])
    return "".join(chars)


def token_from(data: bytes) -> tuple[str, str | None]:
    """The token for one fuzz input, and ``"signed"`` or ``"sealed"`` (3.x) if genuine."""
    if not data:
        return "", None
    mode, rest = data[0] % 6, data[1:]
    if mode == 0:
        return rest.decode("utf-8", "replace"), None
    if mode == 1:
        token = _overwrite(GENUINE, rest)
        return token, "signed" if token == GENUINE else None
    if mode == 2:
        parts = rest.split(b".")
        return ("." if len(parts) % 2 else "") + ".".join(_b64(p) for p in parts), None
    if mode == 3:
        compress, body = rest[:1] == b"\x01", rest[1:]
        payload = b"." + base64_encode(zlib.compress(body)) if compress else base64_encode(body)
        return tokens.serializer().make_signer().sign(payload).decode(), "signed"
    if mode == 4:
        token = _overwrite(GENUINE_3X, rest)
        return token, "sealed" if token == GENUINE_3X else None
    return ptrack3.seal(rest), "sealed"


def check(data: bytes) -> None:
    token, genuine = token_from(data)
    for encoder in ENCODERS:
        ptrack.ptrack_encoder = encoder
        try:
            encoders.decode(token)
        except ExpiredToken as e:
            if genuine != "signed":
                raise FuzzFinding(f"unsigned token {token!r} verified as expired") from e
        except (InvalidToken, ValueError):
            pass
        else:
            if genuine != "signed" or encoder is ptrack.FernetEncoder:
                raise FuzzFinding(f"token {token!r} verified under {encoder.__name__}")
    ptrack.ptrack_encoder = None
    event = tracking.track(token, tracking.RequestContext(user_agent=token[:50]))
    if event is not None and genuine is None:
        raise FuzzFinding(f"token {token!r} recorded, though neither signed nor sealed")
    if event is not None and event.legacy != (genuine == "sealed"):
        raise FuzzFinding(f"token {token!r} recorded with legacy={event.legacy}")


def _hypothesis(runs: int) -> None:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    @settings(
        max_examples=runs,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.binary(max_size=4096))
    def run(data: bytes) -> None:
        check(data)

    run()
    print(f"Done {runs} runs (hypothesis): no finding.")


_findings_dir: Path | None = None
_seen: set[str] = set()


def _one_input(data: bytes) -> Any:
    try:
        check(data)
    except Exception as e:
        if _findings_dir is None:
            raise
        frames = [f for f in traceback.extract_tb(e.__traceback__) if "ptrack" in f.filename]
        where = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "fuzz target"
        key = f"{type(e).__name__} at {where}"
        if key not in _seen:
            _seen.add(key)
            name = hashlib.sha1(data).hexdigest()[:16]
            (_findings_dir / f"finding-{type(e).__name__}-{name}").write_bytes(data)
            print(f"\n=== FINDING {len(_seen)}: {key}", file=sys.stderr)
            traceback.print_exception(e, file=sys.stderr)
            print(f"=== input: {data!r}\n", file=sys.stderr)


def main() -> None:
    global _findings_dir
    _setup_logging()
    argv = sys.argv
    if argv[1:2] == ["--hypothesis"]:
        _hypothesis(int(argv[2]) if len(argv) > 2 else 100_000)
        return
    if argv[1:2] == ["--keep-going"]:
        _findings_dir = Path(argv[2])
        _findings_dir.mkdir(parents=True, exist_ok=True)
        argv = [argv[0], *argv[3:]]
    import atheris

    atheris.Setup(argv, _one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
