"""The staff roles again, now that reports belong to this app: the agents
keep seeing and answering them."""

from django.db import migrations


def sync(apps, schema_editor):  # noqa: ANN001, ANN201
    from familles.roles import sync_roles

    sync_roles(apps)


class Migration(migrations.Migration):
    dependencies = [("signalements", "0001_initial")]

    operations = [migrations.RunPython(sync, migrations.RunPython.noop)]
