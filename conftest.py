"""For the tests and the documentation's examples alike."""

from __future__ import annotations

from collections.abc import Iterator
from unittest import mock

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections


def _keep(**kwargs: object) -> None:
    pass


@pytest.fixture(autouse=True, scope="session")
def _keep_connections() -> Iterator[None]:
    """Requests sent straight to Django's handlers leave the test database's connection alone,
    as Django's test client does for its own: once a ``django_db`` test (ptrack.consents) has
    opened it, checking it from a test without database access would be refused. The test
    client's own reconnection of the receiver, and ptrack's own calls in a flush, are
    pointed at a no-op."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    with (
        mock.patch("django.test.client.close_old_connections", _keep),
        mock.patch("ptrack.dispatch.close_old_connections", _keep),  # flush() in the test
    ):
        yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)
