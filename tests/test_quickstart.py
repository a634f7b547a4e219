"""The README's quick start, followed literally in a brand-new project, records an open."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import urlopen

from tests.helpers import REPO, snippet
from tests.servers import ServerOutput, stop

README = REPO / "README.md"


# Printed once runserver listens (Django 6.1 says "Starting WSGI development server").
STARTED = re.compile(
    r"Starting (?:[A-Z]+ )?development server at http://127\.0\.0\.1:(?P<port>\d+)/"
)


def test_readme_quickstart_records_an_open(tmp_path: Path) -> None:
    django_admin = [sys.executable, "-m", "django"]
    subprocess.run([*django_admin, "startproject", "mysite", str(tmp_path)], check=True, timeout=60)
    subprocess.run(
        [sys.executable, "manage.py", "startapp", "myapp"], cwd=tmp_path, check=True, timeout=60
    )

    settings = tmp_path / "mysite" / "settings.py"
    text = settings.read_text().replace("INSTALLED_APPS = [", 'INSTALLED_APPS = [\n    "myapp",')
    settings.write_text(text + "\n" + snippet(README, "quickstart:settings"))
    urls = tmp_path / "mysite" / "urls.py"
    urls.write_text(
        urls.read_text()
        .replace("from django.urls import path", "from django.urls import include, path")
        .replace(
            "urlpatterns = [",
            "urlpatterns = [\n    " + snippet(README, "quickstart:urls").strip() + ",",
        )
    )
    (tmp_path / "myapp" / "pixels.py").write_text(snippet(README, "quickstart:pixels"))
    template_dir = tmp_path / "myapp" / "templates"
    template_dir.mkdir()
    (template_dir / "email.html").write_text(snippet(README, "quickstart:template"))

    render = (
        "import django; django.setup(); from django.template.loader import render_to_string; "
        "print(render_to_string('email.html'))"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "mysite.settings", "PYTHONUNBUFFERED": "1"}
    html = subprocess.run(
        [sys.executable, "-c", render],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert html.returncode == 0, html.stderr
    src = html.stdout.split('src="')[1].split('"')[0]
    assert src.startswith("https://track.example.com/ptrack/")

    # Port 0: runserver binds a port the system picks and says which, so nothing can take it
    # between choosing and binding.
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "127.0.0.1:0", "--noreload"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output = ServerOutput(server)
    try:
        port = int(output.wait_for(STARTED, timeout=30)["port"])
        response = urlopen(f"http://127.0.0.1:{port}{urlsplit(src).path}", timeout=10)
        assert response.status == 200
        assert response.headers["Content-Type"] == "image/gif"
    finally:
        stop(server)
    expected = "Pixel loaded: ('newsletter',) {'user_id': 42, 'variant': 'b'}"
    assert expected in output.all(timeout=10)
