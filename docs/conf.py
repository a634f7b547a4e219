"""Sphinx configuration for the django-ptrack documentation (``make docs``)."""

from __future__ import annotations

import sys
from importlib import metadata
from pathlib import Path

import django
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# autodoc imports ptrack's modules, which read Django's settings: a minimal project does.
settings.configure(
    INSTALLED_APPS=["django.contrib.contenttypes", "ptrack"],
    PTRACK_APP_URL="https://track.example.com",
    SECRET_KEY="docs-build-only-" + "x" * 50,
    USE_TZ=True,
)
django.setup()

project = "django-ptrack"
author = "django-ptrack maintainers"
copyright = "django-ptrack maintainers"
release = metadata.version("django-ptrack")

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.viewcode",
]
source_suffix = {".md": "markdown"}
exclude_patterns = ["_build", "conftest.py"]
myst_enable_extensions = ["colon_fence", "deflist"]
# Headings up to #### get anchors: [text](settings.md#ptrack-app-url), (checks.md#ptrack-e001).
myst_heading_anchors = 4
myst_heading_slug_func = "docs.slugs.slug"

html_theme = "furo"
html_title = "django-ptrack"

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_default_options = {"members": True}

# Nitpicky for ptrack's own names; Python's and Django's types stay plain text
# (intersphinx would need the network at build time).
nitpicky = True
nitpick_ignore_regex = [(r"py:.*", r"(?!ptrack\b).*"), (r"py:.*", r"ptrack\..*\._\w+")]
