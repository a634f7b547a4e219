from __future__ import annotations

from tests import postgres

SECRET_KEY = "tests-" + "k3y-for-the-ptrack-test-suite-only-0123456789abcdefghij"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
USE_TZ = True

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "ptrack",
    "ptrack.consents",
    "ptrack.store",
    "tests.testapp",
]

# Django's startproject middleware: the pixel must behave with it in place.
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "tests.urls"
# The live server of the store's browser test serves static files under it (none here).
STATIC_URL = "static/"

DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
# ptrack.store's tests run on both (tests/postgres.py starts the cluster when used).
if postgres.available():
    DATABASES[postgres.ALIAS] = postgres.settings()

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            # The admin's (ptrack.consents' admin is tested); the pixels need none.
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

PTRACK_APP_URL = "https://track.example.com"
