"""A small project with Django's startproject settings, served by the benchmark.

``BENCH_MIDDLEWARE=0`` drops the middleware, for the no-middleware case.
``BENCH_CLASSIFIER=0`` replaces the classifier with one answering a constant.
``BENCH_TASKS`` picks the task backend of background recorders: ``rq`` (RQ on
Redis at 127.0.0.1, port ``BENCH_REDIS_PORT``, database ``BENCH_REDIS_DB``,
with django-rq's default connection, a new one per enqueue), ``rq-pooled`` (the
same through django-redis' pooled connection, django-rq's ``USE_REDIS_CACHE``)
or ``db`` (django-tasks-db on the SQLite file ``BENCH_DB``).
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
# BENCH_CLASSIFIER=0 swaps ptrack.classify for a constant, to measure what classifying costs.
if os.environ.get("BENCH_CLASSIFIER", "1") == "0":
    PTRACK_CLASSIFIER = "bench.classifier.constant"
# BENCH_BATCH_SIZE gathers background events into tasks of that many.
PTRACK_BATCH_SIZE = int(os.environ.get("BENCH_BATCH_SIZE", "1"))

_tasks = os.environ.get("BENCH_TASKS", "")
if _tasks in ("rq", "rq-pooled"):
    INSTALLED_APPS += ["django_rq"]
    TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend"}}
    _redis = f"redis://127.0.0.1:{os.environ['BENCH_REDIS_PORT']}/{os.environ['BENCH_REDIS_DB']}"
    RQ_QUEUES = {"default": {"URL": _redis}}
    if _tasks == "rq-pooled":
        CACHES = {
            "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
            "rq": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": _redis},
        }
        RQ_QUEUES = {"default": {"USE_REDIS_CACHE": "rq"}}
elif _tasks == "db":
    INSTALLED_APPS += ["django_tasks_db"]
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    # WAL and IMMEDIATE transactions: the usual SQLite set-up for several writers
    # (the web workers) and a reader that also writes (the task worker).
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ["BENCH_DB"],
            # Persistent connections, as in production: without them each request
            # opens the database anew and checkpoints the WAL on close (~20 ms here).
            "CONN_MAX_AGE": None,
            "OPTIONS": {
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
        }
    }
