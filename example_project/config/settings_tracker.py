"""The pixel-serving deployment of the ``PTRACK_APP_URL`` split.

The app deployment (``config.settings``) renders the mail with
``PTRACK_APP_URL`` pointing here; this one serves nothing but ``/ptrack/`` and
records the opens into the same database. They share exactly two things: the
database and ``PTRACK_SECRET``. Each has its own ``SECRET_KEY``, so a leak of
this small public-facing site's key gives nothing away about the app's
sessions or password resets, and the other way round.
"""

from __future__ import annotations

import os

from config import settings as app

# Shared with the app deployment: the pixels verify because the key is the same.
PTRACK_SECRET = app.PTRACK_SECRET
DATABASES = app.DATABASES
# The loads are answered here, so here is where consent is asked, and where the
# withdrawal link of each email leads (ptrack serves it under /ptrack/w/).
PTRACK_CONSENT = app.PTRACK_CONSENT
PTRACK_CONSENT_WITHDRAW = app.PTRACK_CONSENT_WITHDRAW

# This deployment's own.
SECRET_KEY = os.environ.get(
    "TRACKER_SECRET_KEY", "demo-only:mailroom-tracker-key-Wd3Hq8Ls1Xv6Bn0Rt5Yc9Kf2Mg7Pj"
)
PTRACK_APP_URL = app.PTRACK_APP_URL  # its own public URL, which the app's mail points to
ROOT_URLCONF = "config.urls_tracker"
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "ptrack",
    "ptrack.store",  # its recorder writes the loads and clicks into the shared database
    "campaigns",  # for the recipients, whose consent is asked at every load
]
# The pixels are served here, so here is where recording goes to the task queue.
MAILROOM_BACKGROUND = app.MAILROOM_BACKGROUND
PTRACK_STORE_BACKGROUND = app.PTRACK_STORE_BACKGROUND
PTRACK_STORE_CLIENT = app.PTRACK_STORE_CLIENT
if MAILROOM_BACKGROUND:
    INSTALLED_APPS += ["django_tasks_db"]
    TASKS = app.TASKS

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",  # the withdrawal page's form
]
# ptrack's withdrawal pages, found in its templates/ by the app loader.
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}]

# Plain infrastructure, the same as the app's.
DEBUG = app.DEBUG
ALLOWED_HOSTS = app.ALLOWED_HOSTS
DEFAULT_AUTO_FIELD = app.DEFAULT_AUTO_FIELD
USE_TZ = True
TIME_ZONE = app.TIME_ZONE
LOGGING = app.LOGGING
WSGI_APPLICATION = "config.wsgi.application"
