"""The README's quick start, followed literally in a brand-new project, records an open."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from urllib.error import URLError
from urllib.parse import urlsplit
from urllib.request import urlopen

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text()


def snippet(marker: str) -> str:
    """The code block that follows ``<!-- quickstart:MARKER -->`` in the README."""
    match = re.search(rf"<!-- quickstart:{marker} -->\s*```\w*\n(.*?)```", README, re.DOTALL)
    assert match, f"README has no quickstart:{marker} block"
    return textwrap.dedent(match.group(1))


def test_readme_quickstart_records_an_open(tmp_path: Path) -> None:
    django_admin = [sys.executable, "-m", "django"]
    subprocess.run([*django_admin, "startproject", "mysite", str(tmp_path)], check=True)
    subprocess.run([sys.executable, "manage.py", "startapp", "myapp"], cwd=tmp_path, check=True)

    settings = tmp_path / "mysite" / "settings.py"
    text = settings.read_text().replace("INSTALLED_APPS = [", 'INSTALLED_APPS = [\n    "myapp",')
    settings.write_text(text + "\n" + snippet("settings"))
    urls = tmp_path / "mysite" / "urls.py"
    urls.write_text(
        urls.read_text()
        .replace("from django.urls import path", "from django.urls import include, path")
        .replace("urlpatterns = [", "urlpatterns = [\n    " + snippet("urls").strip() + ",")
    )
    (tmp_path / "myapp" / "pixels.py").write_text(snippet("pixels"))
    template_dir = tmp_path / "myapp" / "templates"
    template_dir.mkdir()
    (template_dir / "email.html").write_text(snippet("template"))

    render = (
        "import django; django.setup(); from django.template.loader import render_to_string; "
        "print(render_to_string('email.html'))"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "mysite.settings", "PYTHONUNBUFFERED": "1"}
    html = subprocess.run(
        [sys.executable, "-c", render], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert html.returncode == 0, html.stderr
    src = html.stdout.split('src="')[1].split('"')[0]
    assert src.startswith("https://track.example.com/ptrack/")

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = urlopen(f"http://127.0.0.1:{port}{urlsplit(src).path}", timeout=5)
                break
            except URLError:
                assert time.monotonic() < deadline, "runserver did not start"
                time.sleep(0.2)
        assert response.status == 200
        assert response.headers["Content-Type"] == "image/gif"
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=10)
    assert "Pixel loaded: ('newsletter',) {'user_id': 42, 'variant': 'b'}" in output
