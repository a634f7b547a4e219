"""The upstream fixture files the labelled request shapes are drawn from, pinned.

Each repository is named with the commit its files were read at and each
file with its git blob id there, so a rebuild reads exactly those bytes: a
newer upstream changes which rows a stride picks, so a changed file is an
error, not a silent reshuffle.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Upstream:
    """One repository the set reads from, at the commit it was read at."""

    repo: str  # owner/name on GitHub
    commit: str  # the commit whose files were read
    files: Mapping[str, str]  # path in the repository -> its git blob id at that commit

    @property
    def local_name(self) -> str:
        return self.repo.split("/", 1)[1]

    def url(self, path: str) -> str:
        return f"https://raw.githubusercontent.com/{self.repo}/{self.commit}/{path}"


DEVICE_DETECTOR = Upstream(
    "matomo-org/device-detector",
    "3856a28692d45317d3f15f6f81ca31a06067182a",
    {
        "Tests/fixtures/bots.yml": "0acbbc950b12fc099bf2a5dd6c6f052c444fe82f",
        "Tests/fixtures/desktop.yml": "553b67330948a19b165057d1c42d8c6bb7933d79",
        "Tests/fixtures/smartphone.yml": "2858613828ab6d7545577f22d6541e3c1d5057c0",
        "Tests/Parser/Client/fixtures/pim.yml": "93a2a526eff7def3245bfc100cdca449bcfdbb49",
    },
)
CRAWLER_USER_AGENTS = Upstream(
    "monperrus/crawler-user-agents",
    "7c7f9f254f16fcbc7d0fcb60d0a188897c00b050",
    {"crawler-user-agents.json": "734e3487632b8323985f7ed913e68cdf9323a5ce"},
)
ISBOT = Upstream(
    "omrilotan/isbot",
    "344052da664bde49579e21f1e62349280791efb3",
    {
        "fixtures/browsers.yml": "37b3e76f9a1ddc108a332a3c57b6577a7aa1ec8c",
        "fixtures/crawlers.yml": "50136832e36529ade5e12b10fd31472663a15999",
    },
)
# Read for split "holdout3" only: two lists no earlier row came from.
CRAWLER_DETECT = Upstream(
    "JayBizzle/Crawler-Detect",
    "f7926d40cb01c8f2488467dc0b476fd12d0359a8",
    {"tests/data/user_agent/crawlers.txt": "56aac8f74f853b2b85c7e9ced7172c667d37833f"},
)
UAP_CORE = Upstream(
    "ua-parser/uap-core",
    "e3c5e634bee0b14f1a129c991483910739ad9f6c",
    {"tests/test_ua.yaml": "58625fab11bff9fa16333eedc71b66dbba8da42b"},
)
UPSTREAMS = (DEVICE_DETECTOR, CRAWLER_USER_AGENTS, ISBOT, CRAWLER_DETECT, UAP_CORE)

DD = DEVICE_DETECTOR.repo


def print_urls(upstreams: tuple[Upstream, ...]) -> None:
    """Each pinned file's path under the upstream directory, and the URL to fetch it from."""
    for upstream in upstreams:
        for path in upstream.files:
            print(f"{upstream.local_name}/{path} {upstream.url(path)}")


class UpstreamError(Exception):
    """An upstream file is missing or is not the one the set was built from."""


def _git_blob_id(data: bytes) -> str:
    return hashlib.sha1(
        b"blob %d\0" % len(data) + data
    ).hexdigest()  # git's object id, not a security hash


def read_upstream(root: Path, upstream: Upstream, path: str) -> str:
    """The text of ``path`` in ``upstream``, checked against its pinned blob id."""
    file = root / upstream.local_name / path
    try:
        data = file.read_bytes()
    except OSError as e:
        raise UpstreamError(f"{file}: {e.strerror}; fetch it from {upstream.url(path)}") from e
    if _git_blob_id(data) != upstream.files[path]:
        raise UpstreamError(
            f"{file} is not {upstream.repo}'s {path} at {upstream.commit[:12]} "
            f"(git blob {upstream.files[path][:12]}); fetch it from {upstream.url(path)}"
        )
    return data.decode("utf-8")


def fixture_user_agents(text: str) -> list[str]:
    """The ``user_agent:`` values of a device-detector fixture file, in file order.

    A line parser rather than a YAML load: the fixtures quote User-Agents only
    when YAML makes them (single quotes, ``''`` for a quote), and reading the
    lines keeps the order and spelling exactly as the file has them.
    """
    found = []
    for line in text.splitlines():
        match = re.match(r"\s+user_agent: (.*)$", line)
        if match:
            ua = match.group(1).strip()
            if ua[:1] in "'\"" and ua[-1:] == ua[:1]:
                ua = ua[1:-1].replace("''", "'")
            found.append(ua)
    return found


def uap_user_agents(text: str) -> list[tuple[str, str]]:
    """``(user_agent_string, family)`` of uap-core's ``tests/test_ua.yaml``, in file order.

    A line parser, as for the other fixtures: a value is bare, single-quoted
    (``''`` for a quote) or double-quoted (backslash escapes).
    """
    found = []
    ua: str | None = None
    for line in text.splitlines():
        match = re.match(r"\s+(?:- )?(user_agent_string|family): (.*)$", line)
        if match is None:
            continue
        value = _yaml_scalar(match.group(2).strip())
        if match.group(1) == "user_agent_string":
            ua = value
        elif ua is not None:
            found.append((ua, value))
            ua = None
    return found


def _yaml_scalar(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1].replace("''", "'")
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


def isbot_groups(text: str) -> dict[str, list[str]]:
    """isbot's fixture files: a top-level key per client, then ``  - user agent`` lines."""
    groups: dict[str, list[str]] = {}
    key = ""
    for line in text.splitlines(keepends=True):
        if line[:1] not in " \n":
            key = line.rstrip().rstrip(":").strip('"')
            groups[key] = []
        elif line.startswith("  - "):
            groups[key].append(line[4:].rstrip("\n"))
    return groups
