"""Numbers that are not plain ASCII ids ("²", "١٢", a 25-digit id) are refused
cleanly wherever a request carries an id: never a 500."""

import pytest
from django.urls import reverse

from portail.params import parse_id, parse_int

pytestmark = pytest.mark.django_db

HOSTILE = ["²", "١٢", "9" * 25, "-1", "1e3", " ", "0x1F", "１２"]


@pytest.mark.parametrize("value", HOSTILE)
def test_parse_id_takes_ascii_digits_only(value):
    assert parse_id(value) is None


def test_parse_id_reads_plain_ids():
    assert parse_id("42") == 42 and parse_id(" 7 ") == 7
    assert parse_id("0") is None and parse_int("0") == 0
    assert parse_id("9" * 18) == int("9" * 18)


@pytest.mark.now("2026-12-05 10:00 -04:00")  # the online window is open
@pytest.mark.parametrize("value", HOSTILE)
def test_parent_pages_refuse_odd_ids_without_an_error(client, parent, value):
    client.force_login(parent)

    responses = [
        client.get(reverse("paiements:return"), {"paiement": value}),
        client.get(reverse("signalements:report_new"), {"facture": value}),
        client.post(reverse("paiements:review"), {"invoices": [value]}),
        client.post(reverse("paiements:checkout"), {"invoices": [value]}),
        client.get(f"/factures/{'9' * 25}/"),
        client.get(f"/signalements/{'9' * 25}/"),
    ]

    assert [r.status_code for r in responses if r.status_code >= 500] == []
    assert responses[0].status_code == 404
    assert responses[1].status_code == 200
    assert responses[4].status_code == 404 and responses[5].status_code == 404


@pytest.mark.parametrize("value", ["1,²", f"1,{'9' * 25}", "²"])
def test_the_merge_page_refuses_odd_ids_without_an_error(staff_client, value):
    response = staff_client.get(reverse("admin:familles_family_merge"), {"ids": value})

    assert response.status_code == 302  # "Choose at least two families."


@pytest.mark.parametrize(
    ("name", "value"), [("reste", "²-³"), ("reste", f"{'9' * 25}-"), ("age", "²")]
)
def test_the_invoice_filters_refuse_odd_numbers_without_an_error(
    staff_client, name, value
):
    response = staff_client.get(
        reverse("admin:factures_invoice_changelist"), {name: value}
    )

    assert response.status_code < 500
