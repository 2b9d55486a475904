"""Background e-mails of the payments app (django.tasks)."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.tasks import task
from django.template.loader import render_to_string
from django.utils import translation

from factures.models import Invoice
from familles.models import Family
from paiements.models import Payment
from paiements.receipts import receipt_pdf
from paiements.rules import family_block_state, payment_rules


def family_addresses(family: Family) -> list[str]:
    return sorted({g.email for g in family.guardians.all() if g.email})


def _send(
    *,
    template: str,
    to: list[str],
    context: dict,
    attachment: tuple[str, bytes, str] | None = None,
) -> int:
    if not to:
        return 0
    with translation.override(settings.LANGUAGE_CODE):
        context = {
            "commune": settings.PORTAIL_COMMUNE,
            "rules": payment_rules(),
            **context,
        }
        subject = render_to_string(f"emails/{template}_subject.txt", context).strip()
        text = render_to_string(f"emails/{template}.txt", context)
        html = render_to_string(f"emails/{template}.html", context)
    message = EmailMultiAlternatives(subject=subject, body=text, to=to)
    message.attach_alternative(html, "text/html")
    if attachment is not None:
        message.attach(*attachment)
    message.send()
    return 1


@task()
def send_payment_receipt(*, payment_id: int) -> int:
    payment = Payment.objects.select_related("family").get(pk=payment_id)
    return _send(
        template="payment_received",
        to=family_addresses(payment.family),
        context={
            "payment": payment,
            "allocations": payment.allocations.select_related("invoice"),
        },
        attachment=(
            f"recu-{payment.number}.pdf",
            receipt_pdf(payment),
            "application/pdf",
        ),
    )


@task()
def send_block_notice(*, family_id: int, blocked: bool) -> int:
    family = Family.objects.get(pk=family_id)
    return _send(
        template="payment_blocked" if blocked else "payment_unblocked",
        to=family_addresses(family),
        context={"family": family, "payment_block": family_block_state(family=family)},
    )


@task()
def send_payment_reminder(*, family_id: int) -> int:
    family = Family.objects.get(pk=family_id)
    invoices = Invoice.objects.filter(family=family).unpaid().order_by("period")
    return _send(
        template="payment_reminder",
        to=family_addresses(family),
        context={
            "family": family,
            "invoices": invoices,
            "payment_block": family_block_state(family=family),
        },
    )
