"""Settings of the load test's own small project (``loadtest/run.py`` serves it with gunicorn)."""

from __future__ import annotations

import os

SECRET_KEY = "loadtest-" + "only-for-the-ptrack-load-test-0123456789abcdefghijklmnop"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
USE_TZ = True

INSTALLED_APPS = ["ptrack", "counting"]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "ltproject.urls"
WSGI_APPLICATION = "ltproject.wsgi.application"
DATABASES: dict[str, dict[str, str]] = {}

PTRACK_APP_URL = "http://127.0.0.1"
# Low enough that an over-long token still fits in gunicorn's 4094-byte request line.
PTRACK_MAX_TOKEN_LENGTH = 1024

# Where the counting recorder appends one line per event (set by loadtest/run.py).
LOADTEST_EVENTS_FILE = os.environ.get("PTRACK_LOADTEST_EVENTS", "/dev/null")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "loggers": {"ptrack": {"handlers": ["stderr"], "level": "WARNING", "propagate": False}},
}
