"""A campaign's counts over time as an SVG line chart, drawn on the server.

No JavaScript and no build step: the admin page embeds the markup as it is.
Every value written into the markup goes through ``format_html``.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from ptrack.store.numbers import Bucket

WIDTH, HEIGHT = 720, 240
_LEFT, _RIGHT, _TOP, _BOTTOM = 48, 12, 12, 36
# (field of Bucket, label, colour)
SERIES = (
    ("opens", "people's opens", "#1f77b4"),
    ("clicks", "people's clicks", "#2ca02c"),
    ("machine_loads", "machine loads", "#999999"),
)


def svg(buckets: Sequence[Bucket], period: str) -> SafeString:
    """The chart of ``buckets`` (oldest first), one point per hour or day."""
    if not buckets:
        return format_html(
            '<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" role="img" '
            'aria-label="No loads or clicks yet"><text x="{}" y="{}">{}</text></svg>',
            WIDTH,
            HEIGHT,
            _LEFT,
            HEIGHT // 2,
            "No loads or clicks yet.",
        )
    top: int = max(1, *(getattr(b, field) for b in buckets for field, _l, _c in SERIES))
    plot_w, plot_h = WIDTH - _LEFT - _RIGHT, HEIGHT - _TOP - _BOTTOM
    step = plot_w / max(1, len(buckets) - 1)

    def x(index: int) -> float:
        return round(_LEFT + index * step, 1)

    def y(value: int) -> float:
        return round(_TOP + plot_h * (1 - value / top), 1)

    lines = format_html_join(
        "",
        '<polyline fill="none" stroke="{}" stroke-width="2" points="{}">'
        "<title>{}</title></polyline>",
        (
            (
                colour,
                " ".join(f"{x(i)},{y(getattr(b, field))}" for i, b in enumerate(buckets)),
                label,
            )
            for field, label, colour in SERIES
        ),
    )
    legend = format_html_join(
        "",
        '<text x="{}" y="{}" fill="{}" font-size="12">{}</text>',
        (
            (_LEFT + 150 * n, HEIGHT - 4, colour, label)
            for n, (_field, label, colour) in enumerate(SERIES)
        ),
    )
    fmt = "%Y-%m-%d %H:00" if period == "hour" else "%Y-%m-%d"
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" '
        'role="img" aria-label="{label}" font-family="sans-serif">'
        '<line x1="{l}" y1="{b}" x2="{r}" y2="{b}" stroke="#ccc"/>'
        '<line x1="{l}" y1="{t}" x2="{l}" y2="{b}" stroke="#ccc"/>'
        '<text x="4" y="{t2}" font-size="11">{top}</text>'
        '<text x="4" y="{b}" font-size="11">0</text>'
        '<text x="{l}" y="{b2}" font-size="11">{first}</text>'
        '<text x="{r}" y="{b2}" font-size="11" text-anchor="end">{last}</text>'
        "{lines}{legend}</svg>",
        w=WIDTH,
        h=HEIGHT,
        label=f"Opens, clicks and machine loads per {period}",
        l=_LEFT,
        r=WIDTH - _RIGHT,
        t=_TOP,
        b=HEIGHT - _BOTTOM,
        t2=_TOP + 10,
        b2=HEIGHT - _BOTTOM + 14,
        top=top,
        first=buckets[0].start.strftime(fmt),
        last=buckets[-1].start.strftime(fmt),
        lines=lines,
        legend=legend,
    )
