"""Payment receipts (PDF)."""

from django.conf import settings
from django.template.loader import render_to_string

from paiements.models import Payment, Refund
from portail.pdf import html_pdf


def receipt_pdf(payment: Payment) -> bytes:
    html = render_to_string(
        "pdf/receipt.html",
        {
            "payment": payment,
            "family": payment.family,
            "allocations": payment.allocations.select_related("invoice").order_by(
                "invoice__period"
            ),
            "commune": settings.PORTAIL_COMMUNE,
        },
    )
    return html_pdf(html)


def refund_receipt_pdf(refund: Refund) -> bytes:
    """What the family signs when it is given its money back at the desk,
    and keeps when it goes back to its card."""
    html = render_to_string(
        "pdf/refund_receipt.html",
        {
            "refund": refund,
            "family": refund.family,
            "commune": settings.PORTAIL_COMMUNE,
        },
    )
    return html_pdf(html)
