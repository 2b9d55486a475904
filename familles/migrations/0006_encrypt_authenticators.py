"""The staff's authenticator secrets (TOTP keys, recovery-code seeds) stored
before familles.mfa encrypted them are encrypted now."""

from django.db import migrations


def encrypt_secrets(apps, schema_editor):
    from familles import crypto
    from familles.mfa import PREFIX

    Authenticator = apps.get_model("mfa", "Authenticator")
    for authenticator in Authenticator.objects.all():
        data = dict(authenticator.data)
        changed = False
        for key in ("secret", "seed"):
            value = data.get(key)
            if isinstance(value, str) and not value.startswith(PREFIX):
                data[key] = PREFIX + crypto.encrypt(value, purpose=crypto.AUTHENTICATORS)
                changed = True
        if changed:
            authenticator.data = data
            authenticator.save(update_fields=["data"])


class Migration(migrations.Migration):
    dependencies = [
        ("familles", "0005_dossier_history"),
        ("mfa", "0003_authenticator_type_uniq"),
    ]

    operations = [
        migrations.RunPython(encrypt_secrets, migrations.RunPython.noop, elidable=False)
    ]
