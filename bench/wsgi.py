"""``gunicorn bench.wsgi:application``; ``BENCH_APP`` picks django, fast or raw."""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

from typing import Any

_app = os.environ.get("BENCH_APP", "django")
application: Any
if _app == "raw":
    from bench.raw import wsgi as application
else:
    from django.core.wsgi import get_wsgi_application

    application = get_wsgi_application()
    if _app == "fast":
        from ptrack.fastpath import WSGIFastPath

        application = WSGIFastPath(
            application, request_signals=os.environ.get("BENCH_SIGNALS", "1") == "1"
        )
