import csv
import datetime
from typing import Any

from django.contrib import admin, messages
from django.core import signing
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from factures.aging import AGE_BRACKETS, UNPAID, bracket_key, issued_aged
from factures.attendance_import import attendance_import, attendance_parse
from factures.forms import (
    AttendanceImportForm,
    CreditLineFormSet,
    CreditNoteForm,
    MonthForm,
    credit_lines,
)
from factures.models import (
    Activity,
    Attendance,
    BracketAssignment,
    CreditNote,
    CreditNoteLine,
    Invoice,
    InvoiceDispute,
    InvoiceLine,
    InvoicingRun,
    PaperBatch,
    Price,
    TariffBracket,
)
from factures.money import csv_amount
from factures.pdf import invoice_pdf
from factures.periods import month_label
from factures.printing import paper_batch_request
from factures.runs import invoicing_run_request
from factures.services import (
    CreditLine,
    credit_note_issue,
    invoice_dispute_close,
    invoice_dispute_open,
)
from familles.access import acting_user
from familles.admin import FamilyAdmin
from familles.search import FamilySearchMixin
from portail.admin_tools import (
    HistoryAdmin,
    NoAddMixin,
    NoChangeMixin,
    NoDeleteMixin,
    ReadOnlyMixin,
    SafeDateHierarchyMixin,
    SafeInitialMixin,
)
from portail.params import parse_int

IMPORT_SALT = "factures.attendance-import"


def csv_response(name: str, header: list[str], rows: list[list[str]]) -> HttpResponse:
    """A CSV file that spreadsheets open in French: UTF-8 with BOM, `;`."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="{name}-{timezone.localdate():%Y-%m-%d}.csv"'
    )
    response.write("\ufeff")
    writer = csv.writer(response, delimiter=";")
    writer.writerow(header)
    writer.writerows(rows)
    return response


class ReadOnlyInline(NoAddMixin, NoChangeMixin, admin.TabularInline):
    extra = 0
    can_delete = False


@admin.register(Activity)
class ActivityAdmin(admin.ModelAdmin[Activity]):
    list_display = ["code", "label"]
    search_fields = ["code", "label"]


class PriceInline(admin.TabularInline):
    model = Price
    extra = 0
    autocomplete_fields = ["activity"]


@admin.register(TariffBracket)
class TariffBracketAdmin(admin.ModelAdmin[TariffBracket]):
    list_display = ["code", "label", "qf_min", "qf_max"]
    search_fields = ["code", "label"]
    inlines = [PriceInline]


class BracketAssignmentInline(NoChangeMixin, admin.TabularInline):
    """On the family page: its bracket history (new rows for changes)."""

    model = BracketAssignment
    fields = ["bracket", "valid_from", "created_by", "created_at"]
    readonly_fields = ["created_by", "created_at"]
    extra = 0
    can_delete = False


# The family page shows its bracket history, after the children.
FamilyAdmin.inlines = [
    *FamilyAdmin.inlines[:2],
    BracketAssignmentInline,
    *FamilyAdmin.inlines[2:],
]


@admin.register(Attendance)
class AttendanceAdmin(
    SafeInitialMixin, SafeDateHierarchyMixin, admin.ModelAdmin[Attendance]
):
    list_display = ["date", "child", "family_identifier", "activity", "billed"]
    list_filter = ["activity", ("date", admin.DateFieldListFilter)]
    list_select_related = ["child__family", "activity", "invoice_line__invoice"]
    # Children by family identifier within a day, as before their model's
    # ordering went by the family's id.
    ordering = [
        "-date",
        "child__family__identifier",
        "child__birth_date",
        "child__first_name",
    ]
    search_fields = [
        "child__first_name",
        "child__last_name",
        "child__family__identifier",
    ]
    autocomplete_fields = ["child"]
    date_hierarchy = "date"

    def get_urls(self) -> list[Any]:
        return [
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="factures_attendance_import",
            ),
            *super().get_urls(),
        ]

    @admin.display(
        description=gettext_lazy("family"), ordering="child__family__identifier"
    )
    def family_identifier(self, obj: Attendance) -> str:
        return obj.child.family.identifier

    @admin.display(description=gettext_lazy("invoiced"), boolean=True)
    def billed(self, obj: Attendance) -> bool:
        return obj.invoice_line_id is not None

    def has_change_permission(
        self, request: HttpRequest, obj: Attendance | None = None
    ) -> bool:
        # A billed day is history: correct it with a credit note.
        if obj is not None and obj.invoice_line_id is not None:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(
        self, request: HttpRequest, obj: Attendance | None = None
    ) -> bool:
        if obj is not None and obj.invoice_line_id is not None:
            return False
        return super().has_delete_permission(request, obj)

    def import_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_add_permission(request):
            return HttpResponse(status=403)
        context = {**self.admin_site.each_context(request), "opts": self.model._meta}
        if request.method == "POST" and "confirm" in request.POST:
            try:
                payload = signing.loads(
                    request.POST["payload"], salt=IMPORT_SALT, max_age=3600
                )
            except (signing.BadSignature, KeyError):
                self.message_user(
                    request,
                    _("The preview has expired: send the file again."),
                    messages.ERROR,
                )
                return redirect("admin:factures_attendance_import")
            parsed = attendance_parse(
                data=payload["data"].encode("utf-8"),
                period=datetime.date.fromisoformat(payload["period"]),
            )
            if not parsed.is_valid:
                self.message_user(
                    request,
                    _("The file no longer passes the checks: nothing was imported."),
                    messages.ERROR,
                )
                return redirect("admin:factures_attendance_import")
            try:
                count = attendance_import(parsed=parsed)
            except ValueError as error:
                self.message_user(request, str(error), messages.ERROR)
                return redirect("admin:factures_attendance_import")
            self.message_user(
                request,
                _("%(count)s attendance record(s) imported.") % {"count": count},
                messages.SUCCESS,
            )
            return redirect("admin:factures_attendance_changelist")
        form = AttendanceImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data["file"].read()
            period = form.cleaned_data["month"]
            parsed = attendance_parse(data=data, period=period)
            context.update({"form": form, "parsed": parsed, "period": period})
            if parsed.is_valid:
                # The checked file travels to the confirmation signed, so
                # that what is imported is exactly what was previewed.
                context["payload"] = signing.dumps(
                    {"data": data.decode("utf-8-sig"), "period": period.isoformat()},
                    salt=IMPORT_SALT,
                    compress=True,
                )
            context["title"] = _("Attendance import: preview")
            return TemplateResponse(
                request, "admin/factures/attendance_import.html", context
            )
        context.update({"form": form, "title": _("Import attendance from a CSV file")})
        return TemplateResponse(
            request, "admin/factures/attendance_import.html", context
        )


class InvoiceLineInline(ReadOnlyInline):
    model = InvoiceLine
    fields = [
        "child_name",
        "label",
        "bracket_label",
        "quantity",
        "unit_price",
        "amount",
    ]
    readonly_fields = fields  # type: ignore[assignment]  # the same names


class CreditNoteInline(ReadOnlyInline):
    model = CreditNote
    fields = ["number", "issued_at", "reason", "is_cancellation", "total", "issued_by"]
    readonly_fields = fields  # type: ignore[assignment]  # the same names
    show_change_link = True


class InvoiceStateFilter(admin.SimpleListFilter):
    title = gettext_lazy("status")
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [
            (UNPAID, gettext_lazy("unpaid (to pay or partly paid)")),
            *Invoice.Status.choices,
        ]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[Invoice]
    ) -> QuerySet[Invoice]:
        if self.value() == UNPAID:
            return queryset.filter(state__in=Invoice.UNPAID_STATES)  # type: ignore[misc]  # an annotation
        if self.value() in Invoice.Status.values:
            return queryset.filter(state=self.value())  # type: ignore[misc]  # an annotation
        return queryset


class DueFilter(admin.SimpleListFilter):
    title = gettext_lazy("amount due")
    parameter_name = "reste"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [
            ("0-20", gettext_lazy("up to 20 €")),
            ("20-50", gettext_lazy("20 to 50 €")),
            ("50-", gettext_lazy("over 50 €")),
        ]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[Invoice]
    ) -> QuerySet[Invoice]:
        low, _sep, high = (self.value() or "").partition("-")
        if (above := parse_int(low, digits=9)) is not None:
            queryset = queryset.filter(due__gt=above)  # type: ignore[misc]  # an annotation
        if (at_most := parse_int(high, digits=9)) is not None:
            queryset = queryset.filter(due__lte=at_most)  # type: ignore[misc]  # an annotation
        return queryset


class AgeFilter(admin.SimpleListFilter):
    title = gettext_lazy("age")
    parameter_name = "age"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [(bracket_key(low, high), label) for low, high, label in AGE_BRACKETS]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[Invoice]
    ) -> QuerySet[Invoice]:
        """`low-high` days since it was issued (`91-`: over 90)."""
        low, _sep, high = (self.value() or "").partition("-")
        first = parse_int(low, digits=5)  # at most some centuries
        last = parse_int(high, digits=5) if high else None
        if first is None or (high and last is None):
            return queryset
        return queryset.filter(issued_aged(first, last, timezone.localdate()))


@admin.register(Invoice)
class InvoiceAdmin(
    FamilySearchMixin, SafeDateHierarchyMixin, ReadOnlyMixin, HistoryAdmin
):
    # Invoices come from the monthly run only, are never edited (corrections
    # are credit notes) nor deleted.
    list_display = [
        "number",
        "period_label",
        "family",
        "total",
        "amount_due_display",
        "status_label",
    ]
    actions = ["export_csv"]
    list_filter = [
        InvoiceStateFilter,
        DueFilter,
        AgeFilter,
        "paperless",
        ("period", admin.DateFieldListFilter),
    ]
    list_select_related = ["family"]
    search_fields = ["number", "family_name"]
    date_hierarchy = "period"
    inlines = [InvoiceLineInline, CreditNoteInline]
    readonly_fields = [
        "number",
        "family",
        "period",
        "issued_at",
        "issued_by",
        "total",
        "family_identifier",
        "family_name",
        "billing_address",
        "paperless",
        "replaces",
        "amount_due_display",
        "status_label",
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Invoice]:
        return super().get_queryset(request).with_balance()

    @admin.action(description=gettext_lazy("Export to CSV"), permissions=["view"])
    def export_csv(
        self, request: HttpRequest, queryset: QuerySet[Invoice]
    ) -> HttpResponse:
        rows = [
            [
                invoice.number,
                invoice.family_identifier,
                invoice.family_name,
                invoice.period.strftime("%Y-%m"),
                timezone.localdate(invoice.issued_at).isoformat(),
                csv_amount(invoice.total),
                csv_amount(invoice.due),
                str(invoice.status.label),
            ]
            for invoice in queryset.order_by("period", "number")
        ]
        header = [
            _("number"),
            _("family"),
            _("name"),
            _("month"),
            _("issued on"),
            _("total"),
            _("amount due"),
            _("status"),
        ]
        return csv_response("factures", header, rows)

    @admin.display(description=gettext_lazy("month"), ordering="period")
    def period_label(self, obj: Invoice) -> str:
        return formats.date_format(obj.period, "F Y")

    @admin.display(description=gettext_lazy("amount due"), ordering="due")
    def amount_due_display(self, obj: Invoice) -> Any:
        return obj.amount_due

    @admin.display(description=gettext_lazy("status"), ordering="state")
    def status_label(self, obj: Invoice) -> str:
        return str(obj.status.label)

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view
        return [
            path(
                "facturation/", view(self.invoicing_view), name="factures_invoice_run"
            ),
            path(
                "facturation/avancement/",
                view(self.progress_view),
                name="factures_invoice_run_progress",
            ),
            path(
                "impressions/<id:pk>/",
                view(self.paper_batch_view),
                name="factures_paperbatch_download",
            ),
            path("<id:pk>/pdf/", view(self.pdf_view), name="factures_invoice_pdf"),
            path(
                "<id:pk>/avoir/",
                view(self.credit_note_view),
                name="factures_invoice_credit",
            ),
            *super().get_urls(),
        ]

    def invoicing_view(self, request: HttpRequest) -> HttpResponse:
        """Ask for a month's invoicing or its paper batch (the worker does
        both); follow their progress and read their summaries."""
        if not request.user.has_perm("factures.view_invoice"):
            return HttpResponse(status=403)
        can_run = request.user.has_perm("factures.add_invoice")
        form = MonthForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            period = form.cleaned_data["month"]
            if "print" in request.POST:
                self._paper_batch_ask(request, period)
            elif can_run:
                self._run_ask(request, period)
            else:
                return HttpResponse(status=403)
            return redirect("admin:factures_invoice_run")
        runs = list(InvoicingRun.objects.select_related("requested_by")[:10])
        batches = list(PaperBatch.objects.select_related("requested_by")[:10])
        return TemplateResponse(
            request,
            "admin/factures/invoicing.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": _("Monthly invoicing"),
                "form": form,
                "can_run": can_run,
                "runs": runs,
                "batches": batches,
                "following": any(
                    run.status in InvoicingRun.ON_ITS_WAY and not run.lost
                    for run in runs
                )
                or any(
                    batch.status in PaperBatch.ON_ITS_WAY and not batch.lost
                    for batch in batches
                ),
            },
        )

    def _run_ask(self, request: HttpRequest, period: datetime.date) -> None:
        try:
            run, new = invoicing_run_request(
                period=period, requested_by=acting_user(request)
            )
        except ValidationError as error:
            self.message_user(request, " ".join(error.messages), messages.ERROR)
            return
        month = month_label(period)
        if new:
            self.message_user(
                request,
                _(
                    "The invoicing of %(month)s has started: its progress and "
                    "its summary show below."
                )
                % {"month": month},
                messages.SUCCESS,
            )
        else:
            self.message_user(
                request,
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

    def _paper_batch_ask(self, request: HttpRequest, period: datetime.date) -> None:
        try:
            batch = paper_batch_request(
                period=period, requested_by=acting_user(request)
            )
        except ValidationError as error:
            self.message_user(request, " ".join(error.messages), messages.WARNING)
            return
        self.message_user(
            request,
            _(
                "The paper invoices of %(month)s are being printed: the file "
                "will appear below, ready to download."
            )
            % {"month": month_label(batch.period)},
            messages.SUCCESS,
        )

    def progress_view(self, request: HttpRequest) -> HttpResponse:
        """The runs and batches under way, for the invoicing page's script."""
        if not request.user.has_perm("factures.view_invoice"):
            return HttpResponse(status=403)
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

    def paper_batch_view(self, request: HttpRequest, pk: int) -> HttpResponseBase:
        """Download a printed paper batch (the files are kept in the private
        storage, never served as static files)."""
        if not self.has_view_permission(request):
            return HttpResponse(status=403)
        batch = get_object_or_404(PaperBatch, pk=pk, status=PaperBatch.Status.READY)
        return FileResponse(
            batch.file.open("rb"), as_attachment=True, filename=batch.filename
        )

    def pdf_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if not self.has_view_permission(request):
            return HttpResponse(status=403)
        invoice = get_object_or_404(Invoice.objects.with_balance(), pk=pk)
        response = HttpResponse(invoice_pdf(invoice), content_type="application/pdf")
        response["Content-Disposition"] = (
            f'inline; filename="facture-{invoice.number}.pdf"'
        )
        return response

    def credit_note_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if not request.user.has_perm("factures.add_creditnote"):
            return HttpResponse(status=403)
        invoice = get_object_or_404(Invoice.objects.with_balance(), pk=pk)
        form = CreditNoteForm(request.POST or None)
        formset = CreditLineFormSet(request.POST or None, prefix="lines")
        if request.method == "POST" and form.is_valid():
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
                    self.message_user(
                        request,
                        _("Credit note %(number)s issued.") % {"number": note.number},
                        messages.SUCCESS,
                    )
                    return redirect(
                        reverse("admin:factures_invoice_change", args=[invoice.pk])
                    )
        return TemplateResponse(
            request,
            "admin/factures/credit_note_form.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": _("Credit note on invoice %(number)s")
                % {"number": invoice.number},
                "invoice": invoice,
                "form": form,
                "formset": formset,
            },
        )


class CreditNoteLineInline(ReadOnlyInline):
    model = CreditNoteLine
    fields = ["label", "quantity", "unit_price", "amount"]
    readonly_fields = fields  # type: ignore[assignment]  # the same names


@admin.register(CreditNote)
class CreditNoteAdmin(ReadOnlyMixin, HistoryAdmin):
    # Issued from the invoice's page, through the service; never changed.
    list_display = [
        "number",
        "invoice",
        "issued_at",
        "total",
        "is_cancellation",
        "issued_by",
    ]
    list_filter = ["is_cancellation"]
    list_select_related = ["invoice", "issued_by"]
    search_fields = ["number", "invoice__number", "invoice__family__identifier"]
    inlines = [CreditNoteLineInline]
    readonly_fields = [
        "number",
        "invoice",
        "issued_at",
        "issued_by",
        "reason",
        "is_cancellation",
        "total",
    ]


@admin.register(InvoiceDispute)
class InvoiceDisputeAdmin(
    SafeInitialMixin, NoChangeMixin, NoDeleteMixin, admin.ModelAdmin[InvoiceDispute]
):
    list_display = ["invoice", "opened_at", "reason", "closed_at"]
    list_filter = [("closed_at", admin.EmptyFieldListFilter)]
    list_select_related = ["invoice"]
    search_fields = ["invoice__number", "invoice__family__identifier", "reason"]
    autocomplete_fields = ["invoice"]
    fields = ["invoice", "reason"]
    actions = ["close"]

    def save_model(
        self, request: HttpRequest, obj: InvoiceDispute, form: Any, change: bool
    ) -> None:
        created = invoice_dispute_open(
            invoice=obj.invoice, reason=obj.reason, user=acting_user(request)
        )
        obj.pk = created.pk

    @admin.action(description=gettext_lazy("Close the dispute"), permissions=["add"])
    def close(self, request: HttpRequest, queryset: QuerySet[InvoiceDispute]) -> None:
        for dispute in queryset.filter(closed_at__isnull=True).select_related(
            "invoice"
        ):
            invoice_dispute_close(invoice=dispute.invoice, user=acting_user(request))
        self.message_user(request, _("Disputes closed."), messages.SUCCESS)
