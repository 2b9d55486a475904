"""Background work of the invoices app (django.tasks)."""

from django.tasks import task

from factures.models import Invoice
from familles.tasks import family_addresses, send_templated


@task()
def send_invoice_available(*, invoice_id: int) -> int:
    """Tell the family that its invoice is on the portal."""
    invoice = Invoice.objects.select_related("family").get(pk=invoice_id)
    return send_templated(
        template="invoice_available",
        to=family_addresses(invoice.family),
        context={"invoice": invoice},
    )
