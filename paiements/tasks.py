"""Background e-mails of the payments app (django.tasks)."""

import logging

from django.tasks import task

from factures.models import Invoice
from familles.models import Family
from familles.tasks import family_addresses, send_templated, send_templated_or_log
from paiements.models import Payment
from paiements.receipts import receipt_pdf
from paiements.rules import family_block_state

logger = logging.getLogger("paiements.tasks")


@task()
def send_payment_receipt(*, payment_id: int) -> int:
    payment = Payment.objects.select_related("family").get(pk=payment_id)
    return send_templated(
        template="payment_received",
        to=family_addresses(payment.family),
        context={
            "payment": payment,
            "allocations": payment.allocations.select_related("invoice"),
            "attachments": [
                (f"recu-{payment.number}.pdf", receipt_pdf(payment), "application/pdf")
            ],
        },
    )


@task()
def send_block_notices(*, notices: list[tuple[int, bool]]) -> int:
    """Tell each family (id, blocked) that card payment is now blocked or
    open again: one task for all the families one change concerns (the
    invoicing run blocks hundreds at once). Each e-mail is sent on its own:
    one that fails is logged and the others still go. Returns how many were
    sent."""
    families = Family.objects.prefetch_related("guardians").in_bulk(
        [family_id for family_id, _ in notices]
    )
    sent = 0
    for family_id, blocked in notices:
        family = families.get(family_id)
        if family is None:  # merged away since
            continue
        sent += send_templated_or_log(
            template="payment_blocked" if blocked else "payment_unblocked",
            to=family_addresses(family),
            context={
                "family": family,
                "payment_block": family_block_state(family=family),
            },
            logger=logger,
            message="block notice not sent",
            extra={"event": "block_notice_failed", "family": family.identifier},
        )
    return sent


@task()
def send_block_notice(*, family_id: int, blocked: bool) -> int:
    """One family's notice: the task's name before notices were sent by
    batch, kept for the tasks queued under it."""
    return send_block_notices.call(notices=[(family_id, blocked)])


@task()
def send_payment_reminders(*, family_ids: list[int]) -> int:
    """The month's payment reminders of these families, recorded already
    (`payment_reminders_send` queues one task per batch). Each e-mail is sent
    on its own: one that fails is logged and the others still go. Returns
    how many were sent."""
    families = Family.objects.prefetch_related("guardians").in_bulk(family_ids)
    sent = 0
    for family_id in family_ids:
        family = families.get(family_id)
        if family is None:  # merged away since
            continue
        sent += send_templated_or_log(
            template="payment_reminder",
            to=family_addresses(family),
            context={
                "family": family,
                "invoices": Invoice.objects.filter(family=family)
                .unpaid()
                .order_by("period"),
                "payment_block": family_block_state(family=family),
            },
            logger=logger,
            message="payment reminder not sent",
            extra={"event": "payment_reminder_failed", "family": family.identifier},
        )
    return sent


@task()
def send_payment_reminder(*, family_id: int) -> int:
    """One family's reminder: the task's name before reminders were sent by
    batch, kept for the tasks queued under it."""
    return send_payment_reminders.call(family_ids=[family_id])
