"""A database made before reports had an app of their own keeps its
reports, their permissions and the agents' rights once migrated."""

import pytest

from tests.factories import FamilyFactory
from tests.helpers import migrate_to

BEFORE = [("familles", "0003_ordering_by_column"), ("signalements", None)]


@pytest.mark.django_db(transaction=True)
def test_reports_made_in_the_families_app_are_kept_when_it_moves():
    from django.contrib.auth.models import Group, Permission

    from familles.roles import AGENT_GROUP
    from signalements.models import Report

    family_pk = FamilyFactory(identifier="PB-000777").pk
    try:
        old = migrate_to(BEFORE)
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
        migrate_to(None)

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


@pytest.mark.django_db(transaction=True)
def test_open_bracket_and_attendance_reports_set_their_invoice_aside_once_migrated():
    """Reports sent before these kinds froze an invoice get the dispute they
    would get today; not a closed one, nor an invoice with nothing to pay or
    already under dispute, nor a report of another kind."""
    from decimal import Decimal

    from factures.models import InvoiceDispute
    from signalements.models import Report
    from tests.factories import (
        InvoiceDisputeFactory,
        InvoiceFactory,
        PaymentFactory,
        ReportFactory,
    )

    family = FamilyFactory()
    unpaid, paid, disputed, other = (InvoiceFactory(family=family) for _ in range(4))
    PaymentFactory(family=family, allocations={paid: "30.00"})
    agents = InvoiceDisputeFactory(invoice=disputed)

    def sent(kind, invoice, status=Report.Status.NEW):  # noqa: ANN001, ANN202
        return ReportFactory(
            family=family, kind=kind, invoice=invoice, status=status, message="Faux"
        )

    bracket = sent("wrong_bracket", unpaid)
    count_on_paid = sent("wrong_attendance", paid)
    count_on_disputed = sent("wrong_attendance", disputed)
    closed = sent("wrong_bracket", other, Report.Status.RESOLVED)
    refund = sent("refund", other)
    no_invoice = sent("wrong_bracket", None)
    try:
        migrate_to([("signalements", "0002_roles")])
    finally:
        migrate_to(None)

    bracket.refresh_from_db()
    assert bracket.dispute.invoice == unpaid and bracket.dispute.closed_at is None
    assert bracket.dispute.reason == f"Signalement {bracket.reference}\u00a0: Faux"
    assert unpaid.amount_due == Decimal("30.00") and unpaid.status == "disputed"
    for report in (count_on_paid, count_on_disputed, closed, refund, no_invoice):
        report.refresh_from_db()
        assert report.dispute is None
    assert set(InvoiceDispute.objects.all()) == {bracket.dispute, agents}
