"""Payment receipts (PDF)."""

from django.conf import settings
from django.template.loader import render_to_string
from weasyprint import HTML

from paiements.models import Payment


def receipt_pdf(payment: Payment) -> bytes:
    html = render_to_string(
        "pdf/receipt.html",
        {
            "payment": payment,
            "allocations": payment.allocations.select_related("invoice").order_by(
                "invoice__period"
            ),
            "commune": settings.PORTAIL_COMMUNE,
        },
    )
    return HTML(string=html).write_pdf()
