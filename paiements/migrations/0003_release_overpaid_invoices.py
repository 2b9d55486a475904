"""Existing data under the account's rules (issue 18).

- Allocations recorded before they had a date take their payment's.
- An invoice credited after it was paid kept its allocations: its money was
  owed back to the family but shown nowhere. The part of its allocations
  above what it owes after its credit notes is taken back off the invoice by
  negative allocations (newest payments first), which leaves it on the
  payments as the family's credit, as `paiements.credit` does today.
"""

from decimal import Decimal

from django.db import migrations
from django.db.models import OuterRef, Subquery, Sum


def forwards(apps, schema_editor):
    Allocation = apps.get_model("paiements", "Allocation")
    Invoice = apps.get_model("factures", "Invoice")
    CreditNote = apps.get_model("factures", "CreditNote")
    Allocation.objects.update(
        created_at=Subquery(
            apps.get_model("paiements", "Payment")
            .objects.filter(pk=OuterRef("payment_id"))
            .values("received_at")[:1]
        )
    )
    credited_invoices = CreditNote.objects.values("invoice_id").distinct()
    for invoice in Invoice.objects.filter(pk__in=credited_invoices).order_by("pk"):
        credit_notes = CreditNote.objects.filter(invoice=invoice)
        credited = credit_notes.aggregate(s=Sum("total"))["s"] or Decimal("0")
        rows = Allocation.objects.filter(invoice=invoice)
        paid = rows.aggregate(s=Sum("amount"))["s"] or Decimal("0")
        excess = paid - (invoice.total - credited)
        if excess <= 0:
            continue
        when = credit_notes.order_by("-issued_at").first().issued_at
        per_payment = (
            rows.values("payment_id")
            .annotate(net=Sum("amount"))
            .filter(net__gt=0)
            .order_by("-payment__received_at", "-payment_id")
        )
        for row in per_payment:
            share = min(row["net"], excess)
            Allocation.objects.create(
                payment_id=row["payment_id"],
                invoice=invoice,
                amount=-share,
                created_at=when,
                note="Avoir : rendu au crédit de la famille",
            )
            excess -= share
            if excess <= 0:
                break


class Migration(migrations.Migration):
    dependencies = [
        ("paiements", "0002_account_credit_refunds"),
        ("factures", "0006_attendance_line_foreign_key"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
