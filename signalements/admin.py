from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from factures.forms import CreditLineFormSet, credit_lines
from familles.access import acting_user
from familles.admin import DocumentInline
from familles.search import FamilySearchMixin
from familles.views import proof_response
from portail.admin_tools import NoAddMixin, NoDeleteMixin, SafeDateHierarchyMixin
from signalements.forms import ReportAnswerForm
from signalements.models import Report, ReportAttachment, ReportUpdate
from signalements.services import REPORT_KINDS_FOR_CREDIT, report_assign, report_update


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
        view = self.admin_site.admin_view
        return [
            path(
                "<id:pk>/repondre/",
                view(self.answer_view),
                name="signalements_report_answer",
            ),
            path(
                "piece/<id:pk>/",
                view(self.attachment_view),
                name="signalements_reportattachment_download",
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

    def attachment_view(self, request: HttpRequest, pk: int) -> HttpResponseBase:
        if not self.has_view_permission(request):
            return HttpResponse(status=403)
        return proof_response(get_object_or_404(ReportAttachment, pk=pk))

    def answer_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Answer the family, change the status and, for a refund, bracket,
        attendance or amount report, issue the credit note in the same step."""
        report = get_object_or_404(
            Report.objects.select_related("family", "invoice"), pk=pk
        )
        if not self.has_change_permission(request, report):
            return HttpResponse(status=403)
        can_credit = (
            report.kind in REPORT_KINDS_FOR_CREDIT and report.invoice_id is not None
        )
        form = ReportAnswerForm(request.POST or None, initial={"status": report.status})
        formset = (
            CreditLineFormSet(request.POST or None, prefix="lines")
            if can_credit
            else None
        )
        if (
            request.method == "POST"
            and form.is_valid()
            and (formset is None or formset.is_valid())
        ):
            lines = credit_lines(formset) if formset else []
            try:
                report_update(
                    report=report,
                    agent=acting_user(request),
                    status=form.cleaned_data["status"],
                    message=form.cleaned_data["message"],
                    credit_lines=lines or None,
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                self.message_user(request, _("The family is told."), messages.SUCCESS)
                return redirect(
                    reverse("admin:signalements_report_change", args=[report.pk])
                )
        return TemplateResponse(
            request,
            "admin/signalements/report_answer.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": _("Answer report %(reference)s")
                % {"reference": report.reference},
                "report": report,
                "form": form,
                "formset": formset,
            },
        )
