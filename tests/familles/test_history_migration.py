"""A database that kept its dossier changes in DossierChange keeps them, as
versions of its guardians' and families' history, once migrated."""

import datetime

import pytest
from django.utils import timezone

from tests.factories import FamilyFactory, GuardianFactory, StaffFactory
from tests.helpers import migrate_to

BEFORE = ("familles", "0004_reports_move_to_signalements")


@pytest.mark.django_db(transaction=True)
def test_dossier_changes_become_versions_of_the_history():
    from familles.models import Guardian

    family = FamilyFactory(identifier="PB-000778")
    guardian = GuardianFactory(family=family, phone_home="+590590112233")
    agent = StaffFactory()
    when = timezone.now() - datetime.timedelta(days=40)
    try:
        old = migrate_to([BEFORE])
        old.get_model("familles", "DossierChange").objects.create(
            family_id=family.pk,
            guardian_id=guardian.pk,
            field="phone_home",
            old_value="+590590000000",
            new_value="+590590112233",
            changed_at=when,
            changed_by_id=agent.pk,
            request_key="k" * 32,
        )
    finally:
        migrate_to(None)

    version = Guardian.objects.get(pk=guardian.pk).history.get(history_type="~")
    assert version.history_date == when and version.history_user_id == agent.pk
    assert version.history_change_reason == (
        "phone_home: +590590000000 → +590590112233"
    )
    assert version.request_key == "k" * 32
    assert str(version.phone_home) == "+590590112233"
