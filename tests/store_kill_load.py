"""Sends N messages into the store and loads each one's pixel once, through Django's WSGI
handler; the loads make one batch task. Run by tests/test_store_requeue.py."""

from __future__ import annotations

import sys
from datetime import timedelta
from urllib.parse import urlsplit

import django


def main(count: int) -> None:
    django.setup()
    from django.test import Client
    from django.utils import timezone
    from freezegun import freeze_time

    import ptrack
    from ptrack.store import sending

    sent_at = timezone.now() - timedelta(hours=1)
    ids = [f"m{n:05d}" for n in range(count)]
    sending.record([sending.Sent("killed", f"r{n}", i, sent_at) for n, i in enumerate(ids)])
    with freeze_time(sent_at):  # issued an hour ago: a person's open, not a scanner's
        paths = [urlsplit(ptrack.Pixel("n").url(campaign="killed", message=i)).path for i in ids]
    client = Client(HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Firefox/128.0")
    served = sum(client.get(path).status_code == 200 for path in paths)
    ptrack.tracker.flush()
    print(served)


if __name__ == "__main__":
    main(int(sys.argv[1]))
