"""The store in Django's admin: campaigns with their numbers, a page of numbers per campaign
(a chart drawn on the server, links, machines by kind), messages to drill down to, CSV."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.core.paginator import EmptyPage, Page, Paginator
from django.db import connections, transaction
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join

from ptrack.store import chart, erasure
from ptrack.store.models import Campaign, CampaignTotal, Event, Message
from ptrack.store.numbers import PERIODS, numbers, stats

if TYPE_CHECKING:
    _CampaignAdmin = admin.ModelAdmin[Campaign]
    _MessageAdmin = admin.ModelAdmin[Message]
    _Paginator = Paginator[Any]
else:  # ModelAdmin and Paginator take no type argument at run time
    _CampaignAdmin = _MessageAdmin = admin.ModelAdmin
    _Paginator = Paginator

_LISTED = ("sent", "tracked", "opens", "unique_opens", "clicks", "unique_clicks")


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


@admin.register(Campaign)
class CampaignAdmin(_CampaignAdmin):
    list_display = (
        "__str__",
        "created_at",
        "sent",
        "open_rate",
        "click_rate",
        "click_to_open_rate",
        "opens",
        "clicks",
    )
    search_fields = ("name",)
    change_form_template = "admin/ptrack_store/campaign/numbers.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Campaign]:
        totals = CampaignTotal.objects.filter(campaign=OuterRef("pk"))
        return (
            super()
            .get_queryset(request)
            .annotate(
                **{
                    f"total_{metric}": Subquery(totals.filter(metric=metric).values("value")[:1])
                    for metric in _LISTED
                }
            )
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # campaigns are made by sending

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    # Its messages first, locked (ptrack.store.erasure.delete_messages), then the rest.
    def delete_model(self, request: HttpRequest, obj: Campaign) -> None:
        self.delete_queryset(request, Campaign.objects.using(obj._state.db).filter(pk=obj.pk))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        with transaction.atomic(using=queryset.db):
            erasure.delete_messages(
                Message.objects.using(queryset.db).filter(campaign__in=queryset.values("pk"))
            )
            Campaign.objects.using(queryset.db).filter(pk__in=queryset.values("pk")).delete()

    @staticmethod
    def _numbers(obj: Campaign) -> Any:
        return numbers(obj.name, {m: getattr(obj, f"total_{m}", None) or 0 for m in _LISTED})

    @admin.display(description="sent")
    def sent(self, obj: Campaign) -> int:
        return int(self._numbers(obj).sent)

    @admin.display(description="open rate")
    def open_rate(self, obj: Campaign) -> str:
        return _percent(self._numbers(obj).open_rate)

    @admin.display(description="click rate")
    def click_rate(self, obj: Campaign) -> str:
        return _percent(self._numbers(obj).click_rate)

    @admin.display(description="click-to-open rate")
    def click_to_open_rate(self, obj: Campaign) -> str:
        return _percent(self._numbers(obj).click_to_open_rate)

    @admin.display(description="people's opens")
    def opens(self, obj: Campaign) -> int:
        return int(self._numbers(obj).opens)

    @admin.display(description="people's clicks")
    def clicks(self, obj: Campaign) -> int:
        return int(self._numbers(obj).clicks)

    def get_urls(self) -> list[URLPattern]:
        own = [
            path(
                "<path:object_id>/messages.csv",
                self.admin_site.admin_view(self.messages_csv),
                name="ptrack_store_campaign_csv",
            )
        ]
        return own + super().get_urls()

    def _campaign(self, request: HttpRequest, object_id: str) -> Campaign:
        campaign = self.get_object(request, object_id)
        if campaign is None:
            raise Http404(f"No campaign with id {object_id!r}.")
        if not self.has_view_permission(request, campaign):
            raise PermissionDenied
        return campaign

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        """The campaign's numbers, instead of a form: nothing in it is edited by hand."""
        campaign = self._campaign(request, object_id)
        period = request.GET.get("period", "day")
        if period not in PERIODS:
            period = "day"
        result = stats(campaign.name, period=period)  # type: ignore[arg-type]
        messages_url = reverse("admin:ptrack_store_message_changelist")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Campaign {campaign}",
            "campaign": campaign,
            "numbers": result,
            "rates": {
                "open rate": _percent(result.open_rate),
                "click rate": _percent(result.click_rate),
                "click-to-open rate": _percent(result.click_to_open_rate),
            },
            "kinds": [
                (kind, result.machine_loads.get(kind, 0), result.machine_clicks.get(kind, 0))
                for kind in sorted({*result.machine_loads, *result.machine_clicks})
            ],
            "period": period,
            "chart": chart.svg(result.over_time, period),
            "messages_url": f"{messages_url}?campaign__id__exact={campaign.pk}",
            "csv_url": reverse("admin:ptrack_store_campaign_csv", args=[campaign.pk]),
            **(extra_context or {}),
        }
        return TemplateResponse(request, self.change_form_template, context)

    def messages_csv(self, request: HttpRequest, object_id: str) -> StreamingHttpResponse:
        """Every message of the campaign, one CSV row each, streamed."""
        campaign = self._campaign(request, object_id)
        response = StreamingHttpResponse(_csv_lines(_in_pages(campaign)), content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="campaign-{campaign.pk}.csv"'
        return response


_CSV_COLUMNS = (
    "message_id",
    "recipient",
    "sent_at",
    "first_open_at",
    "last_open_at",
    "opens",
    "first_click_at",
    "clicks",
    "machine_loads",
)
# Rows per query of the CSV export.
_CSV_PAGE = 2000


def _in_pages(campaign: Campaign) -> Iterator[tuple[Any, ...]]:
    """The campaign's messages in sending order, a page per query, each read on from the
    last row of the one before through the (campaign, sent_at, id) index. Not a server-side
    cursor: outside a transaction PostgreSQL holds one by making the whole result first,
    which for a million messages took seconds before the first row."""
    messages = Message.objects.filter(campaign=campaign).order_by("sent_at", "pk")
    after: tuple[Any, int] | None = None
    while True:
        page = messages
        if after is not None:
            sent_at, pk = after
            page = messages.filter(Q(sent_at__gte=sent_at) & ~Q(sent_at=sent_at, pk__lte=pk))
        rows = list(page.values_list("pk", *_CSV_COLUMNS)[:_CSV_PAGE])
        for _pk, *values in rows:
            yield tuple(values)
        if len(rows) < _CSV_PAGE:
            return
        after = (rows[-1][3], rows[-1][0])


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_lines(rows: Iterator[tuple[Any, ...]]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(_CSV_COLUMNS)
    for row in rows:
        *values, machine = row
        cells = [
            "" if v is None else (v.isoformat() if hasattr(v, "isoformat") else v) for v in values
        ]
        kinds = ";".join(f"{kind}={count}" for kind, count in sorted((machine or {}).items()))
        yield writer.writerow([*cells, kinds])


class EstimatingPaginator(_Paginator):
    """Django's paginator without a count of every row listed, which for a campaign of a
    million messages took longer than the rest of the page.

    Up to ``counted`` rows are counted (``LIMIT``-ed, through an index); past that,
    PostgreSQL's planner estimate stands for the count and ``estimated`` is true. As an
    estimate may be short, a page past its last still shows its rows if it has any.
    Other databases count every row.
    """

    counted = 10_000
    estimated = False

    @cached_property
    def count(self) -> int:
        rows: QuerySet[Any] = self.object_list  # type: ignore[assignment]
        counted = rows.order_by()[: self.counted + 1].count()
        if counted <= self.counted:
            return counted
        planned = _planned_rows(rows)
        if planned is None:
            return rows.count()
        self.estimated = True
        return max(planned, counted)

    def validate_number(self, number: Any) -> int:
        try:
            return super().validate_number(number)
        except EmptyPage:
            if self.count and self.estimated and int(number) > self.num_pages:
                return int(number)  # page() finds out whether it has rows
            raise

    def page(self, number: Any) -> Page[Any]:
        number = self.validate_number(number)
        if not self.estimated:
            return super().page(number)
        bottom = (number - 1) * self.per_page
        rows = list(self.object_list[bottom : bottom + self.per_page])
        if not rows and number > 1:
            raise EmptyPage(f"Page {number} has no rows.")
        return Page(rows, number, self)


def _planned_rows(queryset: QuerySet[Any]) -> int | None:
    """How many rows PostgreSQL's planner expects ``queryset`` to give; None elsewhere."""
    if connections[queryset.db].vendor != "postgresql":
        return None
    plan = json.loads(queryset.order_by().explain(format="json"))
    return int(plan[0]["Plan"]["Plan Rows"])


# Events listed on a message's page, the latest.
HISTORY = 100


@admin.register(Message)
class MessageAdmin(_MessageAdmin):
    list_display = (
        "message_id",
        "campaign",
        "recipient",
        "sent_at",
        "first_open_at",
        "opens",
        "clicks",
        "machine",
    )
    # By date with a filter, not date_hierarchy, whose links are found by a DISTINCT over
    # every message listed: a scan of a million rows for a large campaign.
    list_filter = ("campaign", ("sent_at", admin.DateFieldListFilter))
    # Else a second COUNT(*), of every message in the store, on every page.
    show_full_result_count = False
    paginator = EstimatingPaginator
    # Django renders each row's cells one by one, checkbox and dates included: 100 rows took
    # 150 ms or more on a busy 2-CPU machine.
    list_per_page = 50
    search_fields = ("=recipient", "=message_id")
    list_select_related = ("campaign",)
    readonly_fields = ("history",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    # Locked first: a load recorded meanwhile would otherwise name a deleted message.
    def delete_model(self, request: HttpRequest, obj: Message) -> None:
        erasure.delete_messages(Message.objects.using(obj._state.db).filter(pk=obj.pk))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Message]) -> None:
        erasure.delete_messages(queryset)

    @admin.display(description="machine loads")
    def machine(self, obj: Message) -> str:
        return ", ".join(f"{k}: {n}" for k, n in sorted((obj.machine_loads or {}).items())) or "-"

    @admin.display(description="events")
    def history(self, obj: Message) -> str:
        """Its latest ``HISTORY`` events, newest first: a much opened message has thousands."""
        mine = Event.objects.filter(message=obj)
        latest = list(mine.select_related("link").order_by("-at", "-pk")[: HISTORY + 1])
        if len(latest) > HISTORY:
            total = mine.count()
            latest = latest[:HISTORY]
            caption: str = format_html(
                "<caption>The latest {} of {} events.</caption>",
                f"{HISTORY:,}",
                f"{total:,}",
            )
        else:
            caption = ""
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (e.at.isoformat(), e.event_type, e.kind, e.link.destination if e.link else "")
                for e in latest
            ),
        )
        return format_html("<table>{}{}</table>", caption, rows)
