"""`Payment.has_left`: whether a payment's `left` (received, less what it
allocates, less its refunds that count) is not zero. The family's credit is
summed over these payments alone, through the partial index `payment_left`.
The payments already recorded get their flag from the rule of
`PaymentQuerySet.with_left`, said with the models of this migration (a
failed refund does not count)."""

from decimal import Decimal

from django.conf import settings
from django.db import migrations, models
from django.db.models import F, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce

MONEY = models.DecimalField(max_digits=10, decimal_places=2)


def forwards(apps, schema_editor):
    Payment = apps.get_model("paiements", "Payment")
    Allocation = apps.get_model("paiements", "Allocation")
    Refund = apps.get_model("paiements", "Refund")

    def total_of(queryset):
        return Coalesce(
            Subquery(
                queryset.filter(payment_id=OuterRef("pk"))
                .order_by()
                .values("payment_id")
                .annotate(s=Sum("amount"))
                .values("s")
            ),
            Decimal("0"),
            output_field=MONEY,
        )

    holding = (
        Payment.objects.annotate(
            left=F("amount")
            - total_of(Allocation.objects.all())
            - total_of(Refund.objects.exclude(status="failed"))
        )
        .exclude(left=0)
        .values("pk")
    )
    Payment.objects.filter(pk__in=holding).update(has_left=True)


class Migration(migrations.Migration):

    dependencies = [
        ('familles', '0008_staff_words'),
        ('paiements', '0007_payfip'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='payment',
            name='has_left',
            field=models.BooleanField(db_default=False, default=False, editable=False, verbose_name='money left on it'),
        ),
        migrations.RunPython(forwards, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name='payment',
            index=models.Index(condition=models.Q(('has_left', True)), fields=['family'], name='payment_left'),
        ),
    ]
