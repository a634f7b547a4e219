"""Who loaded a pixel: a person, a mail provider's proxy, a privacy pre-fetch, a scanner, a bot.

``classify()`` decides from the request alone (User-Agent, a few headers, the
method, the client network, and how long after the link was issued), with
rules in a fixed order; the first that applies gives the kind and names
itself as the reason. Only ``human`` and ``mail_proxy`` count as opens: a
provider's image proxy fetches because a person is viewing the mail.

The package holds the kinds and the verdict (``kinds``), the rules that decide
(``engine``), the User-Agent markers of each family (``markers``) and how a
User-Agent is read with them (``user_agents``), the network sets
(``networks``) and their shipped and downloaded lists (``sources``), and the
classifier the settings configure (``config``); this module re-exports what
the rest of ptrack and sites use.
"""

from __future__ import annotations

from ptrack.classifier.config import (
    active_rules,
    classify,
    extra_networks,
    extra_rules,
    get_classifier,
)
from ptrack.classifier.engine import Rules
from ptrack.classifier.kinds import (
    KINDS,
    OPEN_KINDS,
    Classification,
    Classifier,
    Kind,
    admitted,
)
from ptrack.classifier.sources import (
    load_private_relay,
    private_relay_networks,
    vendor_networks,
)

__all__ = [
    "KINDS",
    "OPEN_KINDS",
    "Classification",
    "Classifier",
    "Kind",
    "Rules",
    "active_rules",
    "admitted",
    "classify",
    "extra_networks",
    "extra_rules",
    "get_classifier",
    "load_private_relay",
    "private_relay_networks",
    "vendor_networks",
]
