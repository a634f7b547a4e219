"""The oldest and newest supported Python/Django pairs; `make test` runs them."""

from __future__ import annotations

import glob
import os

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True

# pyenv keeps interpreters behind shims that fail outside their version; use them directly.
for bindir in sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.*/bin"))):
    os.environ["PATH"] = bindir + os.pathsep + os.environ["PATH"]

MATRIX = [("3.10", "4.2"), ("3.13", "6.1")]


@nox.session
@nox.parametrize(("python", "django"), MATRIX, ids=[f"py{p}-django{d}" for p, d in MATRIX])
def tests(session: nox.Session, django: str) -> None:
    session.install("--upgrade", "pip")
    session.install("--editable", ".", "--group", "test", f"django~={django}.0", *tasks(django))
    # The real-worker tests fail here instead of skipping when a backend or redis-server is missing.
    session.run(
        "pytest",
        "--no-cov",
        *session.posargs,
        env={
            "PTRACK_TEST_WORKERS": "required",
            "PTRACK_TEST_POSTGRES": os.environ.get("PTRACK_TEST_POSTGRES", ""),
        },
    )


def tasks(django: str) -> list[str]:
    """The task framework and the real backends the worker tests run, for this Django."""
    if tuple(map(int, django.split("."))) >= (5, 2):
        return ["--group", "tasks"]
    # django-tasks-db 0.13 needs Django 5.2; 0.12 is its last release for older Django, where
    # background recorders, and the backends, use the django-tasks backport.
    return ["django-tasks>=0.12", "django-tasks-db>=0.12,<0.13", "django-tasks-rq>=0.12"]


@nox.session(default=False)
def ptrack3_tokens(session: nox.Session) -> None:
    """Mint tests/ptrack3/tokens.json with the real django-ptrack 3.0.0 from PyPI."""
    # Its own environment: 3.0.0's import name is also ptrack. Django 4.2 is the
    # newest that 3.0.0 (written for Django 2) still runs on unchanged.
    session.install("django-ptrack==3.0.0", "Django~=4.2.0")
    session.run("python", "tests/ptrack3/mint.py", "tests/ptrack3/tokens.json")


@nox.session(default=False)
def ptrack3_inprocess(session: nox.Session) -> None:
    """django-ptrack 3.0.0's view against a bare view, in process (bench/ptrack3_inprocess.py)."""
    session.install("django-ptrack==3.0.0", "Django~=4.2.0")
    session.run("python", "bench/ptrack3_inprocess.py", *session.posargs)
