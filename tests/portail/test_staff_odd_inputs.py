"""What an agent types or a link carries that the database cannot take gets a
clear answer in the admin, never a 500."""

import pytest
from django.urls import reverse

from tests.factories import FamilyFactory, InvoiceFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "2026-02-30", "²"])
def test_the_cash_journal_takes_any_day(staff_client, day):
    response = staff_client.get(
        reverse("admin:paiements_payment_journal"), {"jour": day}
    )

    assert response.status_code == 200


@pytest.mark.parametrize(
    ("url", "params"),
    [
        ("admin:paiements_payment_changelist", {"received_at__year": "9999"}),
        ("admin:paiements_payment_changelist", {"received_at__year": "0"}),
        ("admin:signalements_report_changelist", {"created_at__year": "9999"}),
        ("admin:factures_invoice_changelist", {"period__year": "9999"}),
        ("admin:factures_attendance_changelist", {"date__year": "²"}),
        ("admin:paiements_paymentoverride_add", {"family": "abc"}),
        ("admin:paiements_paymentoverride_add", {"family": "9" * 25}),
    ],
)
def test_lists_and_forms_refuse_odd_parameters_without_an_error(
    staff_client, url, params
):
    response = staff_client.get(reverse(url), params)

    assert response.status_code in (200, 302)


def test_a_desk_reference_too_long_is_explained(staff_client):
    family = FamilyFactory()
    invoice = InvoiceFactory(family=family)

    response = staff_client.post(
        reverse("admin:paiements_payment_desk") + f"?q={family.identifier}",
        {
            "q": family.identifier,
            "method": "cheque",
            "amount": "30,00",
            "reference": "1" * 300,
            f"invoice_{invoice.pk}": "30,00",
        },
    )

    assert response.status_code == 200
    assert "reference" in response.context["form"].errors


def test_a_credit_note_quantity_too_large_is_explained(staff_client):
    invoice = InvoiceFactory()

    response = staff_client.post(
        reverse("admin:factures_invoice_credit", args=[invoice.pk]),
        {
            "reason": "Erreur",
            "lines-TOTAL_FORMS": "1",
            "lines-INITIAL_FORMS": "0",
            "lines-0-label": "Repas",
            "lines-0-quantity": "1" + "0" * 30,
            "lines-0-unit_price": "1,80",
        },
    )

    assert response.status_code == 200
    assert response.context["formset"].errors[0]["quantity"]
