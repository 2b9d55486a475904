"""Two agents merging the same families at once (PostgreSQL)."""

import pytest
from django.core.exceptions import ValidationError

from familles.models import FamilyMerge
from fusions.services import family_merge
from tests.factories import FamilyFactory, GuardianFactory, StaffFactory
from tests.postgres.test_webhook_concurrency import run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_agents_merging_the_same_families_merge_them_once():
    keep, other = FamilyFactory(), FamilyFactory()
    GuardianFactory(family=other)
    agents = [StaffFactory(), StaffFactory()]

    def merge(agent):  # noqa: ANN001, ANN202
        def action():  # noqa: ANN202
            try:
                family_merge(keep=keep, duplicates=[other], agent=agent)
            except ValidationError:
                return "already merged"
            return "merged"

        return action

    results = run_together(merge(agents[0]), merge(agents[1]))

    assert sorted(results) == ["already merged", "merged"]
    assert FamilyMerge.objects.count() == 1
    other.refresh_from_db()
    assert other.merged_into == keep
    assert other.guardians.count() == 0
