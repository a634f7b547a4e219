"""MAILROOM_BACKGROUND=1: ptrack.store records the opens in a real task worker, not during
the request."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path

import django
import pytest

HERE = Path(__file__).resolve().parent.parent

SEND_AND_OPEN = """
import json, re
import django
django.setup()
from django.test import Client
from urllib.parse import urlsplit
from campaigns.models import Campaign, Recipient
from campaigns.mail import list_messages
from ptrack.store.models import Event
from campaigns.sending import send_campaign

campaign = Campaign.objects.create(name="Bg", subject="Bg", body="Hello.", button_label="Go",
                                   button_url="https://mailroom.example/")
for i in range(3):
    campaign.recipients.add(Recipient.objects.create(email=f"bg{i}@example.com", name=f"Bg {i}"))
send_campaign(campaign)
statuses = []
for message in list_messages():
    src = re.search(r'src="(http://testserver/ptrack/[^"]+)"', message.html).group(1)
    statuses.append(Client().get(urlsplit(src).path).status_code)
print(json.dumps({"statuses": statuses, "opens": Event.objects.count()}))
"""

COUNT_OPENS = """
import json
import django
django.setup()
from campaigns.models import Recipient
from ptrack.store.models import Event
emails = dict(Recipient.objects.values_list("key", "email"))
print(json.dumps(sorted([e.campaign.name, emails[e.recipient]] for e in Event.objects.all())))
"""


def run(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, *args], cwd=HERE, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.mark.skipif(find_spec("django_tasks_db") is None, reason="needs django-tasks-db")
def test_background_setting_moves_recording_to_a_worker(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "MAILROOM_BACKGROUND": "1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "MAILROOM_MAILDIR": str(tmp_path / "mail"),
        "PTRACK_APP_URL": "http://testserver",
        "DJANGO_ALLOWED_HOSTS": "testserver",
    }
    run(env, "manage.py", "migrate", "--verbosity=0")
    loaded = json.loads(run(env, "-c", SEND_AND_OPEN).splitlines()[-1])
    assert loaded == {"statuses": [200, 200, 200], "opens": 0}
    run(env, "manage.py", "db_worker", "--batch", "--no-startup-delay", "--interval=0.05")
    opens = json.loads(run(env, "-c", COUNT_OPENS).splitlines()[-1])
    assert opens == [["Bg", f"bg{i}@example.com"] for i in range(3)]


# Another writer (the pixel request that enqueues a task, in the demo) holds SQLite's write
# lock while the store records a load: a transaction that reads, then writes.
WHILE_ANOTHER_WRITES = """
import json, re, sqlite3, threading, time
import django
django.setup()
from django.conf import settings
from django.test import Client
from urllib.parse import urlsplit
from campaigns.mail import list_messages
from campaigns.models import Campaign, Recipient
from campaigns.sending import send_campaign
from ptrack.store.models import Event

campaign = Campaign.objects.create(name="Locked", subject="Locked", body="Hello.")
campaign.recipients.add(Recipient.objects.create(email="locked@example.com"))
send_campaign(campaign)
[message] = list_messages()
src = re.search(r'src="(http://testserver/ptrack/[^"]+)"', message.html).group(1)

holding = threading.Event()

def write_for_a_while():
    other = sqlite3.connect(settings.DATABASES["default"]["NAME"], isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    other.execute("CREATE TABLE scratch (x)")
    holding.set()
    time.sleep(1.0)
    other.execute("COMMIT")
    other.close()

writer = threading.Thread(target=write_for_a_while)
writer.start()
holding.wait()
status = Client().get(urlsplit(src).path).status_code
writer.join()
print(json.dumps({"status": status, "events": Event.objects.count()}))
"""


@pytest.mark.skipif(django.VERSION < (5, 1), reason="SQLite's transaction_mode is Django 5.1's")
def test_a_load_waits_for_another_writer_on_sqlite(tmp_path: Path) -> None:
    """ptrack.store records a load in a transaction that reads, then writes. In SQLite's
    default deferred transactions, the write fails at once with "database is locked" while
    another connection writes, and the load is lost (the demo lost one so, a task worker
    recording while a pixel request enqueued); the settings ask for IMMEDIATE ones, which
    wait for the one writer instead."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "MAILROOM_MAILDIR": str(tmp_path / "mail"),
        "PTRACK_APP_URL": "http://testserver",
        "DJANGO_ALLOWED_HOSTS": "testserver",
    }
    run(env, "manage.py", "migrate", "--verbosity=0")

    loaded = json.loads(run(env, "-c", WHILE_ANOTHER_WRITES).splitlines()[-1])

    assert loaded == {"status": 200, "events": 1}
