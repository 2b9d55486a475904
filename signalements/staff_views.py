"""The staff pages of the reports: an agent's answer to a report, and the
download of a report's attachment (wired in `signalements.admin`)."""

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, QueryDict
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from factures.forms import CreditLineFormSet, credit_lines
from familles.access import acting_user
from familles.views import proof_response
from portail.admin_tools import StaffView
from signalements.forms import ReportAnswerForm
from signalements.models import Report, ReportAttachment
from signalements.services import report_can_credit, report_update


class ReportAnswerView(StaffView):
    """Answer the family, change the status and, for a refund, bracket,
    attendance or amount report, issue the credit note in the same step."""

    model = Report
    permission = "signalements.change_report"
    template_name = "admin/signalements/report_answer.html"
    report: Report

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self.answer(pk, None)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self.answer(pk, request.POST or None)

    def get_title(self) -> str:
        return _("Answer report %(reference)s") % {"reference": self.report.reference}

    def crumbs(self) -> list[tuple[str, str]]:
        """The reports' list, then the report."""
        change = reverse("admin:signalements_report_change", args=[self.report.pk])
        return [*super().crumbs(), (self.report.reference, change)]

    def answer(self, pk: int, data: QueryDict | None) -> HttpResponse:
        self.report = report = get_object_or_404(
            Report.objects.select_related("family", "invoice"), pk=pk
        )
        form = ReportAnswerForm(data, initial={"status": report.status})
        formset = (
            CreditLineFormSet(data, prefix="lines")
            if report_can_credit(report=report)
            else None
        )
        if form.is_valid() and (formset is None or formset.is_valid()):
            lines = credit_lines(formset) if formset else []
            try:
                report_update(
                    report=report,
                    agent=acting_user(self.request),
                    status=form.cleaned_data["status"],
                    message=form.cleaned_data["message"],
                    credit_lines=lines or None,
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                self.tell(_("The family is told."))
                return redirect(
                    reverse("admin:signalements_report_change", args=[report.pk])
                )
        return self.render(report=report, form=form, formset=formset)


class AttachmentDownloadView(StaffView):
    """A file sent with a report, downloaded by an agent who may see the
    reports (view or change, as the admin's list)."""

    model = Report
    permission = ("signalements.view_report", "signalements.change_report")

    def get(self, request: HttpRequest, pk: int) -> HttpResponseBase:
        return proof_response(get_object_or_404(ReportAttachment, pk=pk))
