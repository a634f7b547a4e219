"""Settings of Mailroom, the example project: email campaigns with open tracking by ptrack.

This is the deployment that renders and sends the mail and shows the dashboard.
Everything a real deployment changes comes from the environment; the defaults
run the demo on one machine with no outside service. ``settings_tracker.py``
is the second deployment of the ``PTRACK_APP_URL`` split.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
import django


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def _env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


BASE_DIR = Path(__file__).resolve().parent.parent

# The defaults are for the local demo only; a deployment sets its own keys.
SECRET_KEY = os.environ.get(
    "DJANGO_SECRET_KEY", "demo-only:mailroom-app-key-Qz7vN2kR8pW4xL6tB1cY9hJ3mF5sD0gA"
)
DEBUG = _env_bool("DJANGO_DEBUG", True)
ALLOWED_HOSTS = _env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "ptrack",
    # Keeps the sent messages, their opens and clicks, and each campaign's numbers: the
    # example writes no model, recorder or statistics of its own for them.
    "ptrack.store",
    "campaigns",
]

# One setting moves recording out of the pixel request: with MAILROOM_BACKGROUND=1
# ptrack.store's recorder runs in a task worker (`manage.py db_worker`, which
# `make demo DEMO_ARGS=--background` starts), queued in this database by
# django-tasks-db. Without it, the store records during the request, which a demo
# with no worker wants.
MAILROOM_BACKGROUND = _env_bool("MAILROOM_BACKGROUND", False)
PTRACK_STORE_BACKGROUND = MAILROOM_BACKGROUND
# The dashboard's latest opens name each one's mail client and IP address; a site
# that does not show them leaves this off, and the store keeps only the kind of client.
PTRACK_STORE_CLIENT = _env_bool("MAILROOM_STORE_CLIENT", True)
if MAILROOM_BACKGROUND:
    INSTALLED_APPS += ["django_tasks_db"]
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# SQLite next to manage.py unless DATABASE_URL names another database, e.g.
# postgres://user:password@localhost:5432/mailroom (needs: pip install "psycopg[binary]").
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}", conn_max_age=60
    ),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3" and django.VERSION >= (5, 1):
    # ptrack.store records a batch in a transaction that reads, then writes: in SQLite's
    # default deferred mode that write fails at once while another connection writes (a
    # pixel request enqueueing a task), and the load is lost. IMMEDIATE waits instead.
    DATABASES["default"].setdefault("OPTIONS", {})["transaction_mode"] = "IMMEDIATE"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

# Mail: a local Maildir sink that the inbox page reads, unless EMAIL_HOST names
# an SMTP server (or EMAIL_BACKEND names any Django backend).
MAILROOM_MAILDIR = Path(os.environ.get("MAILROOM_MAILDIR", BASE_DIR / "sent_mail"))
_SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
_email_backend = os.environ.get("EMAIL_BACKEND") or (
    _SMTP_BACKEND if os.environ.get("EMAIL_HOST") else "campaigns.mail.MaildirBackend"
)
_smtp = {
    "host": os.environ.get("EMAIL_HOST", "localhost"),
    "port": int(os.environ.get("EMAIL_PORT", "25")),
    "username": os.environ.get("EMAIL_HOST_USER", ""),
    "password": os.environ.get("EMAIL_HOST_PASSWORD", ""),
    "use_tls": _env_bool("EMAIL_USE_TLS", False),
    "use_ssl": _env_bool("EMAIL_USE_SSL", False),
    "timeout": 30,
}
# Every message goes through ptrack's tracking backend: it instruments the campaign
# emails (they carry ptrack data, see campaigns/sending.py) and hands every message
# to the backend above, which delivers it.
_TRACKING_BACKEND = "ptrack.mail.TrackingEmailBackend"
PTRACK_EMAIL_BACKEND = _email_backend
if django.VERSION >= (6, 1):
    # Django 6.1 replaced the EMAIL_* settings with MAILERS.
    MAILERS = {
        "default": {
            "BACKEND": _TRACKING_BACKEND,
            "OPTIONS": _smtp if _email_backend == _SMTP_BACKEND else {},
        }
    }
else:
    EMAIL_BACKEND = _TRACKING_BACKEND
    EMAIL_HOST = _smtp["host"]
    EMAIL_PORT = _smtp["port"]
    EMAIL_HOST_USER = _smtp["username"]
    EMAIL_HOST_PASSWORD = _smtp["password"]
    EMAIL_USE_TLS = _smtp["use_tls"]
    EMAIL_USE_SSL = _smtp["use_ssl"]
    EMAIL_TIMEOUT = _smtp["timeout"]
# The campaign email's templates are plain HTML and text that the tracking backend
# instruments; MAILROOM_TAGGED_TEMPLATES=1 uses instead the templates that place the
# pixel and each click link by hand with {% ptrack %} and {% ptrack_link %}.
MAILROOM_TAGGED_TEMPLATES = _env_bool("MAILROOM_TAGGED_TEMPLATES", False)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Mailroom <news@mailroom.example>")

# ptrack. PTRACK_APP_URL is where mail clients fetch the pixels: this site in
# the demo, the tracker deployment in the split. PTRACK_SECRET is its own key,
# not SECRET_KEY, so that both deployments of the split can share it without
# sharing anything else.
PTRACK_APP_URL = os.environ.get("PTRACK_APP_URL", "http://127.0.0.1:8000")
# The public website the campaign emails link to (its pages under /pages/ stand in
# for a real site). Every link in the mail goes through ptrack's click URL first.
MAILROOM_SITE_URL = os.environ.get("MAILROOM_SITE_URL", "http://127.0.0.1:8000").rstrip("/")
PTRACK_SECRET = os.environ.get(
    "PTRACK_SECRET", "demo-only:mailroom-pixel-key-T4uE8yH2nV6cX0bM3kS7pL1wR9jG5fZ"
)
# Each recipient's choice (campaigns/consent.py): ptrack asks it by the recipient's
# opaque key when it renders an email and at every load and click, and calls the
# hook when a recipient confirms on the page of the withdrawal link in each email.
PTRACK_CONSENT = "campaigns.consent.level"
PTRACK_CONSENT_WITHDRAW = "campaigns.consent.withdraw"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "[{asctime}] {name}: {message}", "style": "{"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    # ptrack says at INFO when it ignores an expired link; the demo shows that.
    "loggers": {"ptrack": {"handlers": ["console"], "level": "INFO"}},
}
