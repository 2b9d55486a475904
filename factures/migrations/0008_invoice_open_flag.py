"""Invoices remember whether they are open (see `Invoice.is_open`); the
flags of invoices already issued are set by paiements' migration 0006."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('factures', '0007_invoicing_runs_and_print_progress'),
        ('familles', '0008_staff_words'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='invoice',
            name='is_open',
            field=models.BooleanField(default=True, editable=False, verbose_name='still to settle'),
        ),
        migrations.AddIndex(
            model_name='invoice',
            index=models.Index(condition=models.Q(('is_open', True)), fields=['period', 'family'], name='invoice_open'),
        ),
        migrations.AddIndex(
            model_name='invoice',
            index=models.Index(fields=['period'], name='invoice_period'),
        ),
    ]
