"""The consents in Django's admin: levels changed only through the API, history read-only."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from ptrack.consents.api import _change, history
from ptrack.consents.models import Consent, ConsentChange

if TYPE_CHECKING:
    _ConsentAdmin = admin.ModelAdmin[Consent]
    _ConsentChangeAdmin = admin.ModelAdmin[ConsentChange]
else:  # ModelAdmin takes no type argument at run time
    _ConsentAdmin = _ConsentChangeAdmin = admin.ModelAdmin


@admin.register(Consent)
class ConsentAdmin(_ConsentAdmin):
    list_display = ("recipient", "level", "updated_at")
    list_filter = ("level",)
    search_fields = ("recipient",)
    fields = ("recipient", "level", "updated_at", "changes")
    readonly_fields = ("updated_at", "changes")

    def get_readonly_fields(self, request: HttpRequest, obj: Consent | None = None) -> Any:
        # The key names whose history the row is; it never moves to another recipient.
        return (*self.readonly_fields, "recipient") if obj is not None else self.readonly_fields

    def has_delete_permission(self, request: HttpRequest, obj: Consent | None = None) -> bool:
        return False  # the history would outlive a state nobody could see; withdraw instead

    @admin.display(description="history")
    def changes(self, obj: Consent) -> str:
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((c.at.isoformat(), c.level, c.source, c.note) for c in history(obj.recipient)),
        )
        return format_html("<table>{}</table>", rows)

    def save_model(self, request: HttpRequest, obj: Consent, form: Any, change: bool) -> None:
        # Through the API, so that the change has its history row and reaches the cache.
        user = request.user
        _change(
            obj.recipient,
            obj.level,
            source="admin",
            wording="",
            note=f"by {user.get_username()} (user id {user.pk})",
            at=None,
        )
        obj.pk = Consent.objects.only("pk").get(recipient=obj.recipient).pk


@admin.register(ConsentChange)
class ConsentChangeAdmin(_ConsentChangeAdmin):
    list_display = ("recipient", "level", "at", "source", "note")
    list_filter = ("level", "source")
    search_fields = ("recipient",)
    date_hierarchy = "at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
