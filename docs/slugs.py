"""Heading anchors for the docs: ``PTRACK_APP_URL`` -> ``ptrack-app-url``, ``ptrack.E001`` ->
``ptrack-e001``, so links to settings and check ids read the way the names do."""

from __future__ import annotations

import re


def slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
