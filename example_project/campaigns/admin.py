"""The site's own models in the admin. Campaign numbers, messages and events are
ptrack.store's, under "Campaign numbers" in the same admin."""

from __future__ import annotations

from typing import Any

import django
from django.contrib import admin, messages
from django.db import models
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from campaigns.models import Campaign, Delivery, Recipient
from campaigns.sending import send_campaign
from ptrack.store.models import Campaign as StoreCampaign
from ptrack.store.models import RecipientDay


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ("name", "subject", "tracking_window", "sent", "numbers", "dashboard")
    search_fields = ("name", "subject")
    filter_horizontal = ("recipients",)
    actions = ("send",)
    fieldsets = (
        (None, {"fields": ("name", "subject", "preheader", "body")}),
        ("Call to action", {"fields": ("button_label", "button_url")}),
        ("Audience and tracking", {"fields": ("recipients", "tracking_window")}),
    )
    if django.VERSION >= (5, 0):  # a URL typed without a scheme is https, as Django 6 has it
        formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def get_queryset(self, request: HttpRequest) -> QuerySet[Campaign]:
        in_store = StoreCampaign.objects.filter(name=OuterRef("name")).values("pk")[:1]
        return (
            super()
            .get_queryset(request)
            .annotate(sent=Count("deliveries"), store_pk=Subquery(in_store))
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        # The name is the campaign's in ptrack.store, which the sent emails' links carry.
        return ("name",) if obj is not None and obj.deliveries.exists() else ()

    @admin.display(ordering="sent")
    def sent(self, campaign: Campaign) -> int:
        return campaign.sent  # type: ignore[attr-defined]

    @admin.display(description="Numbers")
    def numbers(self, campaign: Campaign) -> str:
        store_pk = campaign.store_pk  # type: ignore[attr-defined]
        if store_pk is None:
            return "\N{EN DASH}"
        url = reverse("admin:ptrack_store_campaign_change", args=[store_pk])
        return format_html('<a href="{}">Campaign numbers</a>', url)

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
    list_display = ("email", "name", "consent", "last_open_day", "created_at")
    list_filter = ("consent",)
    search_fields = ("email", "name")
    readonly_fields = ("key",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Recipient]:
        day = RecipientDay.objects.filter(recipient=OuterRef("key")).values("last_open")[:1]
        return super().get_queryset(request).annotate(last_open_day=Subquery(day))

    @admin.display(ordering="last_open_day", description="Last open day (deliverability level)")
    def last_open_day(self, recipient: Recipient) -> object:
        return recipient.last_open_day  # type: ignore[attr-defined]


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ("campaign", "recipient", "sent_at", "tracking_expires_at")
    list_filter = ("campaign",)
    list_select_related = ("campaign", "recipient")
    search_fields = ("recipient__email",)
    date_hierarchy = "sent_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # made by sending

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
