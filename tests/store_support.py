"""What the store's tests share: the databases they run on, and routers that send the
store's models to one of them."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from tests import postgres

# Both when the PostgreSQL cluster can run here (tests/postgres.py), else SQLite alone.
STORE_DATABASES = ["default", *([postgres.ALIAS] if postgres.ALIAS in settings.DATABASES else [])]


class _Router:
    alias = "default"

    def db_for_read(self, model: Any, **hints: Any) -> str | None:
        return self.alias if model._meta.app_label == "ptrack_store" else None

    def db_for_write(self, model: Any, **hints: Any) -> str | None:
        return self.alias if model._meta.app_label == "ptrack_store" else None


class OnSQLite(_Router):
    alias = "default"


class OnPostgres(_Router):
    alias = postgres.ALIAS


ROUTERS = {
    "default": "tests.store_support.OnSQLite",
    postgres.ALIAS: "tests.store_support.OnPostgres",
}
