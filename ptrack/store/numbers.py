"""A campaign's numbers, read from its counters: a few rows, whatever its size.

The definitions (docs/store.md, "Campaign numbers") follow what Mailchimp and
SendGrid report, with machines left out of every count of people.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from datetime import timezone as dt_timezone
from typing import Literal

from django.db import router
from django.db.models import Q, Sum
from django.db.models.functions import Trunc

from ptrack.store.models import Campaign, CampaignHour, CampaignTotal, Link

Period = Literal["hour", "day"]
PERIODS = ("hour", "day")
MACHINE_LOADS = "machine_loads:"
MACHINE_CLICKS = "machine_clicks:"
# The counters a bucket holds as they are; its machine_loads sums every kind's.
_BUCKETED = ("sent", "opens", "unique_opens", "clicks", "unique_clicks")
_FIELDS = (*_BUCKETED, "machine_loads")


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
        over_time = _over_time(using, campaign_id, period)
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


def _over_time(using: str | None, campaign_id: int, period: Period) -> list[Bucket]:
    """The campaign's hourly counters summed into buckets of ``period`` by the database: a
    row per bucket, not one per hour and counter, each of whose times would be parsed."""
    sums = {name: Sum("value", filter=Q(metric=name)) for name in _BUCKETED}
    rows = (
        CampaignHour.objects.using(using)
        .filter(campaign_id=campaign_id)
        .values(start=Trunc("hour", period, tzinfo=dt_timezone.utc))
        .annotate(**sums, machine_loads=Sum("value", filter=Q(metric__startswith=MACHINE_LOADS)))
        .order_by("start")
        .values_list("start", *_BUCKETED, "machine_loads")
    )
    return [
        Bucket(start, **{name: count or 0 for name, count in zip(_FIELDS, counts, strict=True)})
        for start, *counts in rows
    ]
