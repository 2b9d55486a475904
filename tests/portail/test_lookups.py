"""`__any` (portail.lookups): the same rows as `__in`, one parameter on
PostgreSQL."""

import pytest

from factures.models import Activity, Attendance
from familles.models import Child, Family
from tests.factories import ChildFactory, FamilyFactory
from tests.factures.conftest import attend

pytestmark = pytest.mark.django_db


@pytest.fixture
def families():  # noqa: ANN201
    return [FamilyFactory() for _ in range(4)]


@pytest.mark.parametrize(
    "values",
    ["none", "only None", "two", "two and None", "all, twice", "an unknown id"],
)
def test_any_finds_the_rows_in_finds(families, values):  # noqa: ANN001
    ids = [family.pk for family in families]
    values = {
        "none": [],
        "only None": [None],
        "two": ids[1:3],
        "two and None": [ids[0], None, ids[3]],
        "all, twice": ids + ids,
        "an unknown id": [max(ids) + 1000, ids[2]],
    }[values]

    found = set(Family.objects.filter(pk__any=values).values_list("pk", flat=True))

    in_finds = Family.objects.filter(pk__in=values).values_list("pk", flat=True)
    assert found == set(in_finds)
    assert found == {pk for pk in ids if pk in values}
    left = set(Family.objects.exclude(pk__any=values).values_list("pk", flat=True))
    assert left == set(ids) - found


def test_any_on_a_foreign_key_and_across_a_join(families):  # noqa: ANN001
    first, second, *_ = families
    canteen = Activity.objects.create(code="cantine", label="Restauration scolaire")
    for family in families:
        attend(ChildFactory(family=family), canteen, 1, 2)

    children = Child.objects.filter(family_id__any=[first.pk, second.pk])
    meals = Attendance.objects.filter(child__family_id__any=[second.pk])

    assert {child.family_id for child in children} == {first.pk, second.pk}
    assert meals.count() == 2
    assert {meal.child.family_id for meal in meals} == {second.pk}


def test_a_subquery_is_left_to_in(families):  # noqa: ANN001
    named = Family.objects.filter(pk=families[0].pk).values("pk")
    assert list(Family.objects.filter(pk__any=named)) == [families[0]]


@pytest.mark.postgres
def test_on_postgresql_the_values_are_one_parameter(families):  # noqa: ANN001
    ids = [family.pk for family in families] * 100  # 400 values
    found = Family.objects.filter(pk__any=ids)

    sql, params = found.query.sql_with_params()

    assert '"id" = ANY(%s::bigint[])' in sql
    assert params == ("{" + ",".join(str(pk) for pk in sorted(set(ids))) + "}",)
    assert set(found) == set(families)
