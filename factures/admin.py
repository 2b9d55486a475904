import csv
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from factures.aging import AGE_BRACKETS, UNPAID, bracket_key, issued_aged
from factures.models import (
    Activity,
    Attendance,
    BracketAssignment,
    CreditNote,
    CreditNoteLine,
    Invoice,
    InvoiceDispute,
    InvoiceLine,
    Price,
    TariffBracket,
)
from factures.money import csv_amount
from factures.services import invoice_dispute_close, invoice_dispute_open
from factures.staff_views import (
    AttendanceImportView,
    CreditNoteView,
    InvoicePdfView,
    InvoicingProgressView,
    InvoicingView,
    PaperBatchDownloadView,
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
            AttendanceImportView.route(
                self.admin_site, "import/", "factures_attendance_import"
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
        # The open or the settled invoices first (the partial index
        # `invoice_open`), then the derived state tells them apart.
        if self.value() == UNPAID:
            return queryset.filter(is_open=True, state__in=Invoice.UNPAID_STATES)  # type: ignore[misc]  # an annotation
        if self.value() in Invoice.Status.values:
            is_open = self.value() in Invoice.OPEN_STATES
            return queryset.filter(is_open=is_open, state=self.value())  # type: ignore[misc]  # an annotation
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
            # Something due: an open invoice (the partial index first).
            queryset = queryset.filter(is_open=True, due__gt=above)  # type: ignore[misc]  # an annotation
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
        site = self.admin_site
        return [
            InvoicingView.route(site, "facturation/", "factures_invoice_run"),
            InvoicingProgressView.route(
                site, "facturation/avancement/", "factures_invoice_run_progress"
            ),
            PaperBatchDownloadView.route(
                site, "impressions/<id:pk>/<int:part>/", "factures_paperbatch_download"
            ),
            InvoicePdfView.route(site, "<id:pk>/pdf/", "factures_invoice_pdf"),
            CreditNoteView.route(site, "<id:pk>/avoir/", "factures_invoice_credit"),
            *super().get_urls(),
        ]


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
