from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from campaigns.models import Campaign, Click, Delivery, Open, Recipient
from campaigns.sending import send_campaign
from campaigns.stats import with_stats
from campaigns.templatetags.mailroom import percent_of


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "subject",
        "tracking_window",
        "sent",
        "unique_opens",
        "open_rate",
        "total_opens",
        "dashboard",
    )
    search_fields = ("name", "subject")
    filter_horizontal = ("recipients",)
    actions = ("send",)
    fieldsets = (
        (None, {"fields": ("name", "subject", "preheader", "body")}),
        ("Call to action", {"fields": ("button_label", "button_url")}),
        ("Audience and tracking", {"fields": ("recipients", "tracking_window")}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Campaign]:
        return with_stats(super().get_queryset(request))

    @admin.display(ordering="sent")
    def sent(self, campaign: Campaign) -> int:
        return campaign.sent

    @admin.display(ordering="unique_opens")
    def unique_opens(self, campaign: Campaign) -> int:
        return campaign.unique_opens

    @admin.display(ordering="total_opens")
    def total_opens(self, campaign: Campaign) -> int:
        return campaign.total_opens

    @admin.display(description="Open rate")
    def open_rate(self, campaign: Campaign) -> str:
        if not campaign.sent:
            return "\N{EN DASH}"
        return f"{percent_of(campaign.unique_opens, campaign.sent)}%"

    @admin.display(description="Dashboard")
    def dashboard(self, campaign: Campaign) -> str:
        return format_html('<a href="{}">View dashboard</a>', campaign.get_absolute_url())

    @admin.action(description="Send to recipients who have not had it yet")
    def send(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        for campaign in queryset:
            report = send_campaign(campaign)
            self.message_user(
                request,
                f"{campaign}: sent {report.sent} email{'s' if report.sent != 1 else ''}, "
                f"skipped {report.skipped} recipient{'s' if report.skipped != 1 else ''} "
                f"who already had it.",
                messages.SUCCESS,
            )


@admin.register(Recipient)
class RecipientAdmin(admin.ModelAdmin):
    list_display = ("email", "name", "consent", "last_reached_on", "created_at")
    list_filter = ("consent",)
    search_fields = ("email", "name")
    readonly_fields = ("key", "last_reached_on")


class _ReadOnlyAdmin(admin.ModelAdmin):
    """Records of what happened: viewable, not editable."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Delivery)
class DeliveryAdmin(_ReadOnlyAdmin):
    list_display = ("campaign", "recipient", "sent_at", "tracking_expires_at", "message_id")
    list_filter = ("campaign",)
    list_select_related = ("campaign", "recipient")
    search_fields = ("recipient__email", "message_id")
    date_hierarchy = "sent_at"


@admin.register(Open)
class OpenAdmin(_ReadOnlyAdmin):
    list_display = (
        "opened_at",
        "campaign",
        "recipient",
        "kind",
        "reason",
        "counts_as_open",
        "client",
        "ip",
        "link_issued_at",
    )
    list_filter = ("campaign", "kind", "counts_as_open")
    list_select_related = ("campaign", "recipient")
    search_fields = ("recipient__email", "ip", "user_agent")
    date_hierarchy = "opened_at"


@admin.register(Click)
class ClickAdmin(_ReadOnlyAdmin):
    list_display = (
        "clicked_at",
        "campaign",
        "recipient",
        "link",
        "destination",
        "kind",
        "reason",
        "by_person",
        "ip",
    )
    list_filter = ("campaign", "link", "kind", "by_person")
    list_select_related = ("campaign", "recipient")
    search_fields = ("recipient__email", "destination", "ip")
    date_hierarchy = "clicked_at"
