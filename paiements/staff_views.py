"""The staff pages of the payments: the desk, the cash journal, the families
blocked online, a family's account and statement, a payment's refund,
reversal and receipt, a refund's receipt (wired in `paiements.admin`)."""

import datetime
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from factures.admin import csv_response
from factures.models import Invoice
from factures.money import ZERO, csv_amount, format_euros
from familles.access import acting_user
from familles.models import Family
from familles.search import DESK_CHOICES, family_find
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
from paiements.models import Payment, Refund
from paiements.receipts import receipt_pdf, refund_receipt_pdf
from paiements.rules import blocked_families, family_block_state, family_unpaid
from paiements.services import new_idempotency_key, payment_record_desk, payment_reverse
from paiements.statements import statement_pdf, statement_period
from portail.admin_tools import FIRST_DAY, LAST_DAY, StaffView


class JournalView(StaffView):
    """The day's desk payments (local date) by agent and method, with
    totals; CSV on demand."""

    model = Payment
    permission = ("paiements.view_payment", "paiements.change_payment")
    template_name = "admin/paiements/cash_journal.html"
    day: datetime.date

    def get_title(self) -> str:
        return _("Cash journal of %(day)s") % {"day": formats.date_format(self.day)}

    def get(self, request: HttpRequest) -> HttpResponse:
        try:
            day = datetime.date.fromisoformat(request.GET.get("jour", ""))
        except ValueError:
            day = timezone.localdate()
        if not FIRST_DAY <= day <= LAST_DAY:  # a day no payment can have
            day = timezone.localdate()
        self.day = day
        start = timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
        payments = list(
            Payment.objects.filter(
                received_at__gte=start,
                received_at__lt=start + datetime.timedelta(days=1),
            )
            .exclude(method__in=Payment.ONLINE_METHODS)
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
        return self.render(
            day=day,
            payments=payments,
            totals=sorted(totals.items()),
            grand_total=grand_total,
            previous=day - datetime.timedelta(days=1),
            next=day + datetime.timedelta(days=1),
        )


class BlockedView(StaffView):
    """The families that may not pay online, and why."""

    model = Payment
    permission = ("paiements.view_payment", "paiements.change_payment")
    title = gettext_lazy("Families blocked online")
    template_name = "admin/paiements/blocked_families.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.render(rows=blocked_families())


class DeskView(StaffView):
    """Record cash, card-at-desk or cheque money for a family."""

    model = Payment
    permission = "paiements.add_payment"
    title = gettext_lazy("Desk payment")
    template_name = "admin/paiements/desk_payment.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.desk(None)

    def post(self, request: HttpRequest) -> HttpResponse:
        return self.desk(request.POST or None)

    def desk(self, data: Any) -> HttpResponse:
        lookup = FamilyLookupForm(self.request.GET or None)
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
        page = {
            "lookup": lookup,
            "family": family,
            "choices": choices,
            "more_choices": more_choices,
        }
        if family is None:
            return self.render(**page)
        invoices = list(
            Invoice.objects.with_balance()  # type: ignore[misc]  # an annotation
            .filter(family=family, due__gt=0)
            .order_by("period", "pk")
        )
        form = DeskPaymentForm(data, invoices=invoices)
        if form.is_valid():
            try:
                payment = payment_record_desk(
                    family=family,
                    method=form.cleaned_data["method"],
                    amount=form.cleaned_data["amount"],
                    allocations=form.allocations(),
                    agent=acting_user(self.request),
                    reference=form.cleaned_data["reference"],
                    keep_as_credit=form.credit_reason_given(),
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                self.tell(
                    _(
                        "Payment %(number)s recorded: %(allocated)s allocated, "
                        "%(credit)s kept as credit."
                    )
                    % {
                        "number": payment.number,
                        "allocated": format_euros(payment.allocated),
                        "credit": format_euros(payment.unallocated),
                    }
                )
                return redirect(
                    reverse("admin:paiements_payment_change", args=[payment.pk])
                )
        return self.render(
            **page,
            form=form,
            payment_block=family_block_state(family=family),
            account=family_account(family),
        )


class AccountView(StaffView):
    """A family's account for the agents: what it owes, its credit and
    where it is held, allocating it to invoices (with the permission to
    record payments), refunding it, and the statement of the last twelve
    months."""

    model = Payment
    permission = ("paiements.view_payment", "paiements.change_payment")
    template_name = "admin/paiements/family_account.html"
    family: Family

    def get_title(self) -> str:
        return _("Account of %(family)s") % {"family": self.family}

    def crumbs(self) -> list[tuple[str, str]]:
        change = reverse("admin:familles_family_change", args=[self.family.pk])
        return [(str(self.family), change)]

    def can_allocate(self) -> bool:
        return self.request.user.has_perm("paiements.add_payment")

    def get(self, request: HttpRequest, family_pk: int) -> HttpResponse:
        self.family = get_object_or_404(Family, pk=family_pk)
        return self.account(None)

    def post(self, request: HttpRequest, family_pk: int) -> HttpResponse:
        self.family = get_object_or_404(Family, pk=family_pk)
        if not self.can_allocate():
            return HttpResponse(status=403)
        return self.account(request.POST or None)

    def account(self, data: Any) -> HttpResponse:
        family = self.family
        account = family_account(family)
        unpaid = family_unpaid(family=family)
        form = CreditAllocationForm(
            data,
            invoices=unpaid,
            proposal=credit_allocation_proposal(credit=account.credit, invoices=unpaid),
        )
        if form.is_valid():
            try:
                created = credit_allocate(
                    family=family,
                    allocations=form.allocations(),
                    agent=acting_user(self.request),
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                self.tell(
                    _("%(amount)s of credit allocated.")
                    % {
                        "amount": format_euros(
                            sum((row.amount for row in created), ZERO)
                        )
                    }
                )
                return redirect(self.request.path)
        start, end = statement_period(self.request)
        shown = account.credit > 0 and unpaid and self.can_allocate()
        return self.render(
            family=family,
            account=account,
            payment_block=family_block_state(family=family, unpaid=unpaid),
            credits=payment_credits(family),
            form=form if shown else None,
            refunds=family.refunds.select_related("payment", "recorded_by")[:20],
            statement=family_statement(family, start=start, end=end),
        )


class StatementPdfView(StaffView):
    """A family's statement of a period, in PDF."""

    model = Payment
    permission = ("paiements.view_payment", "paiements.change_payment")

    def get(self, request: HttpRequest, family_pk: int) -> HttpResponse:
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


class RefundView(StaffView):
    """Give back part of the credit a payment holds."""

    model = Payment
    permission = "paiements.add_refund"
    template_name = "admin/paiements/refund_form.html"
    payment: Payment

    def get_title(self) -> str:
        return _("Refund from payment %(number)s") % {"number": self.payment.number}

    def crumbs(self) -> list[tuple[str, str]]:
        account = reverse(
            "admin:paiements_payment_account", args=[self.payment.family_id]
        )
        return [(str(self.payment.family), account)]

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self.refund(pk, None)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self.refund(pk, request.POST or None)

    def refund(self, pk: int, data: Any) -> HttpResponse:
        payment = get_object_or_404(Payment.objects.select_related("family"), pk=pk)
        self.payment = payment
        card = payment.method == Payment.Method.CARD_ONLINE and bool(
            payment.checkout_id
        )
        left = payment.unallocated if payment.amount > 0 else ZERO
        form = RefundForm(
            data,
            card=card,
            treasury=payment.method == Payment.Method.PAYFIP,
            initial={"amount": left, "key": new_idempotency_key()},
        )
        if form.is_valid():
            try:
                refund = refund_record(
                    payment=payment,
                    amount=form.cleaned_data["amount"],
                    method=form.cleaned_data["method"],
                    reason=form.cleaned_data["reason"],
                    reference=form.cleaned_data["reference"],
                    agent=acting_user(self.request),
                    idempotency_key=form.cleaned_data["key"],
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                self.tell(_refund_message(refund), _refund_level(refund))
                return redirect(
                    reverse("admin:paiements_payment_account", args=[payment.family_id])
                )
        return self.render(form=form, payment=payment, left=left)


class ReceiptView(StaffView):
    """A payment's receipt, in PDF."""

    model = Payment
    permission = ("paiements.view_payment", "paiements.change_payment")

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        payment = get_object_or_404(Payment, pk=pk)
        response = HttpResponse(receipt_pdf(payment), content_type="application/pdf")
        response["Content-Disposition"] = (
            f'inline; filename="recu-{payment.number}.pdf"'
        )
        return response


class ReverseView(StaffView):
    """Cancel a payment by a reversal (a payment of the opposite amount),
    giving the reason."""

    model = Payment
    permission = "paiements.add_payment"
    template_name = "admin/paiements/reason_form.html"
    payment: Payment

    def get_title(self) -> str:
        return _("Reverse payment %(number)s") % {"number": self.payment.number}

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self.reverse_payment(pk, None)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self.reverse_payment(pk, request.POST or None)

    def reverse_payment(self, pk: int, data: Any) -> HttpResponse:
        payment = get_object_or_404(Payment, pk=pk)
        self.payment = payment
        form = ReasonForm(data)
        if form.is_valid():
            try:
                reversal = payment_reverse(
                    payment=payment,
                    reason=form.cleaned_data["reason"],
                    agent=acting_user(self.request),
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                self.tell(
                    _("Payment %(number)s reversed by %(reversal)s.")
                    % {"number": payment.number, "reversal": reversal.number}
                )
                return redirect(
                    reverse("admin:paiements_payment_change", args=[reversal.pk])
                )
        return self.render(form=form, object=payment)


class RefundReceiptView(StaffView):
    """A refund's receipt, in PDF (signed by the family for cash or cheque)."""

    model = Refund
    permission = ("paiements.view_refund", "paiements.change_refund")

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        refund = get_object_or_404(Refund, pk=pk)
        response = HttpResponse(
            refund_receipt_pdf(refund), content_type="application/pdf"
        )
        response["Content-Disposition"] = (
            f'inline; filename="remboursement-{refund.number}.pdf"'
        )
        return response


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
