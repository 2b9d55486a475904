from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from familles.access import acting_user
from familles.admin import DocumentInline
from familles.search import FamilySearchMixin
from portail.admin_tools import NoAddMixin, NoDeleteMixin, SafeDateHierarchyMixin
from signalements.models import Report, ReportAttachment, ReportUpdate
from signalements.services import report_assign
from signalements.staff_views import AttachmentDownloadView, ReportAnswerView


class ReportAttachmentInline(DocumentInline):
    model = ReportAttachment
    download_view = "admin:signalements_reportattachment_download"


class ReportUpdateInline(NoAddMixin, admin.TabularInline):
    model = ReportUpdate
    fields = ["created_at", "author", "status_before", "status_after", "message"]
    readonly_fields = fields  # type: ignore[assignment]  # the same names
    extra = 0
    can_delete = False


@admin.register(Report)
class ReportAdmin(
    FamilySearchMixin,
    SafeDateHierarchyMixin,
    NoAddMixin,
    NoDeleteMixin,
    admin.ModelAdmin[Report],
):
    list_display = [
        "reference",
        "created_at",
        "family",
        "kind",
        "status",
        "assigned_to",
    ]
    list_filter = [
        "status",
        "kind",
        ("created_at", admin.DateFieldListFilter),
        "assigned_to",
    ]
    list_select_related = ["family", "assigned_to"]
    search_fields = ["reference", "message"]
    date_hierarchy = "created_at"
    inlines = [ReportAttachmentInline, ReportUpdateInline]
    actions = ["assign_to_me"]
    readonly_fields = [
        "reference",
        "family_link",
        "kind",
        "invoice_link",
        "child",
        "date_from",
        "date_to",
        "message",
        "status",
        "created_at",
        "closed_at",
        "family_money",
    ]
    fields = [*readonly_fields, "assigned_to"]

    def get_urls(self) -> list[Any]:
        return [
            ReportAnswerView.route(
                self.admin_site, "<id:pk>/repondre/", "signalements_report_answer"
            ),
            AttachmentDownloadView.route(
                self.admin_site,
                "piece/<id:pk>/",
                "signalements_reportattachment_download",
            ),
            *super().get_urls(),
        ]

    @admin.display(description=gettext_lazy("family"))
    def family_link(self, obj: Report) -> str:
        url = reverse("admin:familles_family_change", args=[obj.family_id])
        return format_html('<a href="{}">{}</a>', url, obj.family)

    @admin.display(description=gettext_lazy("invoice"))
    def invoice_link(self, obj: Report) -> str:
        if obj.invoice_id is None:
            return "—"
        url = reverse("admin:factures_invoice_change", args=[obj.invoice_id])
        return format_html('<a href="{}">{}</a>', url, obj.invoice)

    @admin.display(description=gettext_lazy("the family's invoices and payments"))
    def family_money(self, obj: Report) -> str:
        invoices = reverse("admin:factures_invoice_changelist")
        payments = reverse("admin:paiements_payment_changelist")
        query = f"?q={obj.family.identifier}"
        return format_html(
            '<a href="{}{}">{}</a> · <a href="{}{}">{}</a>',
            invoices,
            query,
            _("Invoices"),
            payments,
            query,
            _("Payments"),
        )

    @admin.action(description=gettext_lazy("Assign to me"), permissions=["change"])
    def assign_to_me(self, request: HttpRequest, queryset: QuerySet[Report]) -> None:
        for report in queryset:
            report_assign(report=report, agent=acting_user(request))
        self.message_user(request, _("Reports assigned to you."), messages.SUCCESS)
