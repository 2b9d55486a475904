"""Reports about a tariff bracket or an attendance count now set the invoice
they name aside, as wrong-amount reports did (issue 18): the ones still open
get the dispute they would get if sent today (`report_submit`). Not an
invoice with nothing left to pay, nor one already under dispute."""

from decimal import Decimal

from django.conf import settings
from django.db import migrations
from django.db.models import Sum
from django.utils import translation

FREEZING_KINDS = ("wrong_amount", "wrong_bracket", "wrong_attendance")
CLOSED = ("resolved", "rejected")


def left_to_pay(apps, invoice) -> Decimal:  # noqa: ANN001
    """What `with_balance` calls `remaining`: nothing for a cancelled one."""
    credit_notes = apps.get_model("factures", "CreditNote").objects.filter(
        invoice=invoice
    )
    if credit_notes.filter(is_cancellation=True).exists():
        return Decimal("0")
    credited = credit_notes.aggregate(total=Sum("total"))["total"] or Decimal("0")
    paid = apps.get_model("paiements", "Allocation").objects.filter(
        invoice=invoice
    ).aggregate(total=Sum("amount"))["total"] or Decimal("0")
    return invoice.total - credited - paid


def forwards(apps, schema_editor) -> None:  # noqa: ANN001
    Report = apps.get_model("signalements", "Report")  # noqa: N806
    InvoiceDispute = apps.get_model("factures", "InvoiceDispute")  # noqa: N806
    reports = (
        Report.objects.filter(
            kind__in=FREEZING_KINDS, invoice__isnull=False, dispute__isnull=True
        )
        .exclude(status__in=CLOSED)
        .select_related("invoice")
        .order_by("created_at", "pk")
    )
    # The dispute's reason in the words `report_submit` writes it with.
    with translation.override(settings.LANGUAGE_CODE):
        reason = translation.gettext("Report %(reference)s: %(message)s")
        for report in reports:
            invoice = report.invoice
            if InvoiceDispute.objects.filter(
                invoice=invoice, closed_at__isnull=True
            ).exists() or left_to_pay(apps, invoice) <= 0:
                continue
            report.dispute = InvoiceDispute.objects.create(
                invoice=invoice,
                reason=reason
                % {"reference": report.reference, "message": report.message},
                opened_by_id=report.created_by_id,
            )
            report.save(update_fields=["dispute"])


class Migration(migrations.Migration):
    dependencies = [
        ("signalements", "0002_roles"),
        ("factures", "0006_attendance_line_foreign_key"),
        ("paiements", "0001_initial"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
