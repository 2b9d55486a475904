"""Payment receipts (PDF)."""

from django.conf import settings
from django.template.loader import render_to_string

from paiements.models import Payment
from portail.pdf import html_pdf


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
    return html_pdf(html)
