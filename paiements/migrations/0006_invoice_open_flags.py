"""The open flag of the invoices already issued (`Invoice.is_open`, added by
factures' migration 0008 as true for all): an invoice is settled when it is
cancelled or when its credit notes and payments leave nothing due. The rule
of `InvoiceQuerySet.with_balance`, said with the models of this migration
(a dispute keeps an invoice open, as an unpaid one)."""

from decimal import Decimal

from django.db import migrations, models
from django.db.models import Exists, F, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce

MONEY = models.DecimalField(max_digits=10, decimal_places=2)


def forwards(apps, schema_editor):
    Invoice = apps.get_model("factures", "Invoice")
    CreditNote = apps.get_model("factures", "CreditNote")
    Allocation = apps.get_model("paiements", "Allocation")

    def total_of(model, field):
        return Coalesce(
            Subquery(
                model.objects.filter(invoice_id=OuterRef("pk"))
                .order_by()
                .values("invoice_id")
                .annotate(s=Sum(field))
                .values("s")
            ),
            Decimal("0"),
            output_field=MONEY,
        )

    settled = (
        Invoice.objects.annotate(
            credited=total_of(CreditNote, "total"),
            paid=total_of(Allocation, "amount"),
            cancelled=Exists(
                CreditNote.objects.filter(invoice_id=OuterRef("pk"), is_cancellation=True)
            ),
        )
        .filter(
            models.Q(cancelled=True)
            | models.Q(total__lte=F("credited") + F("paid"))
        )
        .values("pk")
    )
    Invoice.objects.filter(pk__in=settled).update(is_open=False)


class Migration(migrations.Migration):
    dependencies = [
        ("paiements", "0005_staff_words"),
        ("factures", "0008_invoice_open_flag"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
