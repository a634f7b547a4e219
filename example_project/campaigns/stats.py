"""What the dashboard shows, read from ptrack.store: its numbers (counters that stay right
past retention) and its latest events. Only the split of recipients by consent is the
site's own: recipients are. The chart is in campaigns/chart.py.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count

import ptrack
from campaigns.models import CONSENT_LEVELS, Campaign, Recipient
from campaigns.useragents import describe_client
from ptrack import store
from ptrack.store.models import CampaignTotal, Event
from ptrack.store.numbers import numbers

LABELS = {
    "human": "Person",
    "mail_proxy": "Mail provider's proxy",
    "privacy_prefetch": "Privacy pre-fetch",
    "security_scanner": "Security scanner",
    "bot": "Bot",
    "unknown": "Not classified",  # the store counts an event nobody could judge as a machine's
}
# The kinds of a person's load (their client or their provider's proxy), as ptrack decides.
PEOPLE = frozenset(k.value for k in ptrack.Kind if ptrack.Classification(k, "").counts_as_open)


def campaign_numbers(campaign: Campaign) -> store.CampaignNumbers:
    """The store's numbers of ``campaign``: all zero (rates ``None``) before it is sent."""
    try:
        return store.stats(campaign.name, period=None)
    except LookupError:
        return numbers(campaign.name, {})


def numbers_by_name(names: Iterable[str]) -> dict[str, store.CampaignNumbers]:
    """The numbers of several campaigns at once, from the store's counters in one query."""
    names = list(names)
    totals: dict[str, dict[str, int]] = defaultdict(dict)
    rows = CampaignTotal.objects.filter(campaign__name__in=names)
    for name, metric, value in rows.values_list("campaign__name", "metric", "value"):
        totals[name][metric] = value
    return {name: numbers(name, totals[name]) for name in names}


@dataclass(frozen=True)
class KindCount:
    """The pixel loads of one kind of client."""

    kind: str  # "people", or a machine's kind: "privacy_prefetch", ..., "unknown"
    label: str
    counts_as_open: bool
    loads: int


def loads_by_kind(n: store.CampaignNumbers) -> list[KindCount]:
    """People's pixel loads, then every machine kind in ptrack's order (and any other)."""
    machines = [k.value for k in ptrack.Kind if k.value not in PEOPLE]
    machines += sorted(set(n.machine_loads) - set(machines))
    people = KindCount("people", "People and their providers' proxies", True, n.opens)
    return [people] + [
        KindCount(kind, LABELS.get(kind, kind), False, n.machine_loads.get(kind, 0))
        for kind in machines
    ]


@dataclass(frozen=True)
class LevelCount:
    """The campaign's recipients at one consent level, as they chose it now."""

    level: str  # "full", "deliverability", "aggregate" or "none"
    label: str
    recipients: int


def recipients_by_consent(campaign: Campaign) -> tuple[LevelCount, ...]:
    """Every consent level, with how many of the campaign's recipients are at it."""
    counts = dict(
        campaign.recipients.values_list("consent")
        .annotate(n=Count("pk"))
        .values_list("consent", "n")
    )
    return tuple(
        LevelCount(level, label.partition(":")[0], counts.get(level, 0))
        for level, label in CONSENT_LEVELS
    )


@dataclass(frozen=True)
class Load:
    """One load of a campaign email's pixel, as the store recorded it."""

    at: datetime
    kind: str
    label: str
    person: bool  # a person's open, not a machine's load
    first: bool  # the first open of its message
    recipient: Recipient | None  # None: the load named nobody (aggregate consent)
    client: str  # "Chrome 131 on Linux", or "" unless PTRACK_STORE_CLIENT keeps it
    user_agent: str
    ip: str


def latest_loads(campaign: Campaign, limit: int) -> list[Load]:
    """The campaign's latest pixel loads, newest first, people's and machines'."""
    events = list(
        Event.objects.filter(campaign__name=campaign.name, event_type=ptrack.EventType.LOADED)
        .select_related("message")
        .order_by("-at", "-pk")[:limit]
    )
    keys = {e.recipient for e in events if e.recipient}
    recipients = Recipient.objects.in_bulk(keys, field_name="key")
    return [
        Load(
            at=e.at,
            kind=e.kind,
            label=LABELS.get(e.kind, e.kind),
            person=e.kind in PEOPLE,
            first=e.kind in PEOPLE and e.message is not None and e.message.first_open_at == e.at,
            recipient=recipients.get(e.recipient),
            client=describe_client(e.user_agent) if e.user_agent else "",
            user_agent=e.user_agent,
            ip=e.ip,
        )
        for e in events
    ]
