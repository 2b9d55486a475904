"""A family's open invoices through an index of their own: the run's block
count for a batch of families read every open invoice of their months."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('factures', '0010_paper_batch_chunks'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='invoice',
            index=models.Index(
                condition=models.Q(('is_open', True)),
                fields=['family'],
                name='invoice_open_by_family',
            ),
        ),
    ]
