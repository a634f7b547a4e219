"""End to end in a real browser: the example server, a sent campaign, headless Chromium.

Nothing is faked: the server is ``manage.py runserver`` in a subprocess on a
loopback port, the mail goes through the Maildir backend, and Chromium
loads each pixel from the URL in the mail and follows a link in it. Before the
person reads, machines fetch pixels as they do at delivery: Apple Mail Privacy
Protection, and a security scanner that also follows a link, each with its own
User-Agent, and the dashboard must tell them from the person. Then a person
withdraws their consent through the link in their email, and opening that email
again records nothing. Screenshots
of what a user sees go to ``artifacts/``; with MAILROOM_UPDATE_SCREENSHOT=1 (``make
example-screenshot``) the dashboard's also replaces ``docs/dashboard.png``.
"""

from __future__ import annotations

import email
import email.policy
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Playwright

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
# create_demo_campaign's levels for 8: one recipient chose "none", whose mail has no pixel.
UNTRACKED = 1
START_TIMEOUT = 30  # seconds for the server to accept connections
COMMAND_TIMEOUT = 60  # seconds for each manage.py command
START_ATTEMPTS = 5  # ports to try when another process takes one first
# The dashboard polls every second; without polling it would never change, however long we wait.
LIVE_TIMEOUT_MS = 20_000
# settings_e2e's machine window: a browser's load sooner than this after the send is a
# scanner's, so the person of the test reads once it has passed.
MACHINE_WINDOW = 2.0
# What Apple's Mail Privacy Protection proxies send: this User-Agent and nothing more
# (ua-parser/uap-core#509).
MPP_USER_AGENT = "Mozilla/5.0"
# What Office 365's link scanning presented to gophish users (gophish/gophish#2446):
# a Windows Chrome years older than any a supported Windows still runs.
SCANNER_USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/80.0.3987.132 Safari/537.36"
)

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


# runserver prints this once it listens, and only then (Django 6.1 says "Starting WSGI
# development server"); it exits with "already in use" otherwise.
STARTED = re.compile(
    r"Starting (?:[A-Z]+ )?development server at http://127\.0\.0\.1:(?P<port>\d+)/"
)
IN_USE = "That port is already in use"


class _Output:
    """What the server writes, read as it comes, so that its pipe never fills."""

    def __init__(self, server: subprocess.Popen[str]) -> None:
        assert server.stdout is not None
        self._lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        self._reader = threading.Thread(target=self._read, args=(server.stdout,), daemon=True)
        self._reader.start()

    def _read(self, stdout: IO[str]) -> None:
        with stdout:
            for line in stdout:
                self._lines.put(line)
        self._lines.put(None)

    def started(self) -> bool:
        """True once the server listens, False if it exits first; fails after START_TIMEOUT."""
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail(f"The server did not listen within {START_TIMEOUT}s:\n{self.text()}")
            if line is None:
                return False
            self.seen.append(line)
            if STARTED.search(line):
                return True

    def text(self) -> str:
        return "".join(self.seen)

    def drain(self) -> None:
        self._reader.join(10)
        while True:
            try:
                line = self._lines.get_nowait()
            except queue.Empty:
                return
            if line is not None:
                self.seen.append(line)


def _candidate_port() -> int:
    """A port free a moment ago: only a candidate, which runserver may find taken."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _stop(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@dataclass(frozen=True)
class Served:
    url: str  # the server's base URL
    maildir: Path  # where the sent mail is
    sent_by: float  # time.time() once the campaign was sent: every link was issued before
    env: dict[str, str]  # the server's environment, for manage.py commands


@pytest.fixture
def server(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Served]:
    """The example project served on a loopback port, its campaign sent: a server and a
    database of its own for each test, which then run in any order (pytest-randomly)."""
    _require_chromium()
    state = tmp_path_factory.mktemp("e2e")
    relay = state / "egress-ip-ranges.csv"
    relay.write_text("# Apple's format: prefix,country,region,city,\n127.0.0.0/8,US,US-CA,,\n")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings_e2e",
        "MAILROOM_E2E_RELAY_FILE": str(relay),
        "MAILROOM_E2E_MACHINE_WINDOW": str(MACHINE_WINDOW),
        "DJANGO_DEBUG": "1",  # runserver serves the static files
        "DATABASE_URL": f"sqlite:///{state / 'db.sqlite3'}",
        "MAILROOM_MAILDIR": str(state / "mail"),
        "PYTHONUNBUFFERED": "1",
        "TIME_ZONE": "UTC",
    }
    manage(env, "migrate", "--verbosity", "0")
    # The mail must carry the server's own address, so the port is fixed before it starts. A
    # port taken in between makes runserver exit with "already in use": then try another.
    # Its startup line, printed only once it listens, proves the port is this server's.
    for _ in range(START_ATTEMPTS):
        base = f"http://127.0.0.1:{_candidate_port()}"
        env["PTRACK_APP_URL"] = base
        process = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", "--noreload", base.removeprefix("http://")],
            cwd=HERE,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        output = _Output(process)
        if output.started():
            break
        process.wait(timeout=10)
        output.drain()
        if IN_USE not in output.text():
            pytest.fail(f"The server exited with {process.returncode}:\n{output.text()}")
    else:
        pytest.fail(f"{START_ATTEMPTS} ports in a row were taken:\n{output.text()}")
    try:
        # The campaigns' links lead to this server's pages, known now.
        env["MAILROOM_SITE_URL"] = base
        manage(env, "create_demo_campaign", "--recipients", str(RECIPIENTS))
        manage(env, "send_campaign", "Spring product update")
        yield Served(base, state / "mail", sent_by=time.time(), env=env)
    finally:
        _stop(process)
        output.drain()
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / f"server-{request.node.name}.log").write_text(output.text())


def manage(env: dict[str, str], *command: str) -> None:
    subprocess.run(
        [sys.executable, "manage.py", *command],
        cwd=HERE,
        env=env,
        check=True,
        capture_output=True,
        timeout=COMMAND_TIMEOUT,
    )


def _tracked_urls(maildir: Path) -> dict[str, tuple[str, str]]:
    """The pixel URL and the first link's click URL of each sent mail's HTML, by recipient;
    a recipient at consent level "none" got mail with neither, and is left out."""
    urls = {}
    for path in [*maildir.glob("new/*"), *maildir.glob("cur/*")]:
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        html = message.get_body(("html",)).get_content()  # type: ignore[attr-defined]
        pixels = re.findall(r'<img src="([^"]+/ptrack/[^"]+)" width="1"', html)
        if not pixels:
            continue
        [pixel] = pixels
        first_link = re.findall(r'<a href="([^"]+/ptrack/c/[^"]+)"', html)[0]
        urls[str(message["To"]).split("<")[-1].rstrip(">")] = (pixel, first_link)
    return urls


def _wait_until(moment: float) -> None:
    """Let the wall clock pass ``moment``: the machine window is measured by it."""
    while time.time() < moment:
        time.sleep(moment - time.time())


@contextmanager
def reading_as_a_person() -> Iterator[tuple[Playwright, BrowserContext]]:
    """Debian's Chromium, saying it is a desktop Chrome: a headless browser's own
    User-Agent is a bot's, whose opens the dashboard does not count."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, timeout=30_000
        )
        try:
            probe = browser.new_page()
            person_agent = probe.evaluate("navigator.userAgent").replace("HeadlessChrome", "Chrome")
            probe.close()
            context = browser.new_context(
                viewport={"width": 1280, "height": 860}, user_agent=person_agent
            )
            context.set_default_timeout(15_000)
            yield playwright, context
        finally:
            browser.close()


def test_opening_an_email_shows_on_the_dashboard(server: Served) -> None:
    from playwright.sync_api import expect

    base = server.url
    ARTIFACTS.mkdir(exist_ok=True)
    with reading_as_a_person() as (playwright, context):
        # The dashboard stays open in its own tab, as a user would leave it.
        dashboard = context.new_page()
        dashboard.goto(f"{base}/campaigns/1/")
        stat = {
            name: dashboard.locator(f'[data-stat="{name}"] .value')
            for name in (
                "sent",
                "unique-opens",
                "total-opens",
                "open-rate",
                "machine-opens",
                "unique-clickers",
                "total-clicks",
                "click-rate",
            )
        }
        latest = dashboard.locator("#latest-opens tbody tr")
        expect(stat["sent"]).to_have_text(str(RECIPIENTS))
        expect(stat["unique-opens"]).to_have_text("0")
        expect(stat["machine-opens"]).to_have_text("0")

        # At delivery, before anyone reads: Apple's MPP proxy fetches the pixels of
        # two recipients on Apple Mail, and a security scanner the pixel of a third
        # and follows its first link, as link scanners do.
        tracked = _tracked_urls(server.maildir)
        assert len(tracked) == RECIPIENTS - UNTRACKED
        mpp_for, scanned_for = sorted(tracked)[-2:], sorted(tracked)[0]
        for address in mpp_for:
            mpp = playwright.request.new_context(user_agent=MPP_USER_AGENT)
            try:
                response = mpp.get(tracked[address][0])
                assert response.status == 200
                assert response.headers["content-type"] == "image/gif"
            finally:
                mpp.dispose()
        scanner = playwright.request.new_context(
            user_agent=SCANNER_USER_AGENT, extra_http_headers={"Accept": "*/*"}
        )
        try:
            pixel_url, link_url = tracked[scanned_for]
            assert scanner.get(pixel_url).headers["content-type"] == "image/gif"
            followed = scanner.get(link_url, max_redirects=0)
            assert followed.status == 302
            assert followed.headers["location"] == f"{base}/pages/spring/"
        finally:
            scanner.dispose()

        # The dashboard counts them apart: no open, no open rate, each with its reason.
        expect(stat["machine-opens"]).to_have_text("3", timeout=LIVE_TIMEOUT_MS)
        expect(stat["unique-opens"]).to_have_text("0")
        expect(stat["total-opens"]).to_have_text("0")
        expect(stat["open-rate"]).to_have_text("0.0%")
        kinds = dashboard.locator("#loads-by-kind tbody tr")
        expect(kinds.locator("td.num:nth-child(3)")).to_have_text(["0", "2", "1", "0"])
        expect(latest).to_have_count(3)
        expect(latest.locator("td:nth-child(3)")).to_have_text(
            ["Security scanner"] + ["Privacy pre-fetch"] * 2,
            use_inner_text=True,
        )
        expect(latest.locator(".tag.machine")).to_have_count(3)
        # The scanner's click is no click-through either.
        expect(stat["total-clicks"]).to_have_text("0")
        expect(dashboard.locator('[data-stat="total-clicks"] .hint')).to_contain_text(
            "1 by machines, not counted"
        )
        expect(stat["click-rate"]).to_have_text("0.0%")

        # The person reads once the machine window has passed since the send.
        _wait_until(server.sent_by + MACHINE_WINDOW)
        inbox = context.new_page()
        inbox.goto(f"{base}/inbox/")
        messages = inbox.locator(".mail-list a")
        expect(messages).to_have_count(RECIPIENTS)
        expect(inbox.locator(".mail-list a.unread")).to_have_count(RECIPIENTS)
        inbox.screenshot(path=ARTIFACTS / "inbox.png")

        messages.nth(0).click()
        pixel = inbox.frame_locator("iframe").locator('img[width="1"][height="1"]')
        token_url = re.compile(re.escape(f"{base}/ptrack/") + r"[\w.\-]+/$")
        expect(pixel).to_have_attribute("src", token_url)
        # Loaded for real: the browser fetched and decoded the 1x1 GIF.
        expect(pixel).to_have_js_property("complete", True)
        expect(pixel).to_have_js_property("naturalWidth", 1)

        # The dashboard tab updates itself (it polls every second): no reload.
        expect(stat["unique-opens"]).to_have_text("1", timeout=LIVE_TIMEOUT_MS)
        expect(stat["total-opens"]).to_have_text("1")
        expect(latest).to_have_count(4)
        expect(latest.first).to_have_attribute("data-kind", "human")
        expect(latest.first.locator("td:nth-child(3)")).to_have_text("Person", use_inner_text=True)
        expect(latest.first).to_contain_text("first open")
        expect(latest.first).to_contain_text("Chrome")
        inbox.screenshot(path=ARTIFACTS / "email.png")

        # A few more opens, one of them a second look at the first email.
        for index in (1, 2, 0):
            messages.nth(index).click()
            loaded_pixel = inbox.frame_locator("iframe").locator('img[width="1"]')
            expect(loaded_pixel).to_have_js_property("naturalWidth", 1)
            expect(inbox.locator(".mail-list a.selected")).to_have_count(1)
        expect(inbox.locator(".mail-list a.unread")).to_have_count(RECIPIENTS - 3)
        expect(stat["total-opens"]).to_have_text("4")
        expect(stat["unique-opens"]).to_have_text("3")
        # People only, of the emails tracked: not the one to "none", nor the one to
        # "aggregate", whose links name no message.
        expect(stat["open-rate"]).to_have_text("50.0%")  # 3 of 6
        expect(stat["machine-opens"]).to_have_text("3")
        expect(kinds.locator("td.num:nth-child(3)")).to_have_text(["4", "2", "1", "0"])
        expect(latest).to_have_count(7)
        expect(dashboard.locator("svg.chart rect.bar")).not_to_have_count(0)

        # Following the email's button: a new tab lands on the site's page, through
        # ptrack's click URL, and the dashboard counts the click.
        expect(stat["click-rate"]).to_have_text("0.0%")
        button = inbox.frame_locator("iframe").get_by_role("link", name="See what's new")
        click_url = re.compile(re.escape(f"{base}/ptrack/c/") + r"[\w.\-]+/$")
        expect(button).to_have_attribute("href", click_url)
        with context.expect_page() as opened:
            button.click()
        landing = opened.value
        landing.wait_for_load_state()
        expect(landing).to_have_url(f"{base}/pages/spring/")
        expect(landing.locator("h1")).to_have_text("What's new in Mailroom this spring")
        landing.screenshot(path=ARTIFACTS / "landing.png")
        landing.close()
        expect(stat["unique-clickers"]).to_have_text("1", timeout=5_000)
        expect(stat["total-clicks"]).to_have_text("1")
        expect(stat["click-rate"]).to_have_text("16.7%")  # 1 of 6
        per_link = dashboard.locator("#clicks-per-link tbody tr")
        expect(per_link).to_have_count(1)
        expect(per_link).to_contain_text("button")
        expect(per_link).to_contain_text(f"{base}/pages/spring/")

        dashboard.reload()
        expect(stat["total-opens"]).to_have_text("4")
        dashboard.screenshot(path=ARTIFACTS / "dashboard.png", full_page=True)
        if os.environ.get("MAILROOM_UPDATE_SCREENSHOT"):
            DOCS_SCREENSHOT.parent.mkdir(exist_ok=True)
            shutil.copy(ARTIFACTS / "dashboard.png", DOCS_SCREENSHOT)


def test_a_withdrawal_reaches_the_email_already_opened(server: Served) -> None:
    """A person opens an email, follows its withdrawal link, confirms, and opens the same
    email again: the dashboard shows their first open and no other."""
    from playwright.sync_api import expect

    base = server.url
    ARTIFACTS.mkdir(exist_ok=True)
    manage(server.env, "send_campaign", "Early-bird offer")
    sent_by = time.time()
    with reading_as_a_person() as (_playwright, context):
        dashboard = context.new_page()
        dashboard.goto(f"{base}/campaigns/2/")
        expect(dashboard.locator("h1")).to_contain_text("Early-bird offer")
        unique_opens = dashboard.locator('[data-stat="unique-opens"] .value')
        total_opens = dashboard.locator('[data-stat="total-opens"] .value')
        at_level = {
            level: dashboard.locator(f'#consent-levels tr[data-level="{level}"] td.num')
            for level in ("full", "deliverability", "aggregate", "none")
        }
        expect(at_level["full"]).to_have_text("5")
        expect(at_level["deliverability"]).to_have_text("1")
        expect(at_level["aggregate"]).to_have_text("1")
        expect(at_level["none"]).to_have_text("1")
        expect(total_opens).to_have_text("0")
        ada_opens = dashboard.locator("#latest-opens tbody tr", has_text="Ada Lovelace")

        _wait_until(sent_by + MACHINE_WINDOW)
        inbox = context.new_page()
        inbox.goto(f"{base}/inbox/")
        offers = inbox.locator(".mail-list a", has_text="Early-bird pricing ends soon")
        expect(offers).to_have_count(RECIPIENTS)

        def read(name: str) -> None:
            offers.filter(has_text=name).click()
            expect(inbox.locator(".reader-head dd").nth(1)).to_contain_text(name)
            pixel = inbox.frame_locator("iframe").locator('img[width="1"][height="1"]')
            expect(pixel).to_have_js_property("complete", True)
            expect(pixel).to_have_js_property("naturalWidth", 1)

        # Ada opens her email: the dashboard shows it, as hers.
        read("Ada Lovelace")
        expect(unique_opens).to_have_text("1", timeout=LIVE_TIMEOUT_MS)
        expect(ada_opens).to_have_count(1)

        # She follows the email's withdrawal link (ptrack's page, not a click link: the
        # email marks it data-ptrack="off") and confirms.
        withdraw = inbox.frame_locator("iframe").get_by_role("link", name="Stop tracking my emails")
        expect(withdraw).to_have_attribute(
            "href", re.compile(re.escape(f"{base}/ptrack/w/") + r"[\w.\-]+/$")
        )
        with context.expect_page() as opened:
            withdraw.click()
        page = opened.value
        page.wait_for_load_state()
        expect(page.locator("h1")).to_have_text("Stop tracking my emails")
        page.get_by_role("button", name="Stop tracking").click()
        expect(page.locator("h1")).to_have_text("Tracking stopped")
        page.screenshot(path=ARTIFACTS / "withdrawn.png")
        page.close()
        expect(at_level["none"]).to_have_text("2", timeout=LIVE_TIMEOUT_MS)
        expect(at_level["full"]).to_have_text("4")

        # She opens the email she had before: its pixel loads, and ptrack, asking her
        # level at the load, records nothing. Then Frances opens hers, which shows:
        # by then Ada's second load would have shown too, had it been recorded.
        inbox.reload()
        pixel = inbox.frame_locator("iframe").locator('img[width="1"][height="1"]')
        expect(pixel).to_have_js_property("naturalWidth", 1)
        read("Frances Allen")
        expect(total_opens).to_have_text("2", timeout=LIVE_TIMEOUT_MS)
        expect(unique_opens).to_have_text("2")
        expect(ada_opens).to_have_count(1)

        # Alan chose "aggregate": his open counts, but as nobody's.
        read("Alan Turing")
        expect(total_opens).to_have_text("3", timeout=LIVE_TIMEOUT_MS)
        expect(unique_opens).to_have_text("2")
        latest = dashboard.locator("#latest-opens tbody tr")
        expect(latest.first).to_contain_text("Someone")
        expect(latest.first).to_contain_text("aggregate consent: not by person")
        expect(latest.first.locator(".tag")).to_have_count(0)
        expect(dashboard.locator("#latest-opens", has_text="Alan Turing")).to_have_count(0)
        dashboard.screenshot(path=ARTIFACTS / "dashboard-withdrawn.png", full_page=True)
