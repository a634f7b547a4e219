"""The numbers and the chart of a campaign's dashboard."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Max, Min, Q, QuerySet
from django.utils import timezone
from django.utils.dateformat import format as date_format

import ptrack
from campaigns.models import CONSENT_LEVELS, KINDS, Campaign, Click, Open


@dataclass(frozen=True)
class KindCount:
    """The loads of one kind (ptrack's classification) and the recipients they were for."""

    kind: str  # "human", "mail_proxy", ... ("" for loads the classifier could not judge)
    label: str
    counts_as_open: bool
    loads: int
    recipients: int


@dataclass(frozen=True)
class CampaignStats:
    """A campaign's numbers. Opens are people's: machine loads are counted apart."""

    sent: int
    unique_opens: int
    total_opens: int
    first_sent_at: datetime | None
    last_opened_at: datetime | None
    unique_clickers: int = 0
    total_clicks: int = 0
    machine_opens: int = 0  # pre-fetches, scanners and bots: loads no person made
    machine_clicks: int = 0  # links followed by scanners and bots, not counted as clicks
    kinds: tuple[KindCount, ...] = ()

    @property
    def open_rate(self) -> float | None:
        """Unique opens per email sent, 0.0 to 1.0; None before anything was sent."""
        return self.unique_opens / self.sent if self.sent else None

    @property
    def open_rate_percent(self) -> str:
        rate = self.open_rate
        return "\N{EN DASH}" if rate is None else f"{rate * 100:.1f}%"

    @property
    def click_rate(self) -> float | None:
        """Click-through rate: recipients who clicked per email sent; None before sending."""
        return self.unique_clickers / self.sent if self.sent else None

    @property
    def click_rate_percent(self) -> str:
        rate = self.click_rate
        return "\N{EN DASH}" if rate is None else f"{rate * 100:.1f}%"


def campaign_stats(campaign: Campaign) -> CampaignStats:
    deliveries = campaign.deliveries.aggregate(sent=Count("pk"), first=Min("sent_at"))
    opens = campaign.opens.filter(counts_as_open=True).aggregate(
        total=Count("pk"), unique=Count("recipient", distinct=True), last=Max("opened_at")
    )
    kinds = loads_by_kind(campaign)
    clicks = campaign.clicks.aggregate(
        total=Count("pk", filter=Q(by_person=True)),
        unique=Count("recipient", distinct=True, filter=Q(by_person=True)),
        machines=Count("pk", filter=Q(by_person=False)),
    )
    return CampaignStats(
        sent=deliveries["sent"],
        unique_opens=opens["unique"],
        total_opens=opens["total"],
        first_sent_at=deliveries["first"],
        last_opened_at=opens["last"],
        unique_clickers=clicks["unique"],
        total_clicks=clicks["total"],
        machine_opens=sum(k.loads for k in kinds if not k.counts_as_open),
        machine_clicks=clicks["machines"],
        kinds=kinds,
    )


_LABELS = dict(KINDS)
# The kinds a person's open has, as ptrack decides; "" (not classified) is kept as an open.
_PEOPLE = frozenset(
    {k.value for k in ptrack.Kind if ptrack.Classification(k, "").counts_as_open} | {""}
)


def loads_by_kind(campaign: Campaign) -> tuple[KindCount, ...]:
    """Every kind of load in ptrack's order, with how many loads and recipients it had."""
    rows = {
        row["kind"]: row
        for row in campaign.opens.values("kind").annotate(
            loads=Count("pk"), recipients=Count("recipient", distinct=True)
        )
    }
    kinds = [kind for kind, _label in KINDS]
    if "" in rows:
        kinds.append("")
    return tuple(
        KindCount(
            kind=kind,
            label=_LABELS.get(kind, "Not classified"),
            counts_as_open=kind in _PEOPLE,
            loads=rows[kind]["loads"] if kind in rows else 0,
            recipients=rows[kind]["recipients"] if kind in rows else 0,
        )
        for kind in kinds
    )


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
class LinkClicks:
    link: str  # the link's name in the email, e.g. "button"
    destination: str
    clicks: int
    unique_clickers: int


def clicks_per_link(campaign: Campaign) -> list[LinkClicks]:
    """Each link of the campaign's email that people clicked, most clicked first."""
    rows = (
        Click.objects.filter(campaign=campaign, by_person=True)
        .values("link", "destination")
        .annotate(clicks=Count("pk"), unique=Count("recipient", distinct=True))
        .order_by("-clicks", "link", "destination")
    )
    return [
        LinkClicks(row["link"], row["destination"], row["clicks"], row["unique"]) for row in rows
    ]


def with_stats(campaigns: QuerySet[Campaign]) -> QuerySet[Campaign]:
    """Annotate each campaign with ``sent``, ``unique_opens`` and ``total_opens`` (people's)."""
    people = Q(opens__counts_as_open=True)
    return campaigns.annotate(
        sent=Count("deliveries", distinct=True),
        unique_opens=Count("opens__recipient", distinct=True, filter=people),
        total_opens=Count("opens", distinct=True, filter=people),
        last_opened_at=Max("opens__opened_at", filter=people),
    )


# Bucket sizes for the chart, smallest first; the chart uses the smallest that
# covers the time since sending in at most MAX_BARS bars.
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
    """Geometry of an SVG chart: opens per time bucket, and the cumulative open rate."""

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
    size = bucket.total_seconds()
    return local - timedelta(seconds=seconds % size)


def _time_label(moment: datetime, bucket: timedelta) -> str:
    local = timezone.localtime(moment)
    if bucket >= timedelta(days=1):
        return date_format(local, "j M")
    if bucket >= timedelta(minutes=1):
        return date_format(local, "H:i")
    return date_format(local, "H:i:s")


def opens_chart(
    campaign: Campaign,
    stats: CampaignStats,
    *,
    now: datetime | None = None,
    expires_at: datetime | None = None,
    width: int = 760,
    height: int = 240,
) -> Chart | None:
    """People's opens over time, from the first send until ``now``; None before sending.

    ``expires_at``, when the campaign's pixel links stop recording, is marked on it.
    """
    if stats.first_sent_at is None:
        return None
    now = now or timezone.now()
    start = stats.first_sent_at
    end = max(now, stats.last_opened_at or now)
    bucket = _pick_bucket(max(end - start, timedelta(seconds=1)))
    origin = _floor(start, bucket)
    count = max(1, math.ceil((end - origin) / bucket))

    per_bucket = [0] * count
    first_opens = [0] * count  # recipients whose first open falls in the bucket
    seen: set[int] = set()
    opens = Open.objects.filter(campaign=campaign, counts_as_open=True).order_by("opened_at", "pk")
    for opened_at, recipient_id in opens.values_list("opened_at", "recipient_id"):
        index = min(count - 1, max(0, int((opened_at - origin) / bucket)))
        per_bucket[index] += 1
        # An open at the aggregate level names nobody: no one's first open.
        if recipient_id is not None and recipient_id not in seen:
            seen.add(recipient_id)
            first_opens[index] += 1

    left, right_margin, top, bottom_margin = 44, 52, 14, 30
    plot_width = width - left - right_margin
    plot_height = height - top - bottom_margin
    y_max = _nice_ceiling(max(per_bucket))
    slot = plot_width / count
    bar_width = max(1.0, slot * 0.72)
    bars = []
    for index, value in enumerate(per_bucket):
        bar_height = plot_height * value / y_max
        bars.append(
            Bar(
                x=round(left + index * slot + (slot - bar_width) / 2, 2),
                y=round(top + plot_height - bar_height, 2),
                width=round(bar_width, 2),
                height=round(bar_height, 2),
                count=value,
                label=_time_label(origin + index * bucket, bucket),
            )
        )

    # The open rate at the end of each bucket, starting from 0 at the first send.
    sent = max(stats.sent, 1)
    points = [(left, top + plot_height)]
    unique = 0
    for index, new in enumerate(first_opens):
        unique += new
        rate = min(1.0, unique / sent)
        points.append((left + (index + 1) * slot, top + plot_height * (1 - rate)))
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
        Tick(position=left + index * slot, label=_time_label(origin + index * bucket, bucket))
        for index in range(0, count, step)
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
        final_rate=unique / sent,
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
