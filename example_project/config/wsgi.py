"""WSGI entry point; DJANGO_SETTINGS_MODULE picks the deployment (app or tracker)."""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

application = get_wsgi_application()
