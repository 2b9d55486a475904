"""The parents' side of reports (*signalements*)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from familles.access import acting_user, family_required
from familles.models import Family
from familles.services import request_key_or_new
from familles.views import proof_response
from portail.pages import page_of
from portail.params import parse_id
from signalements.forms import ReportForm, ReportReplyForm
from signalements.models import Report, ReportAttachment
from signalements.services import report_reply, report_submit


@family_required
def report_list(request: HttpRequest, *, family: Family) -> HttpResponse:
    reports = page_of(
        request,
        family.reports.select_related("invoice")
        .prefetch_related("updates")
        .order_by("-created_at", "-pk"),
    )
    for report in reports:
        answers = [update for update in report.updates.all() if update.message]
        report.last_answer = answers[-1] if answers else None
    return render(request, "signalements/report_list.html", {"reports": reports})


@family_required
def report_new(request: HttpRequest, *, family: Family) -> HttpResponse:
    initial = {}
    if invoice_id := parse_id(request.GET.get("facture")):
        # Opened from an invoice page; another family's invoice is not offered.
        invoice = family.invoices.filter(pk=invoice_id).first()
        initial = {"invoice": invoice, "kind": request.GET.get("type", "")}
    form = ReportForm(
        request.POST or None, request.FILES or None, family=family, initial=initial
    )
    key = request_key_or_new(request.POST.get("request_key"))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            receipt = report_submit(
                family=family,
                user=acting_user(request),
                kind=data["kind"],
                message=data["message"],
                request_key=key,
                invoice=data["invoice"],
                child=data["child"],
                date_from=data["date_from"],
                date_to=data["date_to"],
                attachments=data["attachments"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            text = _("Your report is recorded under the reference %(reference)s.") % {
                "reference": receipt.report.reference
            }
            if not receipt.created:
                text = _("This report was already sent: reference %(reference)s.") % {
                    "reference": receipt.report.reference
                }
            messages.success(request, text)
            if receipt.reconciled is not None:
                if receipt.reconciled:
                    messages.success(
                        request,
                        _(
                            "Good news: we found your card payment and recorded it. "
                            "Your invoices are up to date."
                        ),
                    )
                else:
                    messages.info(
                        request,
                        _(
                            "We found no card payment waiting to be recorded. The "
                            "canteen service will check your payment and answer you."
                        ),
                    )
            return redirect("signalements:report_detail", pk=receipt.report.pk)
    return render(
        request, "signalements/report_form.html", {"form": form, "request_key": key}
    )


@family_required
def report_detail(request: HttpRequest, pk: int, *, family: Family) -> HttpResponse:
    """The report and its thread; the family answers the service there."""
    report = get_object_or_404(
        Report.objects.select_related("invoice", "child", "dispute"),
        pk=pk,
        family=family,
    )
    form = ReportReplyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            report_reply(
                report=report,
                user=acting_user(request),
                message=form.cleaned_data["message"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Your answer is sent to the canteen service."))
            return redirect("signalements:report_detail", pk=report.pk)
    return render(
        request,
        "signalements/report_detail.html",
        {
            "report": report,
            "updates": report.updates.select_related("author"),
            "attachments": report.attachments.all(),
            "form": form,
        },
    )


@family_required
def report_attachment(
    request: HttpRequest, pk: int, *, family: Family
) -> HttpResponseBase:
    attachment = get_object_or_404(ReportAttachment, pk=pk, report__family=family)
    return proof_response(attachment)
