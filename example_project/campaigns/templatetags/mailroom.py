from __future__ import annotations

from datetime import timedelta

from django import template

register = template.Library()


@register.filter
def percent(rate: float | None) -> str:
    """``{{ stats.open_rate|percent }}``: "33.3%", or a dash while there is no rate."""
    return "\N{EN DASH}" if rate is None else f"{rate * 100:.1f}%"


@register.filter
def meter(rate: float | None) -> str:
    """``width: {{ stats.open_rate|meter }}%``: "33.3", or "0.0" while there is no rate."""
    return f"{(rate or 0) * 100:.1f}"


@register.filter
def short_duration(value: timedelta | None) -> str:
    """``{{ open.delay|short_duration }}``: "8s", "3 min", "2 h 5 min", "1 d 3 h"."""
    if value is None:
        return "\N{EN DASH}"
    seconds = max(0, int(value.total_seconds()))
    if seconds < 60:
        return f"{seconds}s"
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if hours == 0:
        return f"{minutes} min"
    if days == 0:
        return f"{hours} h {minutes % 60} min" if minutes % 60 else f"{hours} h"
    return f"{days} d {hours % 24} h" if hours % 24 else f"{days} d"
