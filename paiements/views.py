from collections import defaultdict
from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from factures.models import Invoice
from factures.money import ZERO, format_euros
from familles.access import acting_user, family_required
from familles.models import Family
from paiements.accounts import family_account, family_statement
from paiements.models import CheckoutSession, Payment
from paiements.receipts import receipt_pdf
from paiements.rules import (
    card_payment_decision,
    family_owing,
    family_unpaid,
    payment_rules,
)
from paiements.services import (
    card_checkout_cancel,
    card_checkout_refresh,
    card_checkout_start,
    new_idempotency_key,
    online_payment_limits_check,
    payfip_notification_process,
    stripe_webhook_process,
)
from paiements.statements import statement_pdf, statement_period
from portail.pages import page_of
from portail.params import parse_id
from portail.typography import french_date


def _selected(request: HttpRequest, family: Family) -> list[Invoice]:
    """The ticked invoices, all of them the family's own; [] if anything
    else was posted (the rules then refuse an empty choice)."""
    ids = set(request.POST.getlist("invoices"))
    invoices = list(
        Invoice.objects.with_balance()
        .filter(family=family, pk__in=[parse_id(i) for i in ids])
        .order_by("period")
    )
    return invoices if len(invoices) == len(ids) else []


@dataclass(frozen=True)
class PaymentLine:
    """One payment of the family's history, as the payment page prints it."""

    pk: int
    received: str
    method: str
    amount: str
    cancels: str
    allocations: str
    receipt: str


def payment_history(payments: QuerySet[Payment]) -> list[PaymentLine]:
    """These payments (a page of the family's), newest first, with the
    invoices each one paid (the page `payment_list`).

    One query: a row per allocation, or one for a payment without any.
    Formatted here rather than by the template: the history was most of the
    payment page's time (bench/pages.py), spent resolving a dozen variables,
    filters and translations for each payment."""
    rows = payments.order_by("-received_at", "-pk", "allocations").values_list(
        "pk",
        "number",
        "received_at",
        "method",
        "amount",
        "reverses__number",
        "allocations__invoice__number",
        "allocations__amount",
    )
    by_payment: dict[int, list] = {}
    paid: dict[int, list[str]] = defaultdict(list)
    allocation = _("%(number)s: %(amount)s")  # "F2026-000012 : 54,00 €"
    for pk, *payment, invoice_number, allocated in rows:
        by_payment.setdefault(pk, payment)
        if invoice_number is not None:
            paid[pk].append(
                allocation
                % {"number": invoice_number, "amount": format_euros(allocated)}
            )
    return [
        PaymentLine(
            pk=pk,
            received=french_date(received_at),
            method=str(capfirst(Payment.Method(method).label)),
            amount=format_euros(amount),
            cancels=_("cancels %(number)s") % {"number": reversed_number}
            if reversed_number
            else "",
            allocations=" · ".join(paid[pk]),
            receipt=_("Receipt %(number)s (PDF)") % {"number": number},
        )
        for pk, (number, received_at, method, amount, reversed_number) in (
            by_payment.items()
        )
    ]


@family_required
def payment_home(request: HttpRequest, *, family: Family) -> HttpResponse:
    # The family's invoices not paid in full are read once; the rules decide
    # which are unpaid, the page shows the disputed ones too.
    invoices = list(family_owing(family))
    unpaid = family_unpaid(family=family, invoices=invoices)
    decision = card_payment_decision(family=family, invoices=unpaid, unpaid=unpaid)
    return render(
        request,
        "paiements/payment_home.html",
        {
            "family": family,
            "unpaid": unpaid,
            "decision": decision,
            "can_pay": decision.allowed,
            "rules": payment_rules(),
            "disputed": [i for i in invoices if i.state == Invoice.Status.DISPUTED],
            # "In progress" only while a session can still be paid: sent
            # to the provider, not cancelled, not past its expiry.
            "pending": CheckoutSession.objects.filter(
                family_id=family.pk,
                status=CheckoutSession.Status.OPEN,
                remote_id__isnull=False,
                expires_at__gt=timezone.now(),
            ).exists(),
        },
    )


@family_required
def payment_list(request: HttpRequest, *, family: Family) -> HttpResponse:
    """The family's payments, with their receipts, a page at a time. A page
    of its own, one link from the payment page: the history was 40 % of
    that page's time, and grows with the years (bench/pages.py)."""
    page = page_of(
        request, family.payments.order_by("-received_at", "-pk").values_list("pk")
    )
    return render(
        request,
        "paiements/payment_list.html",
        {
            "payments": payment_history(
                Payment.objects.filter(pk__in=[pk for (pk,) in page])
            ),
            "page": page,
        },
    )


@family_required
def payment_review(request: HttpRequest, *, family: Family) -> HttpResponse:
    if request.method != "POST":
        return redirect("paiements:home")
    invoices = _selected(request, family)
    decision = card_payment_decision(family=family, invoices=invoices)
    if not decision.allowed:
        messages.error(request, decision.reason)
        return redirect("paiements:home")
    total = sum((invoice.due for invoice in invoices), ZERO)
    try:
        online_payment_limits_check(
            family=family, user=acting_user(request), amount=total
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("paiements:home")
    return render(
        request,
        "paiements/payment_review.html",
        {
            "invoices": invoices,
            "total": total,
            "idempotency_key": new_idempotency_key(),
            "rules": payment_rules(),
            "payment_block": decision.block,
        },
    )


@family_required
def payment_checkout(request: HttpRequest, *, family: Family) -> HttpResponse:
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    key = request.POST.get("idempotency_key", "")
    if not (len(key) == 32 and key.isalnum()):
        messages.error(
            request, _("The payment request is incomplete: please start again.")
        )
        return redirect("paiements:home")
    try:
        checkout = card_checkout_start(
            family=family,
            invoices=_selected(request, family),
            idempotency_key=key,
            user=acting_user(request),
            return_url=request.build_absolute_uri(reverse("paiements:return")),
            cancel_url=request.build_absolute_uri(reverse("paiements:cancelled")),
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("paiements:home")
    return redirect(checkout.url)


def _checkout(request: HttpRequest, family: Family) -> CheckoutSession:
    return get_object_or_404(
        CheckoutSession.objects.select_related("payment"),
        pk=parse_id(request.GET.get("paiement", "")) or 0,
        family=family,
    )


# PayFiP may bring the parent back with a form posted from its own site: the
# page only shows the state read from PayFiP, so no token is needed.
@csrf_exempt
@family_required
def payment_return(request: HttpRequest, *, family: Family) -> HttpResponse:
    """After the provider's page: show the state. Stripe's webhook records
    the money; PayFiP's result is read here too, as its notification may
    come after the parent, or never (PayFiP has one page for paid, refused
    and abandoned)."""
    checkout = _checkout(request, family)
    if checkout.provider == CheckoutSession.Provider.PAYFIP:
        checkout = card_checkout_refresh(checkout=checkout)
    return render(
        request,
        "paiements/payment_return.html",
        {"checkout": checkout, "payment": getattr(checkout, "payment", None)},
    )


@family_required
def payment_cancelled(request: HttpRequest, *, family: Family) -> HttpResponse:
    """The parent left the provider's page without paying: the session is
    closed there, and the page says that nothing was charged."""
    checkout = card_checkout_cancel(checkout=_checkout(request, family))
    return render(
        request,
        "paiements/payment_return.html",
        {
            "checkout": checkout,
            "payment": getattr(checkout, "payment", None),
            "cancelled": True,
        },
    )


@family_required
def receipt(request: HttpRequest, pk: int, *, family: Family) -> HttpResponse:
    payment = get_object_or_404(Payment, pk=pk, family=family)
    response = HttpResponse(receipt_pdf(payment), content_type="application/pdf")
    response["Content-Disposition"] = (
        f'attachment; filename="recu-{payment.number}.pdf"'
    )
    return response


@family_required
def statement(request: HttpRequest, *, family: Family) -> HttpResponse:
    """The family's account and its statement over a period (the last
    twelve months unless asked otherwise)."""
    start, end = statement_period(request)
    return render(
        request,
        "paiements/statement.html",
        {
            "account": family_account(family),
            "statement": family_statement(family, start=start, end=end),
        },
    )


@family_required
def statement_download(request: HttpRequest, *, family: Family) -> HttpResponse:
    start, end = statement_period(request)
    response = HttpResponse(
        statement_pdf(family_statement(family, start=start, end=end)),
        content_type="application/pdf",
    )
    response["Content-Disposition"] = (
        f'attachment; filename="releve-{family.identifier}-{start:%Y-%m-%d}.pdf"'
    )
    return response


@csrf_exempt  # PayFiP posts it; the result is read from PayFiP, never from it
@require_POST
def payfip_notification(request: HttpRequest) -> HttpResponse:
    outcome = payfip_notification_process(idop=request.POST.get("idOp", ""))
    return HttpResponse(
        outcome.message, status=outcome.status, content_type="text/plain"
    )


@csrf_exempt  # Stripe signs its requests instead
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    outcome = stripe_webhook_process(
        payload=request.body, signature=request.headers.get("Stripe-Signature")
    )
    return HttpResponse(
        outcome.message, status=outcome.status, content_type="text/plain"
    )
