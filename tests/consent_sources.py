"""Consent sources for the tests, named by PTRACK_CONSENT as a site names its own."""

from __future__ import annotations

import asyncio
import contextlib
import threading

# recipient key -> what the source answers (a level, None for unknown, or anything else)
LEVELS: dict[str, object] = {}
ASKED: list[str] = []
RELEASE = threading.Event()  # set at the end of each test, so no hanging thread outlives it


def level(recipient: str) -> object:
    ASKED.append(recipient)
    return LEVELS.get(recipient)


async def alevel(recipient: str) -> object:
    ASKED.append(recipient)
    await asyncio.sleep(0)
    return LEVELS.get(recipient)


def raising(recipient: str) -> object:
    raise RuntimeError("the consent database is down")


async def araising(recipient: str) -> object:
    raise RuntimeError("the consent database is down")


def hanging(recipient: str) -> object:
    RELEASE.wait(10)
    return "full"


async def ahanging(recipient: str) -> object:
    # Waits on a thread of its own, not on the loop's clock (a test that freezes time
    # would stop a sleeping loop for good) nor in the loop's executor (which the loop
    # waits for when it closes): cancelled, it leaves nothing behind but that thread,
    # which ends when the test does.
    loop = asyncio.get_running_loop()
    released = loop.create_future()

    def wait() -> None:
        RELEASE.wait(10)
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
            loop.call_soon_threadsafe(lambda: released.done() or released.set_result(None))

    threading.Thread(target=wait, daemon=True).start()
    await released
    return "full"


NOT_CALLABLE = "a string"


def message_recipient(message: object) -> str | None:
    """The backend's hook: the opaque key of a message's only recipient."""
    to = getattr(message, "to", [])
    return {"ada@example.com": "sub-ada", "bob@example.com": "sub-bob"}.get(to[0]) if to else None


WITHDRAWN: list[str] = []


def withdraw(recipient: str) -> None:
    """The site's withdrawal hook: from now on the recipient allows nothing."""
    WITHDRAWN.append(recipient)
    LEVELS[recipient] = "none"


def withdraw_failing(recipient: str) -> None:
    raise RuntimeError("the consent database is down")
