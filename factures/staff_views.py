"""The staff pages of the invoicing: the attendance import, the monthly
invoicing and its paper batches (with their progress and their download),
an invoice's PDF and its credit notes (wired in `factures.admin`)."""

import datetime
from typing import Any

from django.contrib import messages
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.forms import BaseFormSet
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    JsonResponse,
)
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from factures.attendance_import import attendance_import, attendance_parse
from factures.forms import (
    AttendanceImportForm,
    CreditLineFormSet,
    CreditNoteForm,
    MonthForm,
    credit_lines,
)
from factures.models import Attendance, Invoice, InvoicingRun, PaperBatch
from factures.pdf import invoice_pdf
from factures.periods import month_label
from factures.printing import paper_batch_request
from factures.runs import invoicing_run_request
from factures.services import CreditLine, credit_note_issue
from familles.access import acting_user
from portail.admin_tools import StaffView

IMPORT_SALT = "factures.attendance-import"


class AttendanceImportView(StaffView):
    """Import a month's attendance from a CSV file: the file is checked and
    previewed, then imported as previewed once the agent confirms."""

    model = Attendance
    permission = "factures.add_attendance"
    title = gettext_lazy("Import attendance from a CSV file")
    template_name = "admin/factures/attendance_import.html"
    preview = False

    def get_title(self) -> str:
        if self.preview:
            return _("Attendance import: preview")
        return super().get_title()

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.render(form=AttendanceImportForm())

    def post(self, request: HttpRequest) -> HttpResponse:
        if "confirm" in request.POST:
            return self.confirm()
        form = AttendanceImportForm(request.POST or None, request.FILES or None)
        if not form.is_valid():
            return self.render(form=form)
        data = form.cleaned_data["file"].read()
        period = form.cleaned_data["month"]
        parsed = attendance_parse(data=data, period=period)
        extra: dict[str, Any] = {"form": form, "parsed": parsed, "period": period}
        if parsed.is_valid:
            # The checked file travels to the confirmation signed, so that
            # what is imported is exactly what was previewed.
            extra["payload"] = signing.dumps(
                {"data": data.decode("utf-8-sig"), "period": period.isoformat()},
                salt=IMPORT_SALT,
                compress=True,
            )
        self.preview = True
        return self.render(**extra)

    def confirm(self) -> HttpResponse:
        try:
            payload = signing.loads(
                self.request.POST["payload"], salt=IMPORT_SALT, max_age=3600
            )
        except (signing.BadSignature, KeyError):
            self.tell(
                _("The preview has expired: send the file again."), messages.ERROR
            )
            return redirect("admin:factures_attendance_import")
        parsed = attendance_parse(
            data=payload["data"].encode("utf-8"),
            period=datetime.date.fromisoformat(payload["period"]),
        )
        if not parsed.is_valid:
            self.tell(
                _("The file no longer passes the checks: nothing was imported."),
                messages.ERROR,
            )
            return redirect("admin:factures_attendance_import")
        try:
            count = attendance_import(parsed=parsed)
        except ValueError as error:
            self.tell(str(error), messages.ERROR)
            return redirect("admin:factures_attendance_import")
        self.tell(_("%(count)s attendance record(s) imported.") % {"count": count})
        return redirect("admin:factures_attendance_changelist")


class InvoicingView(StaffView):
    """Ask for a month's invoicing or its paper batch (the worker does
    both); follow their progress and read their summaries."""

    model = Invoice
    permission = "factures.view_invoice"
    title = gettext_lazy("Monthly invoicing")
    template_name = "admin/factures/invoicing.html"

    def can_run(self) -> bool:
        return self.request.user.has_perm("factures.add_invoice")

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.page(MonthForm())

    def post(self, request: HttpRequest) -> HttpResponse:
        form = MonthForm(request.POST or None)
        if not form.is_valid():
            return self.page(form)
        period = form.cleaned_data["month"]
        if "print" in request.POST:
            self.paper_batch_ask(period)
        elif self.can_run():
            self.run_ask(period)
        else:
            return HttpResponse(status=403)
        return redirect("admin:factures_invoice_run")

    def page(self, form: MonthForm) -> HttpResponse:
        runs = list(InvoicingRun.objects.select_related("requested_by")[:10])
        batches = list(PaperBatch.objects.select_related("requested_by")[:10])
        return self.render(
            form=form,
            can_run=self.can_run(),
            runs=runs,
            batches=batches,
            following=any(
                run.status in InvoicingRun.ON_ITS_WAY and not run.lost for run in runs
            )
            or any(
                batch.status in PaperBatch.ON_ITS_WAY and not batch.lost
                for batch in batches
            ),
        )

    def run_ask(self, period: datetime.date) -> None:
        try:
            run, new = invoicing_run_request(
                period=period, requested_by=acting_user(self.request)
            )
        except ValidationError as error:
            self.tell(" ".join(error.messages), messages.ERROR)
            return
        month = month_label(period)
        if new:
            self.tell(
                _(
                    "The invoicing of %(month)s has started: its progress and "
                    "its summary show below."
                )
                % {"month": month}
            )
        else:
            self.tell(
                _(
                    "The invoicing of %(month)s is already under way (asked at "
                    "%(time)s): follow it below."
                )
                % {
                    "month": month,
                    "time": formats.time_format(
                        timezone.localtime(run.requested_at), "H:i"
                    ),
                },
                messages.WARNING,
            )

    def paper_batch_ask(self, period: datetime.date) -> None:
        try:
            batch = paper_batch_request(
                period=period, requested_by=acting_user(self.request)
            )
        except ValidationError as error:
            self.tell(" ".join(error.messages), messages.WARNING)
            return
        self.tell(
            _(
                "The paper invoices of %(month)s are being printed: the file "
                "will appear below, ready to download."
            )
            % {"month": month_label(batch.period)}
        )


class InvoicingProgressView(StaffView):
    """The runs and batches under way, for the invoicing page's script."""

    model = Invoice
    permission = "factures.view_invoice"

    def get(self, request: HttpRequest) -> HttpResponse:
        runs = InvoicingRun.objects.order_by("-requested_at", "-pk")[:10]
        batches = PaperBatch.objects.order_by("-requested_at", "-pk")[:10]
        return JsonResponse(
            {
                "runs": [
                    {
                        "id": run.pk,
                        "status": run.status,
                        "done": run.families_done,
                        "total": run.families_total,
                    }
                    for run in runs
                ],
                "batches": [
                    {
                        "id": batch.pk,
                        "status": batch.status,
                        "done": batch.printed,
                        "total": batch.invoice_total,
                    }
                    for batch in batches
                ],
            }
        )


class InvoiceReadingView(StaffView):
    """A page that whoever may see the invoices in the admin may see: the
    admin's view permission, which the change permission implies."""

    model = Invoice
    permission = ("factures.view_invoice", "factures.change_invoice")


class PaperBatchDownloadView(InvoiceReadingView):
    """Download a file of a printed paper batch, `part` from 1 (the files
    are kept in the private storage, never served as static files)."""

    def get(self, request: HttpRequest, pk: int, part: int) -> HttpResponseBase:
        batch = get_object_or_404(PaperBatch, pk=pk, status=PaperBatch.Status.READY)
        if not 1 <= part <= len(batch.files):
            raise Http404
        return FileResponse(
            default_storage.open(batch.files[part - 1]["name"], "rb"),
            as_attachment=True,
            filename=batch.volumes[part - 1].filename,
        )


class InvoicePdfView(InvoiceReadingView):
    """An invoice's PDF, as the family gets it."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        invoice = get_object_or_404(Invoice.objects.with_balance(), pk=pk)
        response = HttpResponse(invoice_pdf(invoice), content_type="application/pdf")
        response["Content-Disposition"] = (
            f'inline; filename="facture-{invoice.number}.pdf"'
        )
        return response


class CreditNoteView(StaffView):
    """Issue a credit note on an invoice: some lines, or the cancellation
    of what is left of it."""

    model = Invoice
    permission = "factures.add_creditnote"
    template_name = "admin/factures/credit_note_form.html"
    invoice: Invoice

    def get_title(self) -> str:
        return _("Credit note on invoice %(number)s") % {"number": self.invoice.number}

    def crumbs(self) -> list[tuple[str, str]]:
        return [
            *super().crumbs(),
            (
                self.invoice.number,
                reverse("admin:factures_invoice_change", args=[self.invoice.pk]),
            ),
        ]

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        self.invoice = get_object_or_404(Invoice.objects.with_balance(), pk=pk)
        return self.page(CreditNoteForm(), CreditLineFormSet(prefix="lines"))

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        self.invoice = invoice = get_object_or_404(
            Invoice.objects.with_balance(), pk=pk
        )
        form = CreditNoteForm(request.POST or None)
        formset = CreditLineFormSet(request.POST or None, prefix="lines")
        if form.is_valid():
            cancel = form.cleaned_data["cancel"]
            lines: list[CreditLine] = []
            if not cancel and formset.is_valid():
                lines = credit_lines(formset)
            if cancel or formset.is_valid():
                try:
                    note = credit_note_issue(
                        invoice=invoice,
                        lines=lines,
                        reason=form.cleaned_data["reason"],
                        agent=acting_user(request),
                        cancel=cancel,
                    )
                except ValidationError as error:
                    form.add_error(None, error)
                else:
                    self.tell(
                        _("Credit note %(number)s issued.") % {"number": note.number}
                    )
                    return redirect(
                        reverse("admin:factures_invoice_change", args=[invoice.pk])
                    )
        return self.page(form, formset)

    def page(self, form: CreditNoteForm, formset: BaseFormSet[Any]) -> HttpResponse:
        return self.render(invoice=self.invoice, form=form, formset=formset)
