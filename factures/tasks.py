"""Background work of the invoices app (django.tasks)."""

import logging

from django.tasks import task

from factures import printing
from factures.models import Invoice
from familles.tasks import family_addresses, send_templated_or_log

logger = logging.getLogger("factures.tasks")


@task()
def send_invoices_available(*, invoice_ids: list[int]) -> int:
    """Tell each family that its invoice is on the portal: one task for a
    batch of the invoicing run (queuing one task per invoice cost more than
    the invoice). Each e-mail is sent on its own: one that fails is logged
    and the others still go. Returns how many were sent."""
    sent = 0
    for invoice in (
        Invoice.objects.filter(pk__in=invoice_ids)
        .select_related("family")
        .prefetch_related("family__guardians")
        .order_by("number")
    ):
        sent += send_templated_or_log(
            template="invoice_available",
            to=family_addresses(invoice.family),
            context={"invoice": invoice},
            logger=logger,
            message="invoice e-mail not sent",
            extra={"event": "invoice_mail_failed", "invoice": invoice.number},
        )
    return sent


# Paper batches queued by an earlier version under this module's name.
print_paper_batch = printing.print_paper_batch
