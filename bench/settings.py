"""A small project with Django's startproject settings, served by the benchmark.

``BENCH_MIDDLEWARE=0`` drops the middleware, for the no-middleware case.
``BENCH_TASKS`` picks the task backend of background recorders: ``rq`` (Redis
on 127.0.0.1, port ``BENCH_REDIS_PORT``) or ``db`` (django-tasks-db on the
SQLite file ``BENCH_DB``).
"""

from __future__ import annotations

import os

SECRET_KEY = "bench-" + "k3y-used-only-by-the-ptrack-benchmark-0123456789abcdefghij"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
USE_TZ = True

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "ptrack",
    "bench",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
if os.environ.get("BENCH_MIDDLEWARE", "1") == "0":
    MIDDLEWARE = []

ROOT_URLCONF = "bench.urls"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [os.path.join(os.path.dirname(__file__), "templates")],
        "OPTIONS": {"context_processors": []},
    }
]
LOGGING_CONFIG = None

PTRACK_APP_URL = "https://track.example.com"

_tasks = os.environ.get("BENCH_TASKS", "")
if _tasks == "rq":
    INSTALLED_APPS += ["django_rq"]
    TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend"}}
    RQ_QUEUES = {"default": {"HOST": "127.0.0.1", "PORT": int(os.environ["BENCH_REDIS_PORT"])}}
elif _tasks == "db":
    INSTALLED_APPS += ["django_tasks_db"]
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    # WAL and IMMEDIATE transactions: the usual SQLite set-up for several writers
    # (the web workers) and a reader that also writes (the task worker).
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ["BENCH_DB"],
            "OPTIONS": {
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
        }
    }
