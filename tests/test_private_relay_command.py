"""manage.py ptrack_private_relay against a local HTTP server; no test touches the internet."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from ptrack import classify

SAMPLE = (Path(__file__).parent / "data" / "private-relay-sample.csv").read_bytes()
BODIES = {
    "/egress.csv": SAMPLE,
    "/broken.csv": b"172.224.226.0/27,US,,,\n<html>maintenance</html>\n",
    "/empty.csv": b"\n",
    "/latin1.csv": b"\xff\xfe",
}


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = BODIES.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/csv")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def run(*args: str) -> str:
    out = StringIO()
    call_command("ptrack_private_relay", *args, stdout=out)
    return out.getvalue()


def test_downloads_the_list_to_the_setting_and_classify_uses_it(
    server: str, tmp_path: Path
) -> None:
    target = tmp_path / "egress.csv"
    with override_settings(
        PTRACK_PRIVATE_RELAY_FILE=str(target), PTRACK_PRIVATE_RELAY_URL=f"{server}/egress.csv"
    ):
        assert classify("Mozilla/5.0", {}, "172.224.226.5").reason == "apple_mpp_user_agent"
        out = run()
    assert target.read_bytes() == SAMPLE
    assert out == f"Wrote 11 prefixes to {target}.\n"
    with override_settings(PTRACK_PRIVATE_RELAY_FILE=str(target)):
        assert classify("Mozilla/5.0", {}, "172.224.226.5").reason == "apple_mpp_relay"


def test_url_and_output_options_win_over_the_settings(server: str, tmp_path: Path) -> None:
    target = tmp_path / "other.csv"
    with override_settings(PTRACK_PRIVATE_RELAY_FILE=str(tmp_path / "unused.csv")):
        run("--url", f"{server}/egress.csv", "--output", str(target))
    assert target.read_bytes() == SAMPLE
    assert not (tmp_path / "unused.csv").exists()


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/broken.csv", "is not an egress list"),
        ("/empty.csv", "lists no networks"),
        ("/latin1.csv", "is not an egress list"),
        ("/nothing-here.csv", "Could not download"),
    ],
)
def test_a_bad_download_leaves_the_file_as_it_was(
    server: str, tmp_path: Path, path: str, message: str
) -> None:
    target = tmp_path / "egress.csv"
    target.write_text("192.0.2.0/24,,,,\n")
    with pytest.raises(CommandError, match=message):
        run("--url", f"{server}{path}", "--output", str(target))
    assert target.read_text() == "192.0.2.0/24,,,,\n"


def test_nowhere_to_write_is_an_error() -> None:
    with pytest.raises(CommandError, match="PTRACK_PRIVATE_RELAY_FILE"):
        run()


@pytest.mark.parametrize("url", ["file:///etc/passwd", "mask-api.icloud.com/x.csv"])
def test_only_http_urls_are_fetched(url: str, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="should be http"):
        run("--url", url, "--output", str(tmp_path / "x.csv"))


def test_an_unwritable_output_is_an_error(server: str, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="Could not write"):
        run("--url", f"{server}/egress.csv", "--output", str(tmp_path / "no-such-dir" / "x.csv"))


def test_a_failed_rename_leaves_no_temporary_file(server: str, tmp_path: Path) -> None:
    target = tmp_path / "a-directory"
    target.mkdir()
    (target / "keep").write_text("")
    with pytest.raises(CommandError, match="Could not write"):
        run("--url", f"{server}/egress.csv", "--output", str(target))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-directory"]
