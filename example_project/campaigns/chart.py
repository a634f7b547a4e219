"""The dashboard's chart of people's opens over time, drawn on the server as SVG.

ptrack.store counts by the hour and the day (``stats(period=...)``, its admin's
chart); the live demo plays out in seconds, so this chart counts the store's
rows of events and messages, which are kept until retention, in buckets of its
own: people's pixel loads as bars, and the open rate so far as a line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.dateformat import format as date_format

import ptrack
from campaigns.models import Campaign
from campaigns.stats import PEOPLE
from ptrack import store
from ptrack.store.models import Event, Message

# Bucket sizes, smallest first; the chart uses the smallest that covers the time
# since sending in at most MAX_BARS bars.
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
