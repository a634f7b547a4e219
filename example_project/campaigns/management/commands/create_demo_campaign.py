"""``manage.py create_demo_campaign``: the demo's campaigns and recipients; safe to run again."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from campaigns.models import Campaign, Recipient
from campaigns.templatetags.mailroom import short_duration

FIRST_NAMES = [
    "Ada", "Grace", "Alan", "Barbara", "Edsger", "Margaret", "Dennis", "Frances",
    "Ken", "Radia", "Linus", "Sophie", "Guido", "Katherine", "Donald", "Hedy",
]  # fmt: skip
LAST_NAMES = [
    "Lovelace", "Hopper", "Turing", "Liskov", "Dijkstra", "Hamilton", "Ritchie", "Allen",
    "Thompson", "Perlman", "Torvalds", "Wilson", "van Rossum", "Johnson", "Knuth", "Lamarr",
]  # fmt: skip

NEWSLETTER = {
    "name": "Spring product update",
    "subject": "What's new in Mailroom this spring",
    "preheader": "Scheduled sends, a faster editor, and a dashboard that updates itself.",
    "body": (
        "Spring is here, and so are three things you asked for.\n\n"
        "Scheduled sends: write a campaign today, have it go out on Monday at 9:00 in "
        "each recipient's time zone.\n\n"
        "A faster editor: long campaigns now open instantly, and drafts save as you type.\n\n"
        "A live dashboard: opens appear within a second of happening, with the open "
        "rate charted over time."
    ),
    "button_label": "See what's new",
    "button_url": "/pages/spring/",  # on MAILROOM_SITE_URL
}
EARLY_BIRD = {
    "name": "Early-bird offer",
    "subject": "Early-bird pricing ends soon",
    "preheader": "Lock in this year's price before it goes.",
    "body": (
        "Our early-bird price is available for a short while only.\n\n"
        "Renew now and keep this year's price for the next twelve months. Opens of "
        "this email are only counted for a short window after it was sent: the "
        "tracking pixel's link expires, and later opens are not recorded."
    ),
    "button_label": "Renew at the early-bird price",
    "button_url": "/pages/renew/",
}


# The consent each demo recipient chose, by index, round and round: most let us
# track them, and one in eight each answered "aggregate", "deliverability" or "none".
DEMO_CONSENT = ["full", "full", "aggregate", "deliverability", "none", "full", "full", "full"]


def demo_consent(index: int) -> str:
    """The consent level the ``index``-th demo recipient chose."""
    return DEMO_CONSENT[index % len(DEMO_CONSENT)]


def demo_recipient(index: int) -> tuple[str, str]:
    """The name and address of the ``index``-th demo recipient (all at example.com)."""
    first = FIRST_NAMES[index % len(FIRST_NAMES)]
    last = LAST_NAMES[(index + index // len(FIRST_NAMES)) % len(LAST_NAMES)]
    round_ = index // (len(FIRST_NAMES) * len(LAST_NAMES))
    local = f"{first}.{last}".lower().replace(" ", "") + (str(round_ + 1) if round_ else "")
    return f"{first} {last}", f"{local}@example.com"


class Command(BaseCommand):
    help = (
        "Create the demo campaigns (a newsletter, and an offer whose tracking pixels "
        "expire) with their recipients. Running it again changes nothing, or adds "
        "recipients when --recipients asks for more."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--recipients", type=int, default=12, help="How many recipients (default 12)."
        )
        parser.add_argument(
            "--tracking-window",
            type=int,
            default=120,
            metavar="SECONDS",
            help="How long the offer's pixels record opens after sending (default 120).",
        )

    @transaction.atomic
    def handle(self, *args: Any, recipients: int, tracking_window: int, **options: Any) -> None:
        if recipients < 1:
            raise CommandError(f"--recipients should be at least 1, not {recipients}.")
        if tracking_window < 1:
            raise CommandError(f"--tracking-window should be at least 1, not {tracking_window}.")
        people = []
        for index in range(recipients):
            name, email = demo_recipient(index)
            person, _ = Recipient.objects.get_or_create(
                email=email, defaults={"name": name, "consent": demo_consent(index)}
            )
            people.append(person)
        for fields, window in (
            (NEWSLETTER, None),
            (EARLY_BIRD, timedelta(seconds=tracking_window)),
        ):
            defaults = {
                **fields,
                "button_url": settings.MAILROOM_SITE_URL + fields["button_url"],
                "tracking_window": window,
            }
            campaign, created = Campaign.objects.get_or_create(
                name=fields["name"], defaults=defaults
            )
            campaign.recipients.add(*people)
            tracking = (
                f"pixels expire {short_duration(campaign.tracking_window)} after sending"
                if campaign.tracking_window
                else "pixels never expire"
            )
            self.stdout.write(
                f"{'Created' if created else 'Found'} campaign #{campaign.pk} "
                f"{campaign.name!r}: {campaign.recipients.count()} recipients, {tracking}."
            )
