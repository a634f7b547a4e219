"""Checks of the classification and privacy settings: ptrack.E030 to E039, W010."""

from __future__ import annotations

import math
import os
import re

from django.core.checks import CheckMessage, Error, Warning
from django.utils.module_loading import import_string

from ptrack import urlcheck
from ptrack.classifier import KINDS, extra_networks, extra_rules
from ptrack.conf import conf


def check_classification() -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    kinds = conf.RECORD_KINDS
    if not (isinstance(kinds, (list, tuple, set, frozenset)) and set(kinds) <= KINDS):
        errors.append(
            Error(
                f"PTRACK_RECORD_KINDS should be a list of kinds of load, not {kinds!r}.",
                hint=f"Choose from {sorted(KINDS)}; all of them is the default.",
                id="ptrack.E030",
            )
        )
    window = conf.MACHINE_WINDOW
    if not (
        isinstance(window, (int, float)) and not isinstance(window, bool) and 0 <= window < math.inf
    ):
        errors.append(
            Error(
                f"PTRACK_MACHINE_WINDOW should be a number of seconds, 0 or more, not {window!r}.",
                hint="Loads by a browser this soon after the link was issued count as a "
                "scanner's; 0 turns the rule off.",
                id="ptrack.E031",
            )
        )
    for name, value, parse, shape, check_id in (
        (
            "PTRACK_EXTRA_RULES",
            conf.EXTRA_RULES,
            extra_rules,
            "(regex, kind, reason)",
            "ptrack.E032",
        ),
        (
            "PTRACK_EXTRA_NETWORKS",
            conf.EXTRA_NETWORKS,
            extra_networks,
            "(prefix, kind, reason)",
            "ptrack.E033",
        ),
    ):
        try:
            if not isinstance(value, (list, tuple)):
                raise ValueError(f"expected a list, not {value!r}")
            parse(value)
        except (TypeError, ValueError, re.error) as e:
            errors.append(
                Error(
                    f"{name} should be a list of {shape} tuples: {e}",
                    hint=f"kind is one of {sorted(KINDS)}; reason is a short name.",
                    id=check_id,
                )
            )
    return errors


def check_classifier() -> list[CheckMessage]:
    path = conf.CLASSIFIER
    try:
        classifier = import_string(path)
    except ImportError as e:
        return [
            Error(
                f"PTRACK_CLASSIFIER {path!r} cannot be imported: {e}",
                hint="Give the dotted path of a function with ptrack.classify's signature.",
                id="ptrack.E034",
            )
        ]
    if not callable(classifier):
        return [
            Error(
                f"PTRACK_CLASSIFIER {path!r} should name a callable, not {classifier!r}.",
                id="ptrack.E035",
            )
        ]
    return []


def check_private_relay() -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    url = conf.PRIVATE_RELAY_URL
    if urlcheck.problem(url, strict=False) is not None:
        errors.append(
            Error(
                f"PTRACK_PRIVATE_RELAY_URL should be an absolute http(s) URL, not {url!r}.",
                hint="Apple publishes the list at https://mask-api.icloud.com/egress-ip-ranges.csv",
                id="ptrack.E036",
            )
        )
    path = conf.PRIVATE_RELAY_FILE
    if path is None:
        return errors
    if not isinstance(path, (str, os.PathLike)) or not str(path):
        errors.append(
            Error(
                f"PTRACK_PRIVATE_RELAY_FILE should be a file path or None, not {path!r}.",
                id="ptrack.E039",
            )
        )
    elif not os.access(path, os.R_OK):
        errors.append(
            Warning(
                f"PTRACK_PRIVATE_RELAY_FILE {str(path)!r} cannot be read, so Apple Mail "
                f"Privacy Protection loads are told only by their User-Agent.",
                hint="Run 'manage.py ptrack_private_relay' to download Apple's list there, "
                "and again from time to time (daily, say).",
                id="ptrack.W010",
            )
        )
    return errors


def check_privacy() -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    for name, value, check_id in (
        ("PTRACK_HONOR_OPT_OUT", conf.HONOR_OPT_OUT, "ptrack.E037"),
        ("PTRACK_ANONYMIZE_IP", conf.ANONYMIZE_IP, "ptrack.E038"),
    ):
        if not isinstance(value, bool):
            errors.append(Error(f"{name} should be True or False, not {value!r}.", id=check_id))
    return errors
