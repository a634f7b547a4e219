"""A campaign's numbers, read from its counters: a few rows, whatever its size.

The definitions (docs/store.md, "Campaign numbers") follow what Mailchimp and
SendGrid report, with machines left out of every count of people.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from django.db import router

from ptrack.store.models import Campaign, CampaignHour, CampaignTotal, Link

Period = Literal["hour", "day"]
PERIODS = ("hour", "day")
MACHINE_LOADS = "machine_loads:"
MACHINE_CLICKS = "machine_clicks:"


@dataclass(frozen=True)
class LinkNumbers:
    """The clicks on one link of a campaign."""

    name: str  # its data-ptrack-name, or its position ("1", "2", ...), or "text-1", ...
    destination: str  # where it leads
    clicks: int  # people's clicks
    unique_clicks: int  # messages in which a person clicked it
    machine_clicks: int  # machines (scanners, bots) following it


@dataclass(frozen=True)
class Bucket:
    """What happened within one hour or day (UTC), by the time it happened."""

    start: datetime  # aware UTC start of the hour or day
    sent: int = 0
    opens: int = 0
    unique_opens: int = 0  # messages first opened in it
    clicks: int = 0
    unique_clicks: int = 0  # messages first clicked in it
    machine_loads: int = 0  # of every kind together


@dataclass(frozen=True)
class CampaignNumbers:
    """``ptrack.store.stats()``: a campaign's numbers; docs/store.md defines each."""

    campaign: str
    sent: int  # messages sent
    tracked: int  # of them, messages whose links name them (the rates' denominator)
    unique_opens: int  # messages opened by a person
    opens: int  # people's opens
    implied_opens: int  # of those, opens recorded from a click on an unopened message
    machine_loads: dict[str, int]  # loads by machines, per kind
    clicks: int  # people's clicks
    unique_clicks: int  # messages with a person's click
    machine_clicks: dict[str, int]  # clicks by machines, per kind
    open_rate: float | None  # unique_opens / tracked; None before anything is tracked
    click_rate: float | None  # unique_clicks / tracked
    click_to_open_rate: float | None  # unique_clicks / unique_opens; None before an open
    links: list[LinkNumbers] = field(default_factory=list)  # most clicked first
    over_time: list[Bucket] = field(default_factory=list)  # oldest first; empty if not asked


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def stats(campaign: str, *, period: Period | None = "day") -> CampaignNumbers:
    """The numbers of the campaign named ``campaign``, with counts per ``period``
    (``"hour"`` or ``"day"``, UTC; ``None`` leaves them out).

    Raises ``LookupError`` for a campaign the store has not seen.
    """
    if period is not None and period not in PERIODS:
        raise ValueError(f"period={period!r} should be 'hour', 'day' or None.")
    using = router.db_for_read(Campaign)
    found = Campaign.objects.using(using).filter(name=campaign).values_list("pk", flat=True)
    campaign_id = found.first()
    if campaign_id is None:
        raise LookupError(f"ptrack.store has no campaign {campaign!r}.")
    totals = dict(
        CampaignTotal.objects.using(using)
        .filter(campaign_id=campaign_id)
        .values_list("metric", "value")
    )
    links = [
        LinkNumbers(*row)
        for row in Link.objects.using(using)
        .filter(campaign_id=campaign_id)
        .order_by("-clicks", "-machine_clicks", "name", "pk")
        .values_list("name", "destination", "clicks", "unique_clicks", "machine_clicks")
    ]
    over_time: list[Bucket] = []
    if period is not None:
        hours = (
            CampaignHour.objects.using(using)
            .filter(campaign_id=campaign_id)
            .values_list("hour", "metric", "value")
        )
        over_time = buckets(hours, period)
    return numbers(campaign, totals, links, over_time)


def numbers(
    campaign: str,
    totals: Mapping[str, int],
    links: list[LinkNumbers] | None = None,
    over_time: list[Bucket] | None = None,
) -> CampaignNumbers:
    """A campaign's numbers from its total counters (``metric -> value``)."""
    tracked = totals.get("tracked", 0)
    unique_opens = totals.get("unique_opens", 0)
    unique_clicks = totals.get("unique_clicks", 0)
    return CampaignNumbers(
        campaign=campaign,
        sent=totals.get("sent", 0),
        tracked=tracked,
        unique_opens=unique_opens,
        opens=totals.get("opens", 0),
        implied_opens=totals.get("implied_opens", 0),
        machine_loads=_per_kind(totals, MACHINE_LOADS),
        clicks=totals.get("clicks", 0),
        unique_clicks=unique_clicks,
        machine_clicks=_per_kind(totals, MACHINE_CLICKS),
        open_rate=_ratio(unique_opens, tracked),
        click_rate=_ratio(unique_clicks, tracked),
        click_to_open_rate=_ratio(unique_clicks, unique_opens),
        links=links or [],
        over_time=over_time or [],
    )


def _per_kind(totals: Mapping[str, int], prefix: str) -> dict[str, int]:
    return {
        metric[len(prefix) :]: value
        for metric, value in sorted(totals.items())
        if metric.startswith(prefix) and value
    }


def buckets(hours: Iterable[tuple[datetime, str, int]], period: Period) -> list[Bucket]:
    """Hourly counter rows ``(hour, metric, value)`` summed into buckets of ``period``."""
    sums: dict[datetime, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for hour, metric, value in hours:
        start = hour if period == "hour" else hour.replace(hour=0)
        if metric.startswith(MACHINE_LOADS):
            metric = "machine_loads"
        sums[start][metric] += value
    return [
        Bucket(
            start=start,
            sent=counts["sent"],
            opens=counts["opens"],
            unique_opens=counts["unique_opens"],
            clicks=counts["clicks"],
            unique_clicks=counts["unique_clicks"],
            machine_loads=counts["machine_loads"],
        )
        for start, counts in sorted(sums.items())
    ]
