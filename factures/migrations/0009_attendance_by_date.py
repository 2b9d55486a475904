"""The run reads one month of meals through an index on the date."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('factures', '0008_invoice_open_flag'),
        ('familles', '0008_staff_words'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='attendance',
            index=models.Index(fields=['date'], name='attendance_by_date'),
        ),
    ]
