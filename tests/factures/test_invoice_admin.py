from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from factures.models import Invoice
from tests.conftest import STAFF_PASSWORD
from tests.factories import ChildFactory, FamilyFactory, StaffFactory
from tests.factures.conftest import attend
from tests.helpers import give_totp, staff_login_with_totp

pytestmark = pytest.mark.django_db


@pytest.fixture
def october_attendance(prices, canteen):  # noqa: ANN001, ANN201
    paper = FamilyFactory(name="Papier", bracket=prices["B"])
    online = FamilyFactory(name="Numerique", bracket=prices["B"], paperless=True)
    for family in (paper, online):
        attend(ChildFactory(family=family), canteen, 1, 2)
    return paper, online


@pytest.mark.now("2026-11-26 10:00 -04:00")
def test_administrator_runs_the_month_once(staff_client, october_attendance, run_month):
    url = reverse("admin:factures_invoice_run")

    assert run_month("2026-10").url == url
    response = staff_client.get(url)

    (run,) = response.context["runs"]
    assert (run.status, run.invoices_issued, run.already_invoiced) == ("done", 2, 0)
    assert "2 factures émises, 7,20" in response.text.replace("\xa0", " ")
    run_month("2026-10")
    again = staff_client.get(url)
    second = again.context["runs"][0]
    assert (second.invoices_issued, second.already_invoiced) == (0, 2)
    assert "2 familles déjà facturées" in again.text
    assert Invoice.objects.count() == 2

    assert response.context["batches"] == []  # running prints nothing


@pytest.mark.now("2026-11-26 10:00 -04:00")
def test_the_current_month_cannot_be_chosen(staff_client, october_attendance):
    response = staff_client.post(
        reverse("admin:factures_invoice_run"), {"month": "2026-11", "run": "1"}
    )

    assert response.status_code == 200
    assert "month" in response.context["form"].errors
    assert Invoice.objects.count() == 0


@pytest.mark.now("2026-11-26 10:00 -04:00")
def test_an_agent_without_the_right_cannot_run_the_invoicing(
    client, october_attendance
):
    agent = StaffFactory()
    agent.user_permissions.set(Permission.objects.filter(codename="view_invoice"))
    staff_login_with_totp(client, agent, STAFF_PASSWORD, give_totp(agent))

    response = client.post(
        reverse("admin:factures_invoice_run"), {"month": "2026-10", "run": "1"}
    )

    assert response.status_code == 403
    assert Invoice.objects.count() == 0


@pytest.mark.now("2026-11-26 10:00 -04:00")
def test_invoices_cannot_be_added_edited_or_deleted_in_the_admin(
    staff_client, october_attendance, run_month
):
    run_month("2026-10")
    invoice = Invoice.objects.first()

    delete = staff_client.post(
        reverse("admin:factures_invoice_delete", args=[invoice.pk]), {"post": "yes"}
    )
    edit = staff_client.post(
        reverse("admin:factures_invoice_change", args=[invoice.pk]), {"total": "0"}
    )

    assert delete.status_code == 403
    assert edit.status_code == 403
    assert Invoice.objects.get(pk=invoice.pk).total == invoice.total
    assert staff_client.get(reverse("admin:factures_invoice_add")).status_code == 403


@pytest.mark.now("2026-11-26 10:00 -04:00")
def test_agent_issues_a_credit_note_from_the_invoice_page(
    staff_client, october_attendance, run_month
):
    run_month("2026-10")
    invoice = Invoice.objects.first()
    url = reverse("admin:factures_invoice_credit", args=[invoice.pk])
    lines = {
        "lines-TOTAL_FORMS": "3",
        "lines-INITIAL_FORMS": "0",
        "lines-0-label": "Repas non pris",
        "lines-0-quantity": "1",
        "lines-0-unit_price": "1,80",
        # The two empty rows, as the browser sends them.
        "lines-1-quantity": "1",
        "lines-2-quantity": "1",
    }

    too_much = staff_client.post(
        url, {"reason": "Absence", **lines, "lines-0-quantity": "9"}
    )
    assert too_much.status_code == 200
    assert invoice.credit_notes.count() == 0

    done = staff_client.post(url, {"reason": "Absence", **lines})
    assert done.status_code == 302
    assert Invoice.objects.with_balance().get(pk=invoice.pk).amount_credited == Decimal(
        "1.80"
    )
