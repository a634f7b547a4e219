"""Mint pixel tokens with the real django-ptrack 3.0.0, for tests/ptrack3/tokens.json.

    nox -s ptrack3_tokens        # a throwaway venv with django-ptrack==3.0.0 from PyPI

3.0.0's import name is also ``ptrack``, so this runs in its own environment,
never beside this project. For each case it records the token 3.0.0's
``ptrack_encoder.encrypt()`` made, the URL its ``{% ptrack %}`` tag rendered,
and what 3.0.0's own view passed to a registered recorder when that URL was
loaded (``null`` when it called none): the tests load the same tokens through
this project's endpoint and compare.
"""

from __future__ import annotations

import json
import sys
from importlib.metadata import version
from pathlib import Path
from urllib.parse import urlsplit

import django
from django.conf import settings
from django.urls import include, re_path

urlpatterns: list[object] = []  # filled once settings are configured: ptrack 3 reads them on import

SECRETS = [
    "my-3.x-ptrack-secret",  # the README's upgrade guide uses this one
    "0123456789abcdefghijklmnopqrstuv",  # the longest 3.x accepted: 32 characters
]

CASES: list[tuple[str, list[object], dict[str, object]]] = [
    ("newsletter", ["newsletter"], {"user_id": 42}),
    ("two args, two kwargs", ["welcome", 7], {"campaign": "spring-2019", "variant": "b"}),
    ("unicode", ["café ✉ 中文 🎯"], {"name": "Zoë", "ключ": "значение"}),
    (
        "every JSON type, nested",
        [[1, 2, [3]], {"a": None}, True, False, None, 1.5, -0.0, 10**20, -7],
        {"deep": {"x": [1, {"y": False}]}, "f": 2.5e-10},
    ),
    ("kwargs only", [], {"email_id": 1234567}),
    ("args only", ["a", "b", "c"], {}),
    ("nothing", [], {}),  # 3.0.0's view called no recorder for these
    ("a tuple, which JSON carries as a list", [("x", "y")], {}),
    ("long, under 4096 characters", ["x" * 2900], {}),
    ("long, over 4096 characters", ["x" * 3100], {}),
]


def main(out: Path) -> None:
    assert version("django-ptrack") == "3.0.0", version("django-ptrack")
    settings.configure(
        DEBUG=False,
        SECRET_KEY="not-used-by-ptrack-3",
        ALLOWED_HOSTS=["testserver"],
        ROOT_URLCONF=__name__,
        INSTALLED_APPS=["ptrack"],
        TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates"}],
        PTRACK_SECRET=SECRETS[0],
        PTRACK_APP_URL="https://www.example.com",
    )
    django.setup()
    # 3.0.0's README has the old url() form; re_path is the same pattern.
    urlpatterns.append(re_path(r"^ptrack/", include("ptrack.urls")))

    from django.template import Context, Template
    from django.test import Client, override_settings

    import ptrack

    assert "site-packages" in ptrack.__file__, ptrack.__file__
    calls: list[list[object]] = []

    class Recorder(ptrack.TrackingPixel):
        def record(self, request, *args, **kwargs):  # 3.x passed the request first
            calls.append([list(args), kwargs])

    ptrack.tracker.register(Recorder)
    client = Client()
    tokens = []
    for secret in SECRETS:
        with override_settings(PTRACK_SECRET=secret):
            for name, args, kwargs in CASES:
                token = ptrack.ptrack_encoder.encrypt(*args, **kwargs)
                assert ptrack.ptrack_encoder.decrypt(token) == [
                    json.loads(json.dumps(args)),
                    kwargs,
                ]
                calls.clear()
                assert client.get(f"/ptrack/{token}/").status_code == 200
                recorded = calls[0] if calls else None
                assert len(calls) <= 1
                tokens.append(
                    {
                        "secret": secret,
                        "case": name,
                        "args": args,
                        "kwargs": kwargs,
                        "token": token,
                        "recorded_by_3x": recorded,
                    }
                )
            # The tag's own output, as it went out in emails.
            tag = Template("{% load ptrack %}{% ptrack 'newsletter' user_id=42 variant='b' %}")
            html = tag.render(Context())
            src = html.split("src='")[1].split("'")[0]
            calls.clear()
            assert client.get(urlsplit(src).path).status_code == 200
            tokens.append(
                {
                    "secret": secret,
                    "case": "rendered by the {% ptrack %} tag",
                    "args": ["newsletter"],
                    "kwargs": {"user_id": 42, "variant": "b"},
                    "html": html,
                    "token": urlsplit(src).path.split("/")[2],
                    "recorded_by_3x": calls[0] if calls else None,
                }
            )
    document = {
        "made_by": f"django-ptrack {version('django-ptrack')}, PyNaCl {version('pynacl')}, "
        f"Django {version('django')}, Python {sys.version.split()[0]}",
        "script": "tests/ptrack3/mint.py (nox -s ptrack3_tokens)",
        "tokens": tokens,
    }
    out.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n")
    print(f"Wrote {len(tokens)} tokens to {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
