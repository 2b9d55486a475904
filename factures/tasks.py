"""Background work of the invoices app (django.tasks)."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.tasks import task
from django.template.loader import render_to_string
from django.utils import translation

from factures.models import Invoice


@task()
def send_invoice_available(*, invoice_id: int) -> int:
    """Tell the family that its invoice is on the portal; returns the number
    of messages sent."""
    invoice = Invoice.objects.select_related("family").get(pk=invoice_id)
    from factures.services import invoice_recipients

    recipients = invoice_recipients(invoice=invoice)
    if not recipients:
        return 0
    with translation.override(settings.LANGUAGE_CODE):
        context = {"invoice": invoice, "commune": settings.PORTAIL_COMMUNE}
        subject = render_to_string(
            "emails/invoice_available_subject.txt", context
        ).strip()
        text = render_to_string("emails/invoice_available.txt", context)
        html = render_to_string("emails/invoice_available.html", context)
    message = EmailMultiAlternatives(subject=subject, body=text, to=recipients)
    message.attach_alternative(html, "text/html")
    message.send()
    return 1
