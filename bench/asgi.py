"""``uvicorn bench.asgi:application``; ``BENCH_APP`` picks django, fast or raw."""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

from typing import Any

_app = os.environ.get("BENCH_APP", "django")
application: Any
if _app == "raw":
    from bench.raw import asgi as application
else:
    from django.core.asgi import get_asgi_application

    application = get_asgi_application()
    if _app == "fast":
        from ptrack.fastpath import ASGIFastPath

        application = ASGIFastPath(application)
