import datetime
from decimal import Decimal
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from factures.admin import csv_response
from factures.models import Invoice
from factures.money import ZERO, csv_amount, format_euros, round_money
from familles.access import acting_user
from familles.models import Family
from familles.search import DESK_CHOICES, FamilySearchMixin, family_find
from paiements.accounts import family_account, family_statement
from paiements.credit import (
    credit_allocate,
    credit_allocation_proposal,
    payment_credits,
    refund_record,
)
from paiements.forms import (
    CreditAllocationForm,
    DeskPaymentForm,
    FamilyLookupForm,
    ReasonForm,
    RefundForm,
)
from paiements.models import (
    Allocation,
    CheckoutSession,
    Payment,
    PaymentOverride,
    Refund,
    WebhookEvent,
)
from paiements.receipts import receipt_pdf, refund_receipt_pdf
from paiements.rules import blocked_families, family_block_state, family_unpaid
from paiements.services import (
    new_idempotency_key,
    payment_override_clear,
    payment_override_set,
    payment_record_desk,
    payment_reverse,
    payments_reconcile,
)
from paiements.statements import statement_pdf, statement_period
from portail.admin_tools import (
    FIRST_DAY,
    LAST_DAY,
    HistoryAdmin,
    NoAddMixin,
    NoChangeMixin,
    NoDeleteMixin,
    ReadOnlyMixin,
    SafeDateHierarchyMixin,
    SafeInitialMixin,
)


class AllocationInline(NoAddMixin, NoChangeMixin, admin.TabularInline):
    model = Allocation
    fields = ["invoice", "amount", "created_at", "recorded_by", "note"]
    readonly_fields = fields  # type: ignore[assignment]  # the same names
    extra = 0
    can_delete = False


class UnallocatedFilter(admin.SimpleListFilter):
    title = gettext_lazy("overpayment")
    parameter_name = "excedent"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("oui", gettext_lazy("with money not allocated (refund or credit)"))]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[Payment]
    ) -> QuerySet[Payment]:
        if self.value() == "oui":
            return queryset.holding_credit()  # type: ignore[attr-defined, no-any-return]
        return queryset


class AnomalyFilter(admin.SimpleListFilter):
    title = gettext_lazy("anomaly")
    parameter_name = "anomalie"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [
            ("a-verifier", gettext_lazy("to check")),
            ("verifiee", gettext_lazy("checked")),
        ]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[Payment]
    ) -> QuerySet[Payment]:
        anomalies = queryset.exclude(anomaly="")
        if self.value() == "a-verifier":
            return anomalies.filter(anomaly_checked_at__isnull=True)
        if self.value() == "verifiee":
            return anomalies.filter(anomaly_checked_at__isnull=False)
        return queryset


@admin.register(Payment)
class PaymentAdmin(
    FamilySearchMixin, SafeDateHierarchyMixin, ReadOnlyMixin, HistoryAdmin
):
    # Recorded through the desk page, which allocates the money; never
    # edited nor deleted: a reversal corrects a mistake.
    list_display = [
        "number",
        "received_at",
        "family",
        "method",
        "amount",
        "left_display",
        "recorded_by",
    ]
    list_filter = [
        AnomalyFilter,
        UnallocatedFilter,
        "method",
        ("received_at", admin.DateFieldListFilter),
    ]
    list_select_related = ["family", "recorded_by"]
    search_fields = ["number", "reference"]
    date_hierarchy = "received_at"
    inlines = [AllocationInline]
    actions = ["anomaly_checked"]
    readonly_fields = [
        "number",
        "family",
        "method",
        "amount",
        "received_at",
        "recorded_by",
        "reference",
        "checkout",
        "reverses",
        "note",
        "anomaly",
        "anomaly_checked_at",
        "anomaly_checked_by",
        "left_display",
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Payment]:
        return super().get_queryset(request).with_left()  # type: ignore[attr-defined, no-any-return]

    @admin.display(description=gettext_lazy("credit held"), ordering="left")
    def left_display(self, obj: Payment) -> str:
        # SQLite computes the difference in floating point (-1.4e-14 for
        # nothing left): rounded to the cent, as every amount shown.
        return format_euros(round_money(Decimal(str(obj.left))))

    def has_record_permission(self, request: HttpRequest) -> bool:
        """Agents who take money at the desk check anomalies (adding a
        payment is otherwise closed in the admin: the desk page does it)."""
        return request.user.has_perm("paiements.add_payment")

    @admin.action(
        description=gettext_lazy("Mark the anomaly as checked"), permissions=["record"]
    )
    def anomaly_checked(
        self, request: HttpRequest, queryset: QuerySet[Payment]
    ) -> None:
        count = (
            queryset.exclude(anomaly="")
            .filter(anomaly_checked_at__isnull=True)
            .update(
                anomaly_checked_at=timezone.now(),
                anomaly_checked_by=acting_user(request),
            )
        )
        self.message_user(
            request,
            _("%(count)s anomaly(ies) marked as checked.") % {"count": count},
            messages.SUCCESS,
        )

    def journal_view(self, request: HttpRequest) -> HttpResponse:
        """The day's desk payments (local date) by agent and method, with
        totals; CSV on demand."""
        if not self.has_view_permission(request):
            return HttpResponse(status=403)
        try:
            day = datetime.date.fromisoformat(request.GET.get("jour", ""))
        except ValueError:
            day = timezone.localdate()
        if not FIRST_DAY <= day <= LAST_DAY:  # a day no payment can have
            day = timezone.localdate()
        start = timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
        payments = list(
            Payment.objects.filter(
                received_at__gte=start,
                received_at__lt=start + datetime.timedelta(days=1),
            )
            .exclude(method=Payment.Method.CARD_ONLINE)
            .select_related("family", "recorded_by")
            .order_by("recorded_by__username", "method", "received_at")
        )
        totals: dict[tuple[str, str], Decimal] = {}
        for payment in payments:
            agent = payment.recorded_by.username if payment.recorded_by else "—"
            key = (agent, payment.get_method_display())
            totals[key] = totals.get(key, ZERO) + payment.amount
        grand_total = sum((p.amount for p in payments), ZERO)
        if request.GET.get("format") == "csv":
            rows = [
                [
                    timezone.localtime(p.received_at).strftime("%H:%M"),
                    p.number,
                    p.family.identifier,
                    p.recorded_by.username if p.recorded_by else "",
                    p.get_method_display(),
                    p.reference,
                    csv_amount(p.amount),
                ]
                for p in payments
            ]
            header = [
                _("time"),
                _("receipt"),
                _("family"),
                _("agent"),
                _("method"),
                _("reference"),
                _("amount"),
            ]
            return csv_response(f"journal-caisse-{day:%Y-%m-%d}", header, rows)
        return TemplateResponse(
            request,
            "admin/paiements/cash_journal.html",
            self._context(
                request,
                _("Cash journal of %(day)s") % {"day": formats.date_format(day)},
                day=day,
                payments=payments,
                totals=sorted(totals.items()),
                grand_total=grand_total,
                previous=day - datetime.timedelta(days=1),
                next=day + datetime.timedelta(days=1),
            ),
        )

    def blocked_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            return HttpResponse(status=403)
        return TemplateResponse(
            request,
            "admin/paiements/blocked_families.html",
            self._context(
                request, _("Families blocked online"), rows=blocked_families()
            ),
        )

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view
        return [
            path("journal/", view(self.journal_view), name="paiements_payment_journal"),
            path(
                "bloquees/", view(self.blocked_view), name="paiements_payment_blocked"
            ),
            path("guichet/", view(self.desk_view), name="paiements_payment_desk"),
            path(
                "compte/<id:family_pk>/",
                view(self.account_view),
                name="paiements_payment_account",
            ),
            path(
                "compte/<id:family_pk>/releve.pdf",
                view(self.statement_pdf_view),
                name="paiements_payment_statement_pdf",
            ),
            path(
                "<id:pk>/rembourser/",
                view(self.refund_view),
                name="paiements_payment_refund",
            ),
            path(
                "<id:pk>/recu/",
                view(self.receipt_view),
                name="paiements_payment_receipt",
            ),
            path(
                "<id:pk>/annuler/",
                view(self.reverse_view),
                name="paiements_payment_reverse",
            ),
            *super().get_urls(),
        ]

    def _context(
        self, request: HttpRequest, title: str, **extra: Any
    ) -> dict[str, Any]:
        return {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": title,
            **extra,
        }

    def desk_view(self, request: HttpRequest) -> HttpResponse:
        """Record cash, card-at-desk or cheque money for a family."""
        if not request.user.has_perm("paiements.add_payment"):
            return HttpResponse(status=403)
        lookup = FamilyLookupForm(request.GET or None)
        family, choices, more_choices = None, [], False
        if lookup.is_valid():
            found = family_find(lookup.cleaned_data["q"])
            if not found:
                lookup.add_error(
                    "q",
                    _("No family matches “%(text)s”.")
                    % {"text": lookup.cleaned_data["q"]},
                )
            elif len(found) == 1:
                family = found[0]
            else:
                choices, more_choices = found[:DESK_CHOICES], len(found) > DESK_CHOICES
        context = self._context(
            request,
            _("Desk payment"),
            lookup=lookup,
            family=family,
            choices=choices,
            more_choices=more_choices,
        )
        if family is None:
            return TemplateResponse(
                request, "admin/paiements/desk_payment.html", context
            )
        invoices = list(
            Invoice.objects.with_balance()  # type: ignore[misc]  # an annotation
            .filter(family=family, due__gt=0)
            .order_by("period", "pk")
        )
        form = DeskPaymentForm(request.POST or None, invoices=invoices)
        if request.method == "POST" and form.is_valid():
            try:
                payment = payment_record_desk(
                    family=family,
                    method=form.cleaned_data["method"],
                    amount=form.cleaned_data["amount"],
                    allocations=form.allocations(),
                    agent=acting_user(request),
                    reference=form.cleaned_data["reference"],
                    keep_as_credit=form.credit_reason_given(),
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                self.message_user(
                    request,
                    _(
                        "Payment %(number)s recorded: %(allocated)s allocated, "
                        "%(credit)s kept as credit."
                    )
                    % {
                        "number": payment.number,
                        "allocated": format_euros(payment.allocated),
                        "credit": format_euros(payment.unallocated),
                    },
                    messages.SUCCESS,
                )
                return redirect(
                    reverse("admin:paiements_payment_change", args=[payment.pk])
                )
        context.update(
            form=form,
            payment_block=family_block_state(family=family),
            account=family_account(family),
        )
        return TemplateResponse(request, "admin/paiements/desk_payment.html", context)

    def account_view(self, request: HttpRequest, family_pk: int) -> HttpResponse:
        """A family's account for the agents: what it owes, its credit and
        where it is held, allocating it to invoices, refunding it, and the
        statement of the last twelve months."""
        if not self.has_view_permission(request):
            return HttpResponse(status=403)
        family = get_object_or_404(Family, pk=family_pk)
        can_allocate = request.user.has_perm("paiements.add_payment")
        account = family_account(family)
        unpaid = family_unpaid(family=family)
        form = CreditAllocationForm(
            request.POST or None,
            invoices=unpaid,
            proposal=credit_allocation_proposal(credit=account.credit, invoices=unpaid),
        )
        if request.method == "POST":
            if not can_allocate:
                return HttpResponse(status=403)
            if form.is_valid():
                try:
                    created = credit_allocate(
                        family=family,
                        allocations=form.allocations(),
                        agent=acting_user(request),
                    )
                except ValidationError as error:
                    form.add_error(None, error)
                else:
                    self.message_user(
                        request,
                        _("%(amount)s of credit allocated.")
                        % {
                            "amount": format_euros(
                                sum((row.amount for row in created), ZERO)
                            )
                        },
                        messages.SUCCESS,
                    )
                    return redirect(request.path)
        start, end = statement_period(request)
        return TemplateResponse(
            request,
            "admin/paiements/family_account.html",
            self._context(
                request,
                _("Account of %(family)s") % {"family": family},
                family=family,
                account=account,
                payment_block=family_block_state(family=family, unpaid=unpaid),
                credits=payment_credits(family),
                form=form if account.credit > 0 and unpaid and can_allocate else None,
                refunds=family.refunds.select_related("payment", "recorded_by")[:20],
                statement=family_statement(family, start=start, end=end),
            ),
        )

    def statement_pdf_view(self, request: HttpRequest, family_pk: int) -> HttpResponse:
        if not self.has_view_permission(request):
            return HttpResponse(status=403)
        family = get_object_or_404(Family, pk=family_pk)
        start, end = statement_period(request)
        response = HttpResponse(
            statement_pdf(family_statement(family, start=start, end=end)),
            content_type="application/pdf",
        )
        response["Content-Disposition"] = (
            f'inline; filename="releve-{family.identifier}-{start:%Y-%m-%d}.pdf"'
        )
        return response

    def refund_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Give back part of the credit a payment holds."""
        if not request.user.has_perm("paiements.add_refund"):
            return HttpResponse(status=403)
        payment = get_object_or_404(Payment.objects.select_related("family"), pk=pk)
        card = payment.method == Payment.Method.CARD_ONLINE and bool(
            payment.checkout_id
        )
        left = payment.unallocated if payment.amount > 0 else ZERO
        form = RefundForm(
            request.POST or None,
            card=card,
            initial={"amount": left, "key": new_idempotency_key()},
        )
        if request.method == "POST" and form.is_valid():
            try:
                refund = refund_record(
                    payment=payment,
                    amount=form.cleaned_data["amount"],
                    method=form.cleaned_data["method"],
                    reason=form.cleaned_data["reason"],
                    reference=form.cleaned_data["reference"],
                    agent=acting_user(request),
                    idempotency_key=form.cleaned_data["key"],
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                self.message_user(
                    request, _refund_message(refund), _refund_level(refund)
                )
                return redirect(
                    reverse("admin:paiements_payment_account", args=[payment.family_id])
                )
        return TemplateResponse(
            request,
            "admin/paiements/refund_form.html",
            self._context(
                request,
                _("Refund from payment %(number)s") % {"number": payment.number},
                form=form,
                payment=payment,
                left=left,
            ),
        )

    def receipt_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if not self.has_view_permission(request):
            return HttpResponse(status=403)
        payment = get_object_or_404(Payment, pk=pk)
        response = HttpResponse(receipt_pdf(payment), content_type="application/pdf")
        response["Content-Disposition"] = (
            f'inline; filename="recu-{payment.number}.pdf"'
        )
        return response

    def reverse_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if not request.user.has_perm("paiements.add_payment"):
            return HttpResponse(status=403)
        payment = get_object_or_404(Payment, pk=pk)
        form = ReasonForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                reversal = payment_reverse(
                    payment=payment,
                    reason=form.cleaned_data["reason"],
                    agent=acting_user(request),
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                self.message_user(
                    request,
                    _("Payment %(number)s reversed by %(reversal)s.")
                    % {"number": payment.number, "reversal": reversal.number},
                    messages.SUCCESS,
                )
                return redirect(
                    reverse("admin:paiements_payment_change", args=[reversal.pk])
                )
        return TemplateResponse(
            request,
            "admin/paiements/reason_form.html",
            self._context(
                request,
                _("Reverse payment %(number)s") % {"number": payment.number},
                form=form,
                object=payment,
            ),
        )


@admin.register(PaymentOverride)
class PaymentOverrideAdmin(
    FamilySearchMixin,
    SafeInitialMixin,
    NoChangeMixin,
    NoDeleteMixin,
    admin.ModelAdmin[PaymentOverride],
):
    list_display = [
        "family",
        "state",
        "reason",
        "created_at",
        "created_by",
        "cleared_at",
    ]
    list_filter = ["state", ("cleared_at", admin.EmptyFieldListFilter)]
    list_select_related = ["family", "created_by"]
    search_fields = ["reason"]
    autocomplete_fields = ["family"]
    fields = ["family", "state", "reason"]
    actions = ["clear"]

    def save_model(
        self, request: HttpRequest, obj: PaymentOverride, form: Any, change: bool
    ) -> None:
        created = payment_override_set(
            family=obj.family,
            state=obj.state,
            reason=obj.reason,
            agent=acting_user(request),
        )
        obj.pk = created.pk

    @admin.action(
        description=gettext_lazy("Clear: back to the automatic rule"),
        permissions=["add"],
    )
    def clear(self, request: HttpRequest, queryset: QuerySet[PaymentOverride]) -> None:
        for override in queryset.filter(cleared_at__isnull=True).select_related(
            "family"
        ):
            payment_override_clear(family=override.family, agent=acting_user(request))
        self.message_user(request, _("Manual states cleared."), messages.SUCCESS)


@admin.register(CheckoutSession)
class CheckoutSessionAdmin(ReadOnlyMixin, admin.ModelAdmin[CheckoutSession]):
    list_display = [
        "stripe_id",
        "family",
        "amount",
        "status",
        "created_at",
        "closed_at",
    ]
    list_filter = ["status"]
    list_select_related = ["family"]
    search_fields = ["stripe_id", "family__identifier"]
    actions = ["reconcile"]

    @admin.action(
        description=gettext_lazy("Ask Stripe now (reconcile)"), permissions=["view"]
    )
    def reconcile(
        self, request: HttpRequest, queryset: QuerySet[CheckoutSession]
    ) -> None:
        families = Family.objects.filter(pk__in=queryset.values("family_id"))
        recorded = 0
        for family in families:
            result = payments_reconcile(family=family, older_than=datetime.timedelta(0))
            recorded += len(result.recorded)
        self.message_user(
            request,
            _("%(count)s payment(s) recorded.") % {"count": recorded},
            messages.INFO,
        )


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyMixin, admin.ModelAdmin[WebhookEvent]):
    list_display = ["stripe_id", "type", "received_at", "outcome"]
    list_filter = ["type"]
    search_fields = ["stripe_id", "outcome"]


def _refund_message(refund: Refund) -> str:
    values = {"number": refund.number, "amount": format_euros(refund.amount)}
    if refund.status == Refund.Status.FAILED:
        return (
            _(
                "Refund %(number)s of %(amount)s was refused by the payment provider: "
                "the money stays in the family's credit."
            )
            % values
        )
    if refund.status == Refund.Status.PENDING:
        return (
            _(
                "Refund %(number)s of %(amount)s is asked of the payment provider: "
                "it will be confirmed here."
            )
            % values
        )
    return _("Refund %(number)s of %(amount)s recorded.") % values


def _refund_level(refund: Refund) -> int:
    if refund.status == Refund.Status.FAILED:
        return messages.ERROR
    if refund.status == Refund.Status.PENDING:
        return messages.WARNING
    return messages.SUCCESS


@admin.register(Refund)
class RefundAdmin(FamilySearchMixin, ReadOnlyMixin, HistoryAdmin):
    """Refunds are recorded from a payment's credit (the family's account
    page); never edited nor deleted."""

    list_display = [
        "number",
        "created_at",
        "family",
        "payment",
        "method",
        "amount",
        "status",
        "recorded_by",
    ]
    list_filter = ["status", "method"]
    list_select_related = ["family", "payment", "recorded_by"]
    search_fields = ["number", "payment__number"]
    readonly_fields = [
        "number",
        "family",
        "payment",
        "method",
        "amount",
        "reason",
        "reference",
        "created_at",
        "recorded_by",
        "status",
        "provider_id",
        "failure",
    ]
    fields = readonly_fields

    def get_urls(self) -> list[Any]:
        return [
            path(
                "<id:pk>/recu/",
                self.admin_site.admin_view(self.receipt_view),
                name="paiements_refund_receipt",
            ),
            *super().get_urls(),
        ]

    def receipt_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if not self.has_view_permission(request):
            return HttpResponse(status=403)
        refund = get_object_or_404(Refund, pk=pk)
        response = HttpResponse(
            refund_receipt_pdf(refund), content_type="application/pdf"
        )
        response["Content-Disposition"] = (
            f'inline; filename="remboursement-{refund.number}.pdf"'
        )
        return response
