"""The dashboard and the inbox.

They are open to anyone who reaches the server, which suits the local demo;
a real deployment puts them behind a login (e.g. ``login_required``).
"""

from __future__ import annotations

from django.conf import settings
from django.db.models import Count, Max, Min
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_safe

from campaigns import mail
from campaigns.chart import opens_chart
from campaigns.models import Campaign
from campaigns.stats import (
    campaign_numbers,
    latest_loads,
    loads_by_kind,
    numbers_by_name,
    recipients_by_consent,
)

LATEST_OPENS = 15

# The pages of the website the campaign emails link to: slug -> (title, text).
SITE_PAGES = {
    "spring": (
        "What's new in Mailroom this spring",
        "Scheduled sends, a faster editor, and a dashboard that updates itself.",
    ),
    "renew": ("Renew at the early-bird price", "Keep this year's price for twelve more months."),
    "preferences": ("Your subscription", "Choose which Mailroom news you receive."),
}

# A mail client runs no script and sends no Referer with the images of a message.
MESSAGE_CSP = "default-src 'none'; img-src * data:; style-src 'unsafe-inline'; font-src data:"


def _live(request: HttpRequest) -> bool:
    """Whether the page's script asks for just the part that updates itself."""
    return request.GET.get("fragment") == "live"


@require_safe
def campaign_list(request: HttpRequest) -> HttpResponse:
    campaigns = list(
        Campaign.objects.annotate(
            sent_to=Count("deliveries"), tracking_until=Max("deliveries__tracking_expires_at")
        )
    )
    numbers = numbers_by_name(c.name for c in campaigns)
    rows = [(campaign, numbers[campaign.name]) for campaign in campaigns]
    template = "campaigns/_campaign_rows.html" if _live(request) else "campaigns/campaign_list.html"
    return render(request, template, {"rows": rows, "now": timezone.now()})


@require_safe
def dashboard(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=pk)
    numbers = campaign_numbers(campaign)
    now = timezone.now()
    sending = campaign.deliveries.aggregate(first=Min("sent_at"), until=Max("tracking_expires_at"))
    tracking = sending["until"]
    chart = opens_chart(
        campaign, numbers, first_sent_at=sending["first"], now=now, expires_at=tracking
    )
    context = {
        "campaign": campaign,
        "stats": numbers,
        "machine_loads": sum(numbers.machine_loads.values()),
        "machine_clicks": sum(numbers.machine_clicks.values()),
        "first_sent_at": sending["first"],
        "chart": chart,
        "kinds": loads_by_kind(numbers),
        "latest_opens": latest_loads(campaign, LATEST_OPENS),
        "consent_levels": recipients_by_consent(campaign),
        "recipient_count": campaign.recipients.count(),
        "tracking_until": tracking,
        "tracking_ended": tracking is not None and tracking <= now,
        "now": now,
    }
    template = "campaigns/_dashboard_live.html" if _live(request) else "campaigns/dashboard.html"
    return render(request, template, context)


@require_safe
def inbox(request: HttpRequest, key: str | None = None) -> HttpResponse:
    context: dict[str, object] = {
        "uses_maildir": mail.uses_maildir(),
        "email_backend": mail.configured_backend(),
        "maildir": settings.MAILROOM_MAILDIR,
    }
    if mail.uses_maildir():
        if key is not None:
            try:
                mail.mark_read(key)
                context["selected"] = mail.get_message(key)
            except KeyError:
                raise Http404("No such message in the inbox.") from None
        context["messages"] = mail.list_messages()
        context["view"] = request.GET.get("view", "html")
    elif key is not None:
        raise Http404("The inbox shows the local mail sink, which is not in use.")
    return render(request, "campaigns/inbox.html", context)


@require_safe
@xframe_options_sameorigin
def message_html(request: HttpRequest, key: str) -> HttpResponse:
    """The HTML part of a message, alone, for the inbox's sandboxed frame."""
    if not mail.uses_maildir():
        raise Http404("The local mail sink is not in use.")
    try:
        html = mail.get_message(key).html
    except KeyError:
        raise Http404("No such message in the inbox.") from None
    if html is None:
        raise Http404("This message has no HTML part.")
    response = HttpResponse(html, content_type="text/html; charset=utf-8")
    response["Content-Security-Policy"] = MESSAGE_CSP
    response["Referrer-Policy"] = "no-referrer"
    return response


@require_safe
def site_page(request: HttpRequest, slug: str) -> HttpResponse:
    """A page of the website the emails link to: where a tracked click lands."""
    try:
        title, text = SITE_PAGES[slug]
    except KeyError:
        raise Http404("No such page.") from None
    return render(request, "campaigns/site_page.html", {"title": title, "text": text})
