"""UTM tags: the ``utm_*`` query parameters by which web analytics attribute a visit
to the email it came from, added to each link of an email that ptrack tracks.

Tags are given as a mapping of names to values, the names with or without their
``utm_`` prefix (``{"source": "newsletter", "medium": "email"}``): site-wide by
``PTRACK_UTM``, per email by the ``utm=`` option, whose names replace the site's.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from typing import Any, Literal
from urllib.parse import quote, unquote_plus

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from ptrack.conf import cached, conf

PREFIX = "utm_"

# The utm= option: names to values (None leaves a tag out); False: no tags at all.
Option = Mapping[str, str | None] | Literal[False] | None
# The tags of one email: (parameter, value percent-encoded), in order.
Tags = tuple[tuple[str, str], ...]

_NAME = re.compile(r"[a-z0-9_]+")


def problem(value: object) -> str | None:
    """Why ``value`` is no mapping of UTM names to values, or ``None`` if it is one."""
    if not isinstance(value, Mapping):
        return "is not a mapping of UTM names to values, such as {'medium': 'email'}"
    seen: set[str] = set()
    for name, tag in value.items():
        if not (isinstance(name, str) and _NAME.fullmatch(name.removeprefix(PREFIX))):
            return (
                f"has the name {name!r}; a UTM name is lowercase letters, digits and _, "
                f"such as 'source' or 'utm_source'"
            )
        parameter = PREFIX + name.removeprefix(PREFIX)
        if parameter in seen:
            return f"names {parameter} twice"
        seen.add(parameter)
        if tag is not None and not (isinstance(tag, str) and tag):
            return f"gives {name!r} the value {tag!r}, not a non-empty str or None"
    return None


def tags(option: Option, message: Any = None) -> Tags:
    """The tags of one email: ``PTRACK_UTM``'s, then ``option``'s names over them.

    A callable ``PTRACK_UTM`` is given ``message``: the ``EmailMessage`` being
    tracked, or ``None`` for HTML or text tracked on its own. ``option=False``
    gives no tags; a name whose value is ``None`` is left out.
    """
    if option is False:
        return ()
    merged = _site_tags(message)
    if option:
        merged = {**merged, **_parameters(option)}
    return tuple(
        (name, quote(value, safe="")) for name, value in merged.items() if value is not None
    )


@functools.lru_cache(maxsize=4096)
def tag(url: str, tags: Tags) -> str:
    """``url`` (as ``urlcheck.normalize()`` writes it) with each of ``tags`` whose
    parameter its query lacks, in any case, added at the end of its query."""
    before, hash_sign, fragment = url.partition("#")
    path, _question_mark, query = before.partition("?")
    present = {unquote_plus(field.partition("=")[0]).lower() for field in query.split("&")}
    added = "&".join(f"{name}={value}" for name, value in tags if name not in present)
    if not added:
        return url
    if query and not query.endswith("&"):
        added = "&" + added
    return f"{path}?{query}{added}{hash_sign}{fragment}"


def _parameters(value: Mapping[str, str | None]) -> dict[str, str | None]:
    return {PREFIX + name.removeprefix(PREFIX): tag for name, tag in value.items()}


def _site_tags(message: Any) -> dict[str, str | None]:
    site = _site()
    if not callable(site):
        return site
    answer = site(message)
    if answer is None:
        return {}
    reason = problem(answer)
    if reason is not None:
        raise ImproperlyConfigured(
            f"PTRACK_UTM's {site!r} answered {answer!r}, which {reason}; it should answer "
            f"a mapping of UTM names to values, or None."
        )
    return _parameters(answer)


@cached
def _site() -> dict[str, str | None] | Callable[[Any], Any]:
    value = conf.UTM
    if value is None:
        return {}
    if isinstance(value, str):
        try:
            value = import_string(value)
        except ImportError as e:
            raise ImproperlyConfigured(f"PTRACK_UTM {value!r} cannot be imported: {e}") from e
    if callable(value):
        return value  # type: ignore[no-any-return]
    reason = problem(value)
    if reason is not None:
        raise ImproperlyConfigured(f"PTRACK_UTM {value!r} {reason}.")
    return _parameters(value)
