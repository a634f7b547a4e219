from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ltproject.settings")
application = get_wsgi_application()

if os.environ.get("PTRACK_LOADTEST_FASTPATH"):
    from ptrack.fastpath import WSGIFastPath

    application = WSGIFastPath(application)
