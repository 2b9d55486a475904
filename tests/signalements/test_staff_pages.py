"""The reports' staff pages (`signalements.staff_views`): their
permissions, and the answer's breadcrumbs (the list, then the report)."""

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from signalements.models import Report
from signalements.services import report_can_credit
from tests.conftest import STAFF_PASSWORD
from tests.factories import InvoiceFactory, ReportFactory, StaffFactory
from tests.helpers import give_totp, staff_login_with_totp

pytestmark = pytest.mark.django_db


def agent_client(client: Client, *codenames: str) -> Client:
    agent = StaffFactory()
    agent.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    staff_login_with_totp(client, agent, STAFF_PASSWORD, give_totp(agent))
    return client


def test_the_answer_needs_the_change_permission(client):
    report = ReportFactory()
    agent = agent_client(client, "view_report")

    response = agent.get(reverse("admin:signalements_report_answer", args=[report.pk]))

    assert response.status_code == 403


@pytest.mark.parametrize(
    ("codename", "status"),
    [("view_report", 404), ("change_report", 404), ("view_family", 403)],
)
def test_an_attachment_is_downloaded_by_who_sees_the_reports(client, codename, status):
    agent = agent_client(client, codename)

    response = agent.get(
        reverse("admin:signalements_reportattachment_download", args=[9])
    )

    assert response.status_code == status


def test_the_answer_page_leads_back_to_the_list_and_the_report(staff_client):
    report = ReportFactory()
    changelist = reverse("admin:signalements_report_changelist")
    change = reverse("admin:signalements_report_change", args=[report.pk])

    page = staff_client.get(
        reverse("admin:signalements_report_answer", args=[report.pk])
    )

    assert page.status_code == 200
    assert [url for _, url in page.context["crumbs"]] == [changelist, change]
    assert f'<a href="{change}">{report.reference}</a>' in page.text
    assert report.reference in page.context["title"]
    assert page.context["formset"] is None


def test_a_report_is_credited_when_its_kind_allows_and_it_names_an_invoice(family):
    invoice = InvoiceFactory(family=family)

    assert report_can_credit(
        report=ReportFactory(family=family, kind=Report.Kind.REFUND, invoice=invoice)
    )
    assert not report_can_credit(
        report=ReportFactory(family=family, kind=Report.Kind.REFUND)
    )
    assert not report_can_credit(
        report=ReportFactory(family=family, kind=Report.Kind.OTHER, invoice=invoice)
    )
