"""Paper batches print a chunk per task: the frozen invoices, the chunks'
files, and the last news from the worker (the patience counts from it)."""

import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('factures', '0009_attendance_by_date'),
    ]

    operations = [
        migrations.AddField(
            model_name='paperbatch',
            name='invoice_ids',
            field=models.JSONField(default=list, editable=False),
        ),
        migrations.AddField(
            model_name='paperbatch',
            name='parts',
            field=models.JSONField(default=list, editable=False),
        ),
        migrations.AddField(
            model_name='paperbatch',
            name='touched_at',
            field=models.DateTimeField(default=django.utils.timezone.now, verbose_name='last news'),
        ),
    ]
