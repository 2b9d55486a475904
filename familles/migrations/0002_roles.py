"""The staff roles (permission groups)."""

from django.db import migrations


def create_roles(apps, schema_editor):  # noqa: ANN001, ANN201
    from familles.roles import sync_roles

    sync_roles(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("familles", "0001_initial"),
        ("factures", "0002_initial"),
        ("paiements", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("mfa", "0003_authenticator_type_uniq"),
    ]

    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
