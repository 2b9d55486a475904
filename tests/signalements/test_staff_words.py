"""The agents' report page speaks French and local time (issue 19, 4): a
report sent late on the 5th in Guadeloupe is of the 5th, not UTC's 6th."""

import pytest
from django.urls import reverse

from familles.models import AddressChangeRequest
from signalements.services import report_submit, report_update

pytestmark = [pytest.mark.django_db, pytest.mark.now("2026-12-05 23:30 -04:00")]


def test_the_report_page_names_its_columns_in_french(staff_client, parent, staff):
    report = report_submit(
        family=parent.family,
        user=parent,
        kind="other",
        message="Question",
        request_key="k" * 32,
    ).report
    report_update(report=report, agent=staff, status="resolved", message="Réponse")

    page = staff_client.get(
        reverse("admin:signalements_report_change", args=[report.pk])
    ).text

    assert "Statut précédent" in page and "Status before" not in page
    assert "Clos le" in page and "Close le" not in page
    assert str(report.updates.get()).endswith("05/12/2026")


def test_an_address_request_is_titled_with_its_local_date(family):
    request = AddressChangeRequest.objects.create(
        family=family,
        address_line1="5 rue des Flamboyants",
        postal_code="97170",
        city="Petit-Bourg",
        request_key="a" * 32,
    )

    assert str(request).endswith("05/12/2026")
