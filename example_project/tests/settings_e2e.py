"""The example's settings, as the browser test serves them.

Every request of the browser test comes from 127.0.0.1, so Apple's iCloud
Private Relay egress list is stood in for by a file (the one the test writes,
named by MAILROOM_E2E_RELAY_FILE) that lists loopback: an Apple Mail Privacy
Protection fetch is then told by its address as well as its User-Agent, as in
production. Only the bare ``Mozilla/5.0`` User-Agent of MPP consults that list,
so the other loads of the test are judged as anywhere else. The machine window
is shortened so the test's person need not wait ten seconds after the send.
"""

from __future__ import annotations

import os

from config.settings import *  # noqa: F403

PTRACK_PRIVATE_RELAY_FILE = os.environ["MAILROOM_E2E_RELAY_FILE"]
PTRACK_MACHINE_WINDOW = float(os.environ["MAILROOM_E2E_MACHINE_WINDOW"])
