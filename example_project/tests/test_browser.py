"""End to end in a real browser: the example server, a sent campaign, headless Chromium.

Nothing is faked: the server is ``manage.py runserver`` in a subprocess on a
free loopback port, the mail goes through the Maildir backend, and Chromium
loads each pixel from the URL in the mail and follows a link in it. Screenshots of what a user sees
go to ``artifacts/``; with MAILROOM_UPDATE_SCREENSHOT=1 (``make
example-screenshot``) the dashboard's also replaces ``docs/dashboard.png``.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent.parent
ARTIFACTS = HERE / "artifacts"
DOCS_SCREENSHOT = HERE / "docs" / "dashboard.png"
CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags Chromium stalls on a machine with no internet.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
RECIPIENTS = 8
START_TIMEOUT = 30  # seconds for the server to accept connections
COMMAND_TIMEOUT = 60  # seconds for each manage.py command

pytestmark = pytest.mark.browser


def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    message = (
        f"{CHROMIUM} not found: this test drives Debian's Chromium through Playwright. "
        "Install it with `sudo apt-get install chromium` (Debian/Ubuntu) and run it again."
    )
    if os.environ.get("CI"):
        pytest.fail(f"{message} CI must run this test.")
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_listening(port: int, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"The server exited with {server.returncode}:\n{log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"The server did not listen within {START_TIMEOUT}s:\n{log.read_text()}")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The example project served on a free loopback port, its campaign sent; its base URL."""
    _require_chromium()
    state = tmp_path_factory.mktemp("e2e")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_DEBUG": "1",  # runserver serves the static files
        "DATABASE_URL": f"sqlite:///{state / 'db.sqlite3'}",
        "MAILROOM_MAILDIR": str(state / "mail"),
        "PTRACK_APP_URL": base,
        "MAILROOM_SITE_URL": base,  # the emails' links lead to this server's pages
        "TIME_ZONE": "UTC",
    }
    for command in (
        ["migrate", "--verbosity", "0"],
        ["create_demo_campaign", "--recipients", str(RECIPIENTS)],
        ["send_campaign", "Spring product update"],
    ):
        subprocess.run(
            [sys.executable, "manage.py", *command],
            cwd=HERE,
            env=env,
            check=True,
            capture_output=True,
            timeout=COMMAND_TIMEOUT,
        )
    log = state / "server.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
            cwd=HERE,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_listening(port, process, log)
        yield base
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        ARTIFACTS.mkdir(exist_ok=True)
        shutil.copy(log, ARTIFACTS / "server.log")


def test_opening_an_email_shows_on_the_dashboard(server: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, timeout=30_000
        )
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 860})
            context.set_default_timeout(15_000)

            # The dashboard stays open in its own tab, as a user would leave it.
            dashboard = context.new_page()
            dashboard.goto(f"{server}/campaigns/1/")
            stat = {
                name: dashboard.locator(f'[data-stat="{name}"] .value')
                for name in (
                    "sent",
                    "unique-opens",
                    "total-opens",
                    "open-rate",
                    "unique-clickers",
                    "total-clicks",
                    "click-rate",
                )
            }
            expect(stat["sent"]).to_have_text(str(RECIPIENTS))
            expect(stat["unique-opens"]).to_have_text("0")

            inbox = context.new_page()
            inbox.goto(f"{server}/inbox/")
            messages = inbox.locator(".mail-list a")
            expect(messages).to_have_count(RECIPIENTS)
            expect(inbox.locator(".mail-list a.unread")).to_have_count(RECIPIENTS)
            inbox.screenshot(path=ARTIFACTS / "inbox.png")

            messages.nth(0).click()
            pixel = inbox.frame_locator("iframe").locator('img[width="1"][height="1"]')
            token_url = re.compile(re.escape(f"{server}/ptrack/") + r"[\w.\-]+/$")
            expect(pixel).to_have_attribute("src", token_url)
            # Loaded for real: the browser fetched and decoded the 1x1 GIF.
            expect(pixel).to_have_js_property("complete", True)
            expect(pixel).to_have_js_property("naturalWidth", 1)
            loaded = time.monotonic()

            # The dashboard tab updates itself: no reload.
            expect(stat["unique-opens"]).to_have_text("1", timeout=5_000)
            seconds = time.monotonic() - loaded
            expect(stat["total-opens"]).to_have_text("1")
            expect(dashboard.locator("#latest-opens tbody tr")).to_have_count(1)
            expect(dashboard.locator("#latest-opens tbody tr")).to_contain_text("Headless Chrome")
            inbox.screenshot(path=ARTIFACTS / "email.png")
            assert seconds < 3, f"the dashboard took {seconds:.1f}s to show the open"

            # A few more opens, one of them a second look at the first email.
            for index in (1, 2, 0):
                messages.nth(index).click()
                loaded_pixel = inbox.frame_locator("iframe").locator('img[width="1"]')
                expect(loaded_pixel).to_have_js_property("naturalWidth", 1)
                expect(inbox.locator(".mail-list a.selected")).to_have_count(1)
            expect(inbox.locator(".mail-list a.unread")).to_have_count(RECIPIENTS - 3)
            expect(stat["total-opens"]).to_have_text("4")
            expect(stat["unique-opens"]).to_have_text("3")
            expect(stat["open-rate"]).to_have_text("37.5%")
            expect(dashboard.locator("#latest-opens tbody tr")).to_have_count(4)
            expect(dashboard.locator("svg.chart rect.bar")).not_to_have_count(0)

            # Following the email's button: a new tab lands on the site's page, through
            # ptrack's click URL, and the dashboard counts the click.
            expect(stat["click-rate"]).to_have_text("0.0%")
            button = inbox.frame_locator("iframe").get_by_role("link", name="See what's new")
            click_url = re.compile(re.escape(f"{server}/ptrack/c/") + r"[\w.\-]+/$")
            expect(button).to_have_attribute("href", click_url)
            with context.expect_page() as opened:
                button.click()
            landing = opened.value
            landing.wait_for_load_state()
            expect(landing).to_have_url(f"{server}/pages/spring/")
            expect(landing.locator("h1")).to_have_text("What's new in Mailroom this spring")
            landing.screenshot(path=ARTIFACTS / "landing.png")
            landing.close()
            expect(stat["unique-clickers"]).to_have_text("1", timeout=5_000)
            expect(stat["total-clicks"]).to_have_text("1")
            expect(stat["click-rate"]).to_have_text("12.5%")
            per_link = dashboard.locator("#clicks-per-link tbody tr")
            expect(per_link).to_have_count(1)
            expect(per_link).to_contain_text("button")
            expect(per_link).to_contain_text(f"{server}/pages/spring/")

            dashboard.reload()
            expect(stat["total-opens"]).to_have_text("4")
            dashboard.screenshot(path=ARTIFACTS / "dashboard.png", full_page=True)
            if os.environ.get("MAILROOM_UPDATE_SCREENSHOT"):
                DOCS_SCREENSHOT.parent.mkdir(exist_ok=True)
                shutil.copy(ARTIFACTS / "dashboard.png", DOCS_SCREENSHOT)
        finally:
            browser.close()
