"""Reports move to an app of their own (signalements), above invoices and
payments. Their tables stay as they are: only Django's idea of which app
holds them changes (signalements 0001 takes them over)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("familles", "0003_ordering_by_column"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name='reportupdate',
                    name='report',
                ),
                migrations.RemoveField(
                    model_name='reportattachment',
                    name='report',
                ),
                migrations.RemoveField(
                    model_name='reportupdate',
                    name='author',
                ),
                migrations.DeleteModel(
                    name='Report',
                ),
                migrations.DeleteModel(
                    name='ReportAttachment',
                ),
                migrations.DeleteModel(
                    name='ReportUpdate',
                ),
            ],
            database_operations=[],
        ),
    ]
