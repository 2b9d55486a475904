"""Attendance rows marked by the invoicing run are rewritten in place (see
factures.models.Attendance): no index or constraint on the marked column, no
index on the child alone, and on PostgreSQL half-filled pages. The fill factor applies to pages
written from now on; `VACUUM FULL factures_attendance` repacks the others."""

import django.db.models.deletion
from django.db import migrations, models

FILLFACTOR = 50


def set_fillfactor(apps, schema_editor, value=FILLFACTOR):
    if schema_editor.connection.vendor == "postgresql":
        table = schema_editor.quote_name("factures_attendance")
        if value is None:
            schema_editor.execute(f"ALTER TABLE {table} RESET (fillfactor)")
        else:
            schema_editor.execute(f"ALTER TABLE {table} SET (fillfactor = {value})")


def reset_fillfactor(apps, schema_editor):
    set_fillfactor(apps, schema_editor, value=None)


class Migration(migrations.Migration):
    dependencies = [
        ("factures", "0002_initial"),
        ("familles", "0002_roles"),
    ]

    operations = [
        migrations.AlterField(
            model_name="attendance",
            name="child",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="attendances",
                to="familles.child",
                verbose_name="child",
            ),
        ),
        migrations.AlterField(
            model_name="attendance",
            name="invoice_line",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="attendances",
                to="factures.invoiceline",
                verbose_name="invoice line",
            ),
        ),
        migrations.RunPython(set_fillfactor, reset_fillfactor, elidable=False),
    ]
