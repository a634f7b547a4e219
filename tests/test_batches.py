"""ptrack.batches: items gathered per key and sent when full, when old enough, or on flush."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings

from ptrack.batches import Batches
from tests.waiting import PATIENCE, wait_child, wait_until


class Sent:
    def __init__(self) -> None:
        self.batches: list[tuple[Any, list[Any]]] = []
        self.arrived = threading.Condition()

    def __call__(self, key: Any, items: Sequence[Any]) -> None:
        with self.arrived:
            self.batches.append((key, list(items)))
            self.arrived.notify_all()

    def wait_for(self, count: int, timeout: float = PATIENCE) -> None:
        with self.arrived:
            assert self.arrived.wait_for(lambda: len(self.batches) >= count, timeout)


class SlowSent(Sent):
    """Takes ``seconds`` over each batch; ``sending`` is set once the first one starts."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds
        self.sending = threading.Event()

    def __call__(self, key: Any, items: Sequence[Any]) -> None:
        self.sending.set()
        time.sleep(self.seconds)
        super().__call__(key, items)


@override_settings(PTRACK_BATCH_SIZE=3, PTRACK_BATCH_SECONDS=60)
def test_a_full_batch_goes_at_once_and_flush_sends_the_rest_in_batches() -> None:
    sent = Sent()
    batches = Batches(sent, name="test-batches")
    for n in range(3):
        batches.add("a", n)
    sent.wait_for(1)
    assert sent.batches == [("a", [0, 1, 2])]
    for n in range(3, 5):
        batches.add("a", n)
    batches.add("b", "x")
    time.sleep(0.05)
    assert len(sent.batches) == 1  # neither full nor old: they wait
    batches.flush()
    assert sorted(sent.batches[1:]) == [("a", [3, 4]), ("b", ["x"])]
    batches.flush()
    assert len(sent.batches) == 3


@override_settings(PTRACK_BATCH_SIZE=100, PTRACK_BATCH_SECONDS=0.1)
def test_a_partial_batch_goes_when_its_oldest_item_is_old_enough() -> None:
    sent = Sent()
    batches = Batches(sent, name="test-batches")
    started = time.monotonic()
    batches.add("a", 1)
    batches.add("a", 2)
    sent.wait_for(1)
    assert time.monotonic() - started >= 0.1
    assert sent.batches == [("a", [1, 2])]


@override_settings(PTRACK_BATCH_SIZE=1, PTRACK_BATCH_SECONDS=60)
def test_a_failing_send_is_logged_and_the_thread_carries_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sent = Sent()

    def send(key: Any, items: Sequence[Any]) -> None:
        if key == "bad":
            raise ConnectionError("down")
        sent(key, items)

    batches = Batches(send, name="test-batches")
    with caplog.at_level(logging.ERROR, "ptrack"):
        batches.add("bad", 1)
        wait_until(lambda: "Sending a batch" in caplog.text)
        batches.add("good", 2)
        sent.wait_for(1)
    assert sent.batches == [("good", [2])]
    assert "ConnectionError: down" in caplog.text


@override_settings(PTRACK_BATCH_SIZE=2, PTRACK_BATCH_SECONDS=60)
def test_close_waits_for_the_batch_being_sent_then_sends_the_rest() -> None:
    sent = SlowSent(0.3)
    batches = Batches(sent, name="test-batches")
    batches.add("a", 1)
    batches.add("a", 2)  # full: the thread takes it and is slow to send it
    assert sent.sending.wait(PATIENCE)
    batches.add("b", 3)  # neither full nor old
    batches.close()  # what runs at exit
    assert sorted(sent.batches) == [("a", [1, 2]), ("b", [3])]


@override_settings(PTRACK_BATCH_SIZE=3, PTRACK_BATCH_SECONDS=60)
def test_a_thread_that_falls_behind_sends_full_batches_and_keeps_the_rest() -> None:
    sent = SlowSent(0.1)
    batches = Batches(sent, name="test-batches")
    for n in range(3):
        batches.add("a", n)
    assert sent.sending.wait(PATIENCE)
    for n in range(3, 10):  # arrive while the thread is busy: two full batches and one more
        batches.add("a", n)
    sent.wait_for(3)
    time.sleep(0.05)
    assert [items for _, items in sent.batches] == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    batches.close()
    assert [items for _, items in sent.batches][3:] == [[9]]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
@override_settings(PTRACK_BATCH_SIZE=1, PTRACK_BATCH_SECONDS=60)
def test_a_forked_child_starts_empty_with_its_own_thread() -> None:
    sent = Sent()
    batches = Batches(sent, name="test-batches")
    batches.add("parent", 1)
    sent.wait_for(1)  # the parent's thread now exists
    pid = os.fork()
    if pid == 0:  # the child: its own thread sends its own items, and only those
        try:
            batches.add("child", 2)
            sent.wait_for(2)
            ok = sent.batches == [("parent", [1]), ("child", [2])]
        except BaseException:
            ok = False
        os._exit(0 if ok else 1)
    assert wait_child(pid) == 0


def _exit_of(script: str, *argv: str) -> subprocess.CompletedProcess[str]:
    """Run ``script`` in a new Python without the test settings, to its exit."""
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script), *argv],
        capture_output=True,
        text=True,
        timeout=PATIENCE,
        env=env,
    )


def test_a_process_that_never_configures_django_exits_quietly() -> None:
    result = _exit_of("import ptrack")
    assert (result.returncode, result.stderr) == (0, "")


def test_a_process_that_gathered_nothing_exits_quietly_and_one_that_did_sends_it(
    tmp_path: Path,
) -> None:
    out = tmp_path / "sent.txt"
    script = f"""
        import sys
        import django
        from django.conf import settings

        settings.configure(PTRACK_BATCH_SIZE=10, PTRACK_BATCH_SECONDS=3600)
        django.setup()
        from ptrack.batches import Batches

        def send(key, items):
            with open({str(out)!r}, "a") as f:
                f.write(f"{{key}}={{items}};")

        batches = Batches(send, name="exit-test")
        for item in sys.argv[1:]:
            batches.add("k", item)
    """
    nothing = _exit_of(script)
    assert (nothing.returncode, nothing.stderr) == (0, "")
    assert not out.exists()

    result = _exit_of(script, "a", "b")
    assert (result.returncode, result.stderr) == (0, "")
    assert out.read_text() == "k=['a', 'b'];"
