"""Invoice PDFs (WeasyPrint). One function renders one invoice or a batch;
the templates are in templates/pdf/; nothing is fetched from the network."""

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone
from weasyprint import HTML

from factures.models import Invoice
from familles.services import activation_code_pending
from paiements.rules import payment_rules


def _invoice_context(invoice: Invoice) -> dict[str, Any]:
    login = invoice.family.logins.filter(is_active=True).order_by("pk").first()
    # While the login was never activated, the invoice carries the code.
    pending = (
        activation_code_pending(user=login)
        if login is not None and not login.has_usable_password()
        else None
    )
    return {
        "invoice": invoice,
        "lines": invoice.lines.all(),
        "credit_notes": invoice.credit_notes.all(),
        "activation_code": pending[1] if pending else None,
        "activation_expires": timezone.localdate(pending[0].expires_at)
        if pending
        else None,
    }


def invoices_pdf(invoices: Iterable[Invoice]) -> bytes:
    """One PDF holding the given invoices, each starting on a new page."""
    documents = [_invoice_context(invoice) for invoice in invoices]
    html = render_to_string(
        "pdf/invoices.html",
        {
            "documents": documents,
            "commune": settings.PORTAIL_COMMUNE,
            "rules": payment_rules(),
        },
    )
    return HTML(string=html).write_pdf()


def invoice_pdf(invoice: Invoice) -> bytes:
    return invoices_pdf([invoice])
