"""MAILROOM_BACKGROUND=1: ptrack.store records the opens in a real task worker, not during
the request."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path

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
