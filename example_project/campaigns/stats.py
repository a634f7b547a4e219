"""What the dashboard shows, read from ptrack.store: its numbers (counters that stay right
past retention) and, for the live view, its rows of events and messages.

Only the split of recipients by consent is the site's own: recipients are.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count
from django.utils import timezone
from django.utils.dateformat import format as date_format

import ptrack
from campaigns.models import CONSENT_LEVELS, Campaign, Recipient
from campaigns.useragents import describe_client
from ptrack import store
from ptrack.store.models import CampaignTotal, Event, Message
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


# Bucket sizes for the chart, smallest first; the chart uses the smallest that
# covers the time since sending in at most MAX_BARS bars. The store counts by the
# hour and the day; the live demo plays out in seconds, so the chart counts the
# store's rows of events and messages (kept until retention) in buckets of its own.
BUCKETS = [
    timedelta(seconds=s)
    for s in (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600)
] + [timedelta(hours=12), timedelta(days=1), timedelta(days=7)]
MAX_BARS = 30


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    count: int
    label: str  # the bucket's start, for the tooltip


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True)
class Chart:
    """Geometry of an SVG chart: people's opens per time bucket, and the open rate so far."""

    width: int
    height: int
    left: int
    top: int
    plot_width: int
    plot_height: int
    bucket: timedelta
    bars: list[Bar]
    y_ticks: list[Tick]  # opens, on the left axis
    rate_ticks: list[Tick]  # open rate, on the right axis
    x_ticks: list[Tick]
    rate_line: str  # SVG points of the cumulative open rate
    rate_area: str  # the same, closed along the bottom edge
    total_opens: int
    final_rate: float
    expiry_x: float | None  # where the pixel links expire, when that is on the chart

    @property
    def right(self) -> int:
        return self.left + self.plot_width

    @property
    def bottom(self) -> int:
        return self.top + self.plot_height

    @property
    def bucket_label(self) -> str:
        seconds = int(self.bucket.total_seconds())
        for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
            if seconds >= size and seconds % size == 0:
                count = seconds // size
                return f"{count} {unit}s" if count > 1 else unit
        return f"{seconds} seconds" if seconds > 1 else "second"


def _pick_bucket(span: timedelta) -> timedelta:
    for bucket in BUCKETS:
        if span / bucket <= MAX_BARS:
            return bucket
    return BUCKETS[-1]


def _floor(moment: datetime, bucket: timedelta) -> datetime:
    """``moment`` rounded down to a multiple of ``bucket`` in local time."""
    local = timezone.localtime(moment)
    offset = local.utcoffset() or timedelta()
    seconds = local.timestamp() + offset.total_seconds()
    return local - timedelta(seconds=seconds % bucket.total_seconds())


def _time_label(moment: datetime, bucket: timedelta) -> str:
    local = timezone.localtime(moment)
    if bucket >= timedelta(days=1):
        return date_format(local, "j M")
    if bucket >= timedelta(minutes=1):
        return date_format(local, "H:i")
    return date_format(local, "H:i:s")


def opens_chart(
    campaign: Campaign,
    n: store.CampaignNumbers,
    *,
    first_sent_at: datetime | None,
    now: datetime | None = None,
    expires_at: datetime | None = None,
    width: int = 760,
    height: int = 240,
) -> Chart | None:
    """People's pixel loads over time, from the first send until ``now``, and the open
    rate (messages first opened over messages tracked); None before sending.

    ``expires_at``, when the campaign's pixel links stop recording, is marked on it.
    """
    if first_sent_at is None:
        return None
    now = now or timezone.now()
    opens = list(
        Event.objects.filter(
            campaign__name=campaign.name, event_type=ptrack.EventType.LOADED, kind__in=PEOPLE
        )
        .order_by("at")
        .values_list("at", flat=True)
    )
    firsts = (
        Message.objects.filter(campaign__name=campaign.name, first_open_at__isnull=False)
        .order_by("first_open_at")
        .values_list("first_open_at", flat=True)
    )
    start = first_sent_at
    end = max(now, opens[-1] if opens else now)
    bucket = _pick_bucket(max(end - start, timedelta(seconds=1)))
    origin = _floor(start, bucket)
    count = max(1, math.ceil((end - origin) / bucket))

    def index(moment: datetime) -> int:
        return min(count - 1, max(0, int((moment - origin) / bucket)))

    per_bucket = [0] * count
    for opened_at in opens:
        per_bucket[index(opened_at)] += 1
    first_opens = [0] * count  # messages whose first open falls in the bucket
    for first in firsts:
        first_opens[index(first)] += 1

    left, right_margin, top, bottom_margin = 44, 52, 14, 30
    plot_width = width - left - right_margin
    plot_height = height - top - bottom_margin
    y_max = _nice_ceiling(max(per_bucket))
    slot = plot_width / count
    bar_width = max(1.0, slot * 0.72)
    bars = []
    for i, value in enumerate(per_bucket):
        bar_height = plot_height * value / y_max
        bars.append(
            Bar(
                x=round(left + i * slot + (slot - bar_width) / 2, 2),
                y=round(top + plot_height - bar_height, 2),
                width=round(bar_width, 2),
                height=round(bar_height, 2),
                count=value,
                label=_time_label(origin + i * bucket, bucket),
            )
        )

    # The open rate at the end of each bucket, starting from 0 at the first send.
    tracked = max(n.tracked, 1)
    points = [(left, top + plot_height)]
    unique = 0
    for i, new in enumerate(first_opens):
        unique += new
        rate = min(1.0, unique / tracked)
        points.append((left + (i + 1) * slot, top + plot_height * (1 - rate)))
    line = " ".join(f"{x:.2f},{y:.2f}" for x, y in points)
    area = f"{line} {left + count * slot:.2f},{top + plot_height:.2f}"

    y_ticks = [
        Tick(position=top + plot_height * (1 - value / y_max), label=str(value))
        for value in _ticks(y_max)
    ]
    rate_ticks = [
        Tick(position=top + plot_height * (1 - rate), label=f"{rate * 100:.0f}%")
        for rate in (0.0, 0.25, 0.5, 0.75, 1.0)
    ]
    step = max(1, math.ceil(count / 6))
    x_ticks = [
        Tick(position=left + i * slot, label=_time_label(origin + i * bucket, bucket))
        for i in range(0, count, step)
    ]
    expiry_x = None
    if expires_at is not None and origin <= expires_at <= origin + count * bucket:
        expiry_x = round(left + (expires_at - origin) / bucket * slot, 2)
    return Chart(
        width=width,
        height=height,
        left=left,
        top=top,
        plot_width=plot_width,
        plot_height=plot_height,
        bucket=bucket,
        bars=bars,
        y_ticks=y_ticks,
        rate_ticks=rate_ticks,
        x_ticks=x_ticks,
        rate_line=line,
        rate_area=area,
        total_opens=sum(per_bucket),
        final_rate=unique / tracked,
        expiry_x=expiry_x,
    )


def _nice_ceiling(value: int) -> int:
    """The smallest of 1, 2, 4, 5, 10, 20, 40, 50, ... that is at least ``value``."""
    magnitude = 1
    while True:
        for step in (1, 2, 4, 5):
            if step * magnitude >= value:
                return step * magnitude
        magnitude *= 10


def _ticks(y_max: int) -> list[int]:
    if y_max <= 2:
        return list(range(y_max + 1))
    return [0, y_max // 2, y_max] if y_max % 2 == 0 else [0, y_max]
