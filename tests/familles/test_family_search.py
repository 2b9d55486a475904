"""An agent finds a family by anything heard at the desk, on every list
that shows families, the same way on every database."""

import datetime
import re
from html import unescape

import pytest
from django.urls import reverse

from familles.models import AddressChangeRequest
from familles.search import families_matching, phone_digits
from portail.lookups import fold
from signalements.models import Report
from tests.factories import (
    ChildFactory,
    FamilyFactory,
    GuardianFactory,
    InvoiceFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def jacoby():
    family = FamilyFactory(name="Jacoby")
    GuardianFactory(
        family=family,
        first_name="Éloi",
        last_name="Jacoby",
        email="eloi.jacoby@example.org",
        phone_mobile="+590690123456",
        phone_home="+590590991122",
    )
    ChildFactory(family=family, first_name="Noémie", last_name="Jacoby")
    return family


@pytest.fixture
def dorville():
    family = FamilyFactory(name="Dorville")
    GuardianFactory(
        family=family,
        first_name="Eloïse",
        last_name="Dorville",
        email="e.dorville@example.org",
        phone_mobile="+590690554433",
    )
    ChildFactory(family=family, first_name="Théo", last_name="Dorville")
    return family


def found(text):  # noqa: ANN001, ANN201
    return sorted(family.name for family in families_matching(text))


def test_fold_drops_accents_and_capitals():
    assert fold("Éloïse NOÉMIE Ça") == "eloise noemie ca"
    assert fold(None) is None


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("eloi", ["Dorville", "Jacoby"]),  # Éloi, and Eloïse begins with it
        ("ÉLOI JACOBY", ["Jacoby"]),
        ("eloi dorville", ["Dorville"]),
        ("noemie", ["Jacoby"]),
        ("Theo", ["Dorville"]),
        ("e.dorville@EXAMPLE", ["Dorville"]),
        ("jacoby@example.org", ["Jacoby"]),
        ("schoelcher", []),
        ("%", []),
        ("_", []),
    ],
)
def test_names_and_addresses_are_found_without_accents_or_capitals(
    jacoby, dorville, text, names
):
    assert found(text) == names


@pytest.mark.parametrize(
    "text",
    [
        "0690 12 34 56",
        "0690123456",
        "06.90.12.34.56",
        "+590 690 12 34 56",
        "+590690123456",
        "00590 690-12-34-56",
        "12 34 56",
        "0590 99 11 22",  # the home phone
    ],
)
def test_a_phone_number_is_found_however_it_is_spelt(jacoby, dorville, text):
    assert found(text) == ["Jacoby"]


def test_too_few_digits_are_not_a_phone_number(jacoby, dorville):
    assert phone_digits("0690") is None
    assert phone_digits("0690 12 34 56") == "690123456"
    assert phone_digits("+590 690 12 34 56") == "590690123456"
    assert phone_digits("Jacoby") is None
    assert found("0690") == []


def test_the_identifier_is_found_in_any_case(jacoby, dorville):
    assert found(jacoby.identifier.lower()) == ["Jacoby"]


def test_a_merged_family_is_not_offered(jacoby, dorville):
    jacoby.merged_into = dorville
    jacoby.save()

    assert found("noemie") == []


def test_the_families_list_finds_a_child_without_its_accent(
    staff_client, jacoby, dorville
):
    page = staff_client.get(
        reverse("admin:familles_family_changelist"), {"q": "noemie"}
    ).text

    assert jacoby.identifier in page
    assert dorville.identifier not in page


@pytest.mark.parametrize(
    ("changelist", "make"),
    [
        (
            "admin:signalements_report_changelist",
            lambda family: Report.objects.create(
                family=family,
                kind="other",
                message="Question",
                reference=f"S-{family.identifier}",
                request_key=family.identifier,
            ),
        ),
        (
            "admin:familles_addresschangerequest_changelist",
            lambda family: AddressChangeRequest.objects.create(
                family=family,
                address_line1="3 rue des Palmiers",
                postal_code="97170",
                city="Petit-Bourg",
                request_key=family.identifier,
            ),
        ),
        (
            "admin:factures_invoice_changelist",
            lambda family: InvoiceFactory(family=family),
        ),
    ],
)
def test_the_staff_lists_find_rows_by_their_family(
    staff_client, jacoby, dorville, changelist, make
):
    mine, other = make(jacoby), make(dorville)

    page = staff_client.get(reverse(changelist), {"q": "0690 12 34 56"}).text

    assert f"/{mine.pk}/change/" in page
    assert f"/{other.pk}/change/" not in page


def test_the_lists_own_fields_are_still_searched(staff_client, jacoby, dorville):
    invoice = InvoiceFactory(family=dorville)

    page = staff_client.get(
        reverse("admin:factures_invoice_changelist"), {"q": invoice.number}
    ).text

    assert f"/{invoice.pk}/change/" in page


def test_the_desk_finds_a_family_by_a_name_heard(staff_client, jacoby, dorville):
    url = reverse("admin:paiements_payment_desk")

    one = staff_client.get(url, {"q": "noemie jacoby"}).text
    several = staff_client.get(url, {"q": "eloi"}).text
    none = staff_client.get(url, {"q": "Zébulon"}).text
    exact = staff_client.get(url, {"q": jacoby.identifier}).text

    assert "Enregistrer le paiement" in one and str(jacoby) in one
    assert "2 familles correspondent" in several
    assert f'href="?q={jacoby.identifier}"' in several
    assert f'href="?q={dorville.identifier}"' in several
    assert "Enregistrer le paiement" not in several
    assert "Aucune famille ne correspond à «\u00a0Zébulon\u00a0»" in none
    assert "Enregistrer le paiement" in exact and str(jacoby) in exact


def test_the_links_to_the_desk_open_the_family(staff_client, jacoby):
    for month in (5, 6, 9):
        InvoiceFactory(family=jacoby, period=datetime.date(2026, month, 1))
    pages = [
        reverse("admin:paiements_payment_blocked"),
        reverse("admin:paiements_payment_account", args=[jacoby.pk]),
    ]

    for page in pages:
        html = staff_client.get(page).text
        (link,) = set(re.findall(r'href="([^"]*/guichet/\?[^"]*)"', html))
        desk = staff_client.get(unescape(link)).text
        assert "Enregistrer le paiement" in desk and str(jacoby) in desk, page
