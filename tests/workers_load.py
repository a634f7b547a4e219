"""Loads N pixels through Django's WSGI handler; run by tests/test_workers.py."""

from __future__ import annotations

import sys
from urllib.parse import urlsplit

import django


def main(count: int) -> None:
    django.setup()
    from django.test import Client

    import ptrack

    client = Client()
    served = 0
    for number in range(count):
        response = client.get(urlsplit(ptrack.Pixel("worker-test", n=number).url()).path)
        served += response.status_code == 200
    print(served)


if __name__ == "__main__":
    main(int(sys.argv[1]))
