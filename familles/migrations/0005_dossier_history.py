"""The dossier's audit trail is django-simple-history's alone: DossierChange
goes. Each of its rows becomes a version in the history of its guardian (or
of its family), dated and signed as it was, its field set to the new value
and "field: old → new" as the reason (cut at the reason's 100 characters);
the rest of that version is the object as it is now."""

from django.db import migrations, models


def dossier_changes_to_history(apps, schema_editor):
    DossierChange = apps.get_model("familles", "DossierChange")
    targets = {
        "guardian": (
            apps.get_model("familles", "Guardian"),
            apps.get_model("familles", "HistoricalGuardian"),
        ),
        "family": (
            apps.get_model("familles", "Family"),
            apps.get_model("familles", "HistoricalFamily"),
        ),
    }
    for change in DossierChange.objects.order_by("changed_at", "pk"):
        kind = "guardian" if change.guardian_id else "family"
        model, history = targets[kind]
        current = model.objects.filter(
            pk=change.guardian_id if change.guardian_id else change.family_id
        ).first()
        if current is None:
            continue
        names = {f.attname for f in history._meta.concrete_fields}
        values = {
            f.attname: getattr(current, f.attname)
            for f in model._meta.concrete_fields
            if f.attname in names
        }
        if change.field in values:
            field = model._meta.get_field(change.field)
            new = change.new_value
            if isinstance(field, models.BooleanField):
                new = new == "True"
            values[change.field] = new
        reason = f"{change.field}: {change.old_value} → {change.new_value}"
        history.objects.create(
            **values,
            history_date=change.changed_at,
            history_user_id=change.changed_by_id,
            history_type="~",
            history_change_reason=reason if len(reason) <= 100 else reason[:99] + "…",
            request_key=change.request_key,
        )


class Migration(migrations.Migration):

    dependencies = [
        ('familles', '0004_reports_move_to_signalements'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='dossierchange',
            name='dossierchange_once_per_submission',
        ),
        migrations.AddField(
            model_name='historicalfamily',
            name='request_key',
            field=models.CharField(blank=True, editable=False, max_length=64),
        ),
        migrations.AddField(
            model_name='historicalguardian',
            name='request_key',
            field=models.CharField(blank=True, editable=False, max_length=64),
        ),
        migrations.RunPython(
            dossier_changes_to_history, migrations.RunPython.noop, elidable=False
        ),
        migrations.DeleteModel(
            name='DossierChange',
        ),
    ]
