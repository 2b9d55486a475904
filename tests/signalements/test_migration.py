"""A database made before reports had an app of their own keeps its
reports, their permissions and the agents' rights once migrated."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tests.factories import FamilyFactory

BEFORE = [("familles", "0003_ordering_by_column"), ("signalements", None)]


def migrate(targets):  # noqa: ANN001, ANN201
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    targets = targets or executor.loader.graph.leaf_nodes()
    executor.migrate(targets)
    return executor.loader.project_state(targets[0]).apps


@pytest.mark.django_db(transaction=True)
def test_reports_made_in_the_families_app_are_kept_when_it_moves():
    from django.contrib.auth.models import Group, Permission

    from familles.roles import AGENT_GROUP
    from signalements.models import Report

    family_pk = FamilyFactory(identifier="PB-000777").pk
    try:
        old = migrate(BEFORE)
        OldReport = old.get_model("familles", "Report")  # noqa: N806
        OldReport.objects.create(
            reference="S2026-000001",
            family_id=family_pk,
            kind="other",
            message="Ancien signalement",
            request_key="k" * 32,
        )
        ContentType = old.get_model("contenttypes", "ContentType")  # noqa: N806
        ContentType.objects.get_or_create(app_label="familles", model="report")
    finally:
        migrate(None)

    report = Report.objects.get(reference="S2026-000001")
    assert report.family_id == family_pk and report.message == "Ancien signalement"
    assert Permission.objects.filter(
        content_type__app_label="signalements", codename="change_report"
    ).exists()
    assert not Permission.objects.filter(
        content_type__app_label="familles", codename="change_report"
    ).exists()
    agent = Group.objects.get(name=AGENT_GROUP)
    assert agent.permissions.filter(
        content_type__app_label="signalements", codename="change_report"
    ).exists()
