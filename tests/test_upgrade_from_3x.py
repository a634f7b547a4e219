"""The docs' "Upgrading from django-ptrack 3.x", followed literally: old and new links record.

A brand-new project is configured the 3.x way from the guide's "before" blocks,
then upgraded with its "after" blocks; a link django-ptrack 3.0.0 rendered into
an email (tests/ptrack3) and a link the upgraded project renders both record.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from packaging.version import Version

from tests import ptrack3
from tests.helpers import REPO, snippet

GUIDE = REPO / "docs" / "upgrading.md"


# Runs in the project: checks it at a time inside the guide's legacy window, then
# loads an email's 3.x link and a freshly rendered one through the endpoint.
LOAD = """
import django
django.setup()
from django.core.management import call_command
from django.template import Context, Template
from django.test import Client
from django.test.utils import setup_test_environment
from freezegun import freeze_time

setup_test_environment()
with freeze_time("2027-06-01"):
    call_command("check")
    print("--- 3.x link")
    Client().get(OLD_PATH)
    print("--- new link")
    html = Template("{% load ptrack %}{% ptrack 'newsletter' user_id=42 variant='b' %}")
    Client().get(html.render(Context()).split('src="https://www.example.com')[1].split('"')[0])
"""


def test_readme_upgrade_guide_keeps_3x_links_recording_beside_new_ones(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "django", "startproject", "mysite", str(tmp_path)], check=True
    )
    subprocess.run([sys.executable, "manage.py", "startapp", "myapp"], cwd=tmp_path, check=True)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "mysite.settings", "PYTHONUNBUFFERED": "1"}

    # The project as it ran with 3.x: settings, URLs as 3.x's README had them, a 3.x recorder.
    settings = tmp_path / "mysite" / "settings.py"
    startproject = settings.read_text().replace(
        "INSTALLED_APPS = [", 'INSTALLED_APPS = [\n    "myapp",'
    )
    settings.write_text(startproject + "\n" + snippet(GUIDE, "upgrade:settings-3x"))
    urls = tmp_path / "mysite" / "urls.py"
    urls.write_text(
        urls.read_text()
        .replace("from django.urls import path", "from django.urls import include, path, re_path")
        .replace(
            "urlpatterns = [", "urlpatterns = [\n    re_path(r'^ptrack/', include('ptrack.urls')),"
        )
    )
    pixels = tmp_path / "myapp" / "pixels.py"
    pixels.write_text(snippet(GUIDE, "upgrade:pixels-3x"))
    before = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    # Warnings only: the site still starts, and check says what to change.
    assert before.returncode == 0, before.stderr
    assert "(ptrack.W005) Recorder myapp.pixels.NewsletterOpened.record() takes 'request'" in (
        before.stderr
    )
    assert "(ptrack.W001) PTRACK_SECRET is too weak" in before.stderr

    # The upgrade, as the guide says.
    settings.write_text(startproject + "\n" + snippet(GUIDE, "upgrade:settings-4x"))
    pixels.write_text(snippet(GUIDE, "upgrade:pixels-4x"))
    [email] = [t for t in ptrack3.TOKENS if t["secret"] == ptrack3.SECRET and "html" in t]
    old_path = email["html"].split("'")[1].removeprefix("https://www.example.com")
    after = subprocess.run(
        [sys.executable, "-c", f"OLD_PATH = {old_path!r}\n{LOAD}"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert after.returncode == 0, after.stderr
    assert after.stdout.splitlines() == [
        "System check identified no issues (0 silenced).",
        "--- 3.x link",
        "Opened: ('newsletter',) {'user_id': 42, 'variant': 'b'} from 127.0.0.1",
        "--- new link",
        "Opened: ('newsletter',) {'user_id': 42, 'variant': 'b'} from 127.0.0.1",
    ]


def test_the_version_continues_3x_so_pip_upgrades_to_it() -> None:
    pyproject = (REPO / "pyproject.toml").read_text()
    match = re.search(r'^version = "(.+)"$', pyproject, re.MULTILINE)
    assert match
    version = Version(match.group(1))
    assert version > Version("3.0.0")
    assert (version.major, version.is_prerelease) == (4, True)
    assert version.base_version == "4.0.0"
