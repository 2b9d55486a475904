"""Reports, taken over from the families app: the tables familles_report,
familles_reportattachment and familles_reportupdate are kept as they are, and
their content types (with the permissions and admin history attached to
them) change app."""

import django.db.models.deletion
import django.utils.timezone
import familles.models
from django.conf import settings
from django.db import migrations, models

MODELS = ("report", "reportattachment", "reportupdate")


def content_types_to(app_label: str, other: str):
    def move(apps, schema_editor):
        ContentType = apps.get_model("contenttypes", "ContentType")
        ContentType.objects.filter(app_label=other, model__in=MODELS).update(
            app_label=app_label
        )

    return move


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('factures', '0006_attendance_line_foreign_key'),
        ('familles', '0004_reports_move_to_signalements'),
        ('contenttypes', '0002_remove_content_type_name'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Report',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('reference', models.CharField(editable=False, max_length=20, unique=True, verbose_name='reference')),
                        ('kind', models.CharField(choices=[('missing_invoice', 'The invoice of the month does not appear'), ('wrong_amount', 'The amount of an invoice is wrong'), ('paid_unpaid', 'An invoice shows unpaid although I paid it'), ('wrong_bracket', 'My tariff bracket is wrong'), ('wrong_attendance', 'The number of meals or sessions is wrong'), ('refund', 'Sessions not attended: I ask for a refund'), ('several_accounts', 'My family has several accounts'), ('other', 'Something else')], max_length=20, verbose_name='kind')),
                        ('date_from', models.DateField(blank=True, null=True, verbose_name='from')),
                        ('date_to', models.DateField(blank=True, null=True, verbose_name='to')),
                        ('message', models.TextField(verbose_name='message')),
                        ('status', models.CharField(choices=[('new', 'new'), ('in_progress', 'in progress'), ('resolved', 'resolved'), ('rejected', 'rejected')], default='new', max_length=12, verbose_name='status')),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='sent on')),
                        ('closed_at', models.DateTimeField(blank=True, null=True, verbose_name='closed on')),
                        ('request_key', models.CharField(editable=False, max_length=64, unique=True)),
                        ('assigned_to', models.ForeignKey(blank=True, limit_choices_to={'is_staff': True}, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='assigned_reports', to=settings.AUTH_USER_MODEL, verbose_name='assigned to')),
                        ('child', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='reports', to='familles.child', verbose_name='child')),
                        ('created_by', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='sent by')),
                        ('dispute', models.OneToOneField(blank=True, editable=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='report', to='factures.invoicedispute', verbose_name='dispute')),
                        ('family', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='reports', to='familles.family', verbose_name='family')),
                        ('invoice', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='reports', to='factures.invoice', verbose_name='invoice')),
                    ],
                    options={
                        'verbose_name': 'report',
                        'verbose_name_plural': 'reports',
                        'db_table': 'familles_report',
                        'ordering': ['-created_at'],
                    },
                ),
                migrations.CreateModel(
                    name='ReportAttachment',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('token', models.CharField(editable=False, max_length=64, unique=True)),
                        ('file', models.FileField(upload_to=familles.models.private_upload_path, verbose_name='file')),
                        ('original_name', models.CharField(max_length=255, verbose_name='file name')),
                        ('content_type', models.CharField(max_length=50)),
                        ('size', models.PositiveIntegerField(verbose_name='size')),
                        ('uploaded_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('report', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='attachments', to='signalements.report', verbose_name='report')),
                    ],
                    options={
                        'verbose_name': 'attachment',
                        'verbose_name_plural': 'attachments',
                        'db_table': 'familles_reportattachment',
                        'ordering': ['pk'],
                        'abstract': False,
                    },
                ),
                migrations.CreateModel(
                    name='ReportUpdate',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='date')),
                        ('message', models.TextField(blank=True, verbose_name='answer')),
                        ('status_before', models.CharField(choices=[('new', 'new'), ('in_progress', 'in progress'), ('resolved', 'resolved'), ('rejected', 'rejected')], max_length=12)),
                        ('status_after', models.CharField(choices=[('new', 'new'), ('in_progress', 'in progress'), ('resolved', 'resolved'), ('rejected', 'rejected')], max_length=12, verbose_name='new status')),
                        ('author', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='author')),
                        ('report', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='updates', to='signalements.report', verbose_name='report')),
                    ],
                    options={
                        'verbose_name': 'report update',
                        'verbose_name_plural': 'report updates',
                        'db_table': 'familles_reportupdate',
                        'ordering': ['created_at', 'pk'],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(
            content_types_to("signalements", "familles"),
            content_types_to("familles", "signalements"),
        ),
    ]
