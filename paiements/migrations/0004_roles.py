"""The staff roles again, now that refunds exist: agents record them at the
desk and see them."""

from django.db import migrations


def sync(apps, schema_editor):  # noqa: ANN001, ANN201
    from familles.roles import sync_roles

    sync_roles(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("paiements", "0003_release_overpaid_invoices"),
        ("signalements", "0002_roles"),
    ]

    operations = [migrations.RunPython(sync, migrations.RunPython.noop)]
