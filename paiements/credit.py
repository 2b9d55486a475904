"""Writes that move a family's credit: money taken back off an invoice that
a credit note left overpaid, credit allocated to invoices, credit refunded
(at the desk, or back to the card through the payment provider).

Locks, always in this order: the family, then its payments, then its
invoices in primary-key order. The family and payment locks are `FOR NO KEY
UPDATE`: inserting a row that points at them (a card payment for the
family, an allocation taken back by a credit note) only needs their key,
and must not wait for them, or a credit note and a reversal would each
wait for the other. Every write that draws on a family's credit
(desk payments, allocations of credit, refunds, reversals) takes the family
lock first, so two of them never spend the same euro. A credit note only
locks its invoice: taking money off it only adds to the credit.

The invariants (tests/paiements/test_account.py, on PostgreSQL too):
- an invoice's allocations never exceed its total after its credit notes;
- a payment's allocations and refunds never exceed the payment;
- every cent received is allocated, held as credit, or refunded.
"""

from __future__ import annotations

import logging
import uuid
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from factures.models import CreditNote, Invoice
from factures.money import ZERO, format_euros, round_money
from factures.numbering import REFUND_SERIES, next_number
from familles.models import Family, User
from paiements import stripe_gateway
from paiements.models import Allocation, Payment, Refund
from paiements.notices import block_state_notify

logger = logging.getLogger(__name__)


def _payment_credits(family: Family) -> list[tuple[Payment, Decimal]]:
    """The family's payments that hold credit, oldest first, with how much.
    Reversed payments and reversals hold none (their money went back)."""
    payments = list(
        Payment.objects.filter(
            family=family, amount__gt=0, reversed_by__isnull=True
        ).order_by("received_at", "pk")
    )
    allocated = dict(
        Allocation.objects.filter(payment__in=payments)
        .order_by()
        .values("payment_id")
        .annotate(s=Sum("amount"))
        .values_list("payment_id", "s")
    )
    refunded = dict(
        Refund.objects.counted()
        .filter(payment__in=payments)
        .order_by()
        .values("payment_id")
        .annotate(s=Sum("amount"))
        .values_list("payment_id", "s")
    )
    credits = []
    for payment in payments:
        left = round_money(
            payment.amount
            - (allocated.get(payment.pk) or ZERO)
            - (refunded.get(payment.pk) or ZERO)
        )
        if left > ZERO:
            credits.append((payment, left))
    return credits


def payment_credits(family: Family) -> list[tuple[Payment, Decimal]]:
    """The family's payments holding credit, oldest first (for the pages)."""
    return _payment_credits(family)


# --- A credit note on a paid invoice ---------------------------------------------


def allocations_release(*, invoice_id: int) -> Decimal:
    """Take back off the invoice what its payments cover beyond what it
    owes after its credit notes: that money becomes the family's credit.
    Newest payments first. Runs inside the credit note's transaction, with
    the invoice locked. Returns the amount taken back."""
    invoice = Invoice.objects.get(pk=invoice_id)
    credited = (
        CreditNote.objects.filter(invoice_id=invoice_id).aggregate(s=Sum("total"))["s"]
        or ZERO
    )
    rows = Allocation.objects.filter(invoice_id=invoice_id)
    paid = rows.aggregate(s=Sum("amount"))["s"] or ZERO
    excess = round_money(paid - (invoice.total - credited))
    released = ZERO
    if excess <= ZERO:
        return released
    per_payment = (
        rows.values("payment_id")
        .annotate(net=Sum("amount"))
        .filter(net__gt=0)
        .order_by("-payment__received_at", "-payment_id")
    )
    for row in per_payment:
        share = min(row["net"], excess - released)
        Allocation.objects.create(
            payment_id=row["payment_id"],
            invoice_id=invoice_id,
            amount=-share,
            note=_("Credit note: back to the family's credit"),
        )
        released += share
        if released >= excess:
            break
    Payment.objects.filter(
        pk__in=[row["payment_id"] for row in per_payment]
    ).left_flags_sync()
    logger.info(
        "allocations released",
        extra={
            "event": "allocations_released",
            "invoice": invoice.number,
            "amount": str(released),
        },
    )
    return released


# --- Credit allocated to invoices -------------------------------------------------


def credit_allocation_proposal(
    *, credit: Decimal, invoices: list[Invoice]
) -> dict[int, Decimal]:
    """The credit spread over the invoices (oldest first), each up to what
    it owes: what the allocation form offers by default."""
    proposal = {}
    for invoice in invoices:
        share = min(invoice.due, credit)
        if share > ZERO:
            proposal[invoice.pk] = share
            credit -= share
    return proposal


def _invoices_due_locked(family: Family, invoice_ids: list[int]) -> dict[int, Invoice]:
    """The family's invoices among `invoice_ids`, locked in primary-key
    order, read with what they owe. Another family's invoice is refused."""
    locked = list(
        Invoice.objects.select_for_update()
        .filter(pk__in=invoice_ids, family=family)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if set(locked) != set(invoice_ids):
        raise ValidationError(_("An allocation names an invoice of another family."))
    return Invoice.objects.with_balance().in_bulk(locked)


def _check_dues(allocations: dict[int, Decimal], invoices: dict[int, Invoice]) -> None:
    for pk, value in allocations.items():
        invoice = invoices[pk]
        if value > invoice.due:
            raise ValidationError(
                _("%(value)s is more than the %(due)s still due on invoice %(number)s.")
                % {
                    "value": format_euros(value),
                    "due": format_euros(invoice.due),
                    "number": invoice.number,
                }
            )


def clean_allocations(allocations: dict[int, Decimal]) -> dict[int, Decimal]:
    """Leave out empty allocations; refuse negative ones."""
    allocations = {pk: value for pk, value in allocations.items() if value}
    if any(value < ZERO for value in allocations.values()):
        raise ValidationError(_("An allocation cannot be negative."))
    return allocations


def credit_allocate(
    *, family: Family, allocations: dict[int, Decimal], agent: User | None
) -> list[Allocation]:
    """Pay invoices with the family's credit: each euro comes from the
    oldest payment that still holds credit."""
    allocations = clean_allocations(allocations)
    if not allocations:
        raise ValidationError(_("Allocate an amount to at least one invoice."))
    with transaction.atomic():
        Family.objects.select_for_update(no_key=True).get(pk=family.pk)
        credits = _payment_credits(family)
        available = sum((left for _payment, left in credits), ZERO)
        wanted = sum(allocations.values(), ZERO)
        if wanted > available:
            raise ValidationError(
                _(
                    "The allocations (%(wanted)s) add up to more than the "
                    "family's credit (%(credit)s)."
                )
                % {"wanted": format_euros(wanted), "credit": format_euros(available)}
            )
        list(
            Payment.objects.select_for_update(no_key=True)
            .filter(pk__in=[payment.pk for payment, _left in credits])
            .order_by("pk")
        )
        invoices = _invoices_due_locked(family, sorted(allocations))
        _check_dues(allocations, invoices)
        created = []
        sources = iter(credits)
        payment, left = next(sources)
        for pk in sorted(allocations, key=lambda pk: invoices[pk].period):
            need = allocations[pk]
            while need > ZERO:
                if left <= ZERO:
                    payment, left = next(sources)
                share = min(need, left)
                created.append(
                    Allocation.objects.create(
                        payment=payment,
                        invoice_id=pk,
                        amount=share,
                        recorded_by=agent,
                        note=_("Credit allocated"),
                    )
                )
                need -= share
                left -= share
        Invoice.objects.filter(pk__in=allocations).open_flags_sync()
        Payment.objects.filter(
            pk__in={allocation.payment_id for allocation in created}
        ).left_flags_sync()
        logger.info(
            "credit allocated",
            extra={
                "event": "credit_allocated",
                "family": family.identifier,
                "amount": str(wanted),
            },
        )
        transaction.on_commit(lambda: block_state_notify(family=family))
    return created


# --- Refunds ------------------------------------------------------------------------


def _refund_checks(
    *, payment: Payment, amount: Decimal, method: str, reason: str, reference: str
) -> None:
    if not reason.strip():
        raise ValidationError(_("Give the reason for the refund."))
    if amount <= ZERO:
        raise ValidationError(_("The amount must be positive."))
    if method not in Refund.Method.values:
        raise ValidationError(_("Choose how the money is given back."))
    if method == Refund.Method.PROVIDER and (
        payment.method != Payment.Method.CARD_ONLINE or not payment.checkout_id
    ):
        raise ValidationError(
            _("Only a card payment made online can be refunded to the card.")
        )
    if method == Refund.Method.TREASURY and payment.method != Payment.Method.PAYFIP:
        raise ValidationError(
            _("Only a payment made through PayFiP is refunded by the Treasury.")
        )
    if method == Refund.Method.TREASURY and not reference.strip():
        raise ValidationError(
            _(
                "Give the Treasury's reference of the refund (its mandate "
                "number), so that the accounts can be matched."
            )
        )


def refund_record(
    *,
    payment: Payment,
    amount: Decimal,
    method: str,
    reason: str,
    agent: User | None,
    reference: str = "",
    idempotency_key: str | None = None,
) -> Refund:
    """Give back part of the credit a payment holds. At the desk (cash,
    cheque) the refund is done when recorded; back to the card, it is asked
    of the payment provider, and its status follows the provider's answer
    (`refund_provider_update`). A PayFiP payment is refunded by the
    Treasury, outside the portal: the refund is recorded as done, with the
    Treasury's reference. Never more than the payment's credit.
    Idempotent for the same key (a double click records one refund)."""
    idempotency_key = idempotency_key or uuid.uuid4().hex
    existing = Refund.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return existing
    _refund_checks(
        payment=payment,
        amount=amount,
        method=method,
        reason=reason,
        reference=reference,
    )
    with transaction.atomic():
        Family.objects.select_for_update(no_key=True).get(pk=payment.family_id)
        locked = Payment.objects.select_for_update(no_key=True).get(pk=payment.pk)
        if locked.amount <= ZERO or locked.reverses_id:
            raise ValidationError(_("A reversal holds no credit."))
        if Payment.objects.filter(reverses=locked).exists():
            raise ValidationError(_("This payment is reversed: it holds no credit."))
        left = locked.unallocated
        if amount > left:
            raise ValidationError(
                _(
                    "The refund (%(amount)s) is more than the credit this payment "
                    "holds (%(left)s)."
                )
                % {"amount": format_euros(amount), "left": format_euros(left)}
            )
        refund = Refund.objects.create(
            number=next_number(series=REFUND_SERIES, year=timezone.localdate().year),
            family_id=locked.family_id,
            payment=locked,
            method=method,
            amount=amount,
            reason=reason.strip(),
            reference=reference.strip(),
            recorded_by=agent,
            status=(
                Refund.Status.PENDING
                if method == Refund.Method.PROVIDER
                else Refund.Status.DONE
            ),
            idempotency_key=idempotency_key,
        )
        Payment.objects.filter(pk=locked.pk).left_flags_sync()
        logger.info(
            "refund recorded",
            extra={
                "event": "refund_recorded",
                "refund": refund.number,
                "payment": locked.number,
                "family": locked.family.identifier,
                "method": method,
                "amount": str(amount),
            },
        )
    if method == Refund.Method.PROVIDER:
        refund_provider_send(refund=refund)
        refund.refresh_from_db()
    return refund


_PROVIDER_STATUS = {
    "succeeded": Refund.Status.DONE,
    "failed": Refund.Status.FAILED,
    "canceled": Refund.Status.FAILED,
}


def refund_provider_send(*, refund: Refund) -> None:
    """Ask the payment provider for a refund recorded as pending (again, if
    it did not answer: the idempotency key makes it one refund there)."""
    if refund.method != Refund.Method.PROVIDER or refund.status != (
        Refund.Status.PENDING
    ):
        return
    if refund.provider_id:
        try:
            remote = stripe_gateway.refund_retrieve(refund.provider_id)
        except (stripe_gateway.GatewayUnavailable, stripe_gateway.UnknownRefund):
            logger.warning("Refund %s: provider unavailable", refund.number)
            return
        refund_provider_update(remote=remote)
        return
    payment = refund.payment
    remote_id = payment.checkout.remote_id if payment.checkout else None
    try:
        session = stripe_gateway.session_retrieve(remote_id or "")
        remote = stripe_gateway.refund_create(
            payment_intent=session.payment_intent,
            amount=refund.amount,
            idempotency_key=refund.idempotency_key,
            metadata={"refund": refund.number, "payment": payment.number},
        )
    except stripe_gateway.RefundRefused as error:
        with transaction.atomic():
            Refund.objects.filter(pk=refund.pk, status=Refund.Status.PENDING).update(
                status=Refund.Status.FAILED, failure=str(error)[:255]
            )
            # A failed refund's money is the family's credit again.
            Payment.objects.filter(pk=refund.payment_id).left_flags_sync()
        logger.warning("Refund %s refused: %s", refund.number, error)
        return
    except (stripe_gateway.GatewayUnavailable, stripe_gateway.UnknownSession) as error:
        # Stays pending: the reconciliation job or the agent asks again.
        logger.warning("Refund %s not sent: %s", refund.number, error)
        return
    Refund.objects.filter(pk=refund.pk, provider_id__isnull=True).update(
        provider_id=remote.id
    )
    refund_provider_update(remote=remote)


def refund_provider_update(*, remote: stripe_gateway.RemoteRefund) -> Refund | None:
    """Follow what the provider says of a refund (its answer, a webhook, the
    reconciliation). Idempotent; a refund done or failed stays so."""
    with transaction.atomic():
        refund = (
            Refund.objects.select_for_update().filter(provider_id=remote.id).first()
        )
        if refund is None and remote.metadata.get("refund"):
            refund = (
                Refund.objects.select_for_update()
                .filter(
                    number=remote.metadata["refund"],
                    method=Refund.Method.PROVIDER,
                    provider_id__isnull=True,
                )
                .first()
            )
        if refund is None:
            logger.error("Refund %s is not ours", remote.id)
            return None
        status = _PROVIDER_STATUS.get(remote.status)
        if refund.status != Refund.Status.PENDING or status is None:
            return refund
        refund.status = status
        refund.provider_id = remote.id
        refund.failure = remote.failure_reason[:255]
        refund.save(update_fields=["status", "provider_id", "failure"])
        Payment.objects.filter(pk=refund.payment_id).left_flags_sync()
        logger.log(
            logging.WARNING if status == Refund.Status.FAILED else logging.INFO,
            "refund %s",
            status,
            extra={"event": "refund_updated", "refund": refund.number},
        )
    return refund


def refunds_reconcile() -> int:
    """Ask the provider again about the refunds still pending; returns how
    many changed."""
    changed = 0
    for refund in Refund.objects.filter(
        method=Refund.Method.PROVIDER, status=Refund.Status.PENDING
    ).select_related("payment__checkout"):
        refund_provider_send(refund=refund)
        if Refund.objects.get(pk=refund.pk).status != Refund.Status.PENDING:
            changed += 1
    return changed
