"""A parent only ever reaches their own family's data."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from paiements.models import Payment
from paiements.services import payment_record_desk
from tests.factories import InvoiceFactory

pytestmark = pytest.mark.django_db

PARENT_PAGES = [
    "home",
    "familles:dossier",
    "factures:list",
    "paiements:home",
    "paiements:list",
]


@pytest.mark.parametrize("page", PARENT_PAGES)
def test_anonymous_visitors_are_sent_to_the_login(client, page):
    response = client.get(reverse(page))

    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


@pytest.mark.parametrize("page", PARENT_PAGES)
def test_two_families_never_see_each_other(client, parent, other_parent, page):
    # Both families have an invoice and a payment: the page shows the
    # viewer's own and never the other's.
    def history(family, number):  # noqa: ANN001, ANN202
        invoice = InvoiceFactory(family=family, number=number)
        payment = payment_record_desk(
            family=family,
            method=Payment.Method.CASH,
            amount=Decimal("10.00"),
            allocations={invoice.pk: Decimal("10.00")},
            agent=None,
        )
        return invoice, payment

    their_invoice, their_payment = history(parent.family, "F2026-777001")
    my_invoice, my_payment = history(other_parent.family, "F2026-777002")
    client.force_login(other_parent)

    response = client.get(reverse(page))

    assert response.status_code == 200
    mine, theirs = other_parent.family, parent.family
    assert theirs.identifier not in response.text
    assert theirs.name not in response.text
    for child in theirs.children.all():
        assert child.first_name not in response.text
    assert "josiane@example.org" not in response.text
    assert their_invoice.number not in response.text
    assert their_payment.number not in response.text
    if page in {"home", "familles:dossier"}:
        assert mine.identifier in response.text
    if page == "factures:list":
        assert my_invoice.number in response.text
    if page == "paiements:list":
        assert my_payment.number in response.text


@pytest.mark.now("2026-10-15 10:00 -04:00")  # the bracket starts on 1 September
def test_the_dossier_shows_the_familys_own_data(client, parent):
    client.force_login(parent)

    page = client.get(reverse("familles:dossier")).text

    assert parent.family.identifier in page
    assert "Josiane" in page
    assert "josiane@example.org" in page
    assert "0690 12 34 56" in page
    assert "Kenzo" in page and "Inaya" in page
    assert "Tranche B" in page


@pytest.mark.now("2026-10-15 10:00 -04:00")
def test_the_dossier_shows_the_bracket_in_force_today(client, parent):
    """Not one that starts tomorrow; and "not set" without any."""
    from factures.models import BracketAssignment
    from tests.factories import TariffBracketFactory

    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    BracketAssignment.objects.create(
        family=parent.family,
        bracket=TariffBracketFactory(code="C", label="Tranche C"),
        valid_from=tomorrow,
    )
    client.force_login(parent)

    page = client.get(reverse("familles:dossier")).text
    assert "Tranche B" in page and "Tranche C" not in page

    BracketAssignment.objects.filter(family=parent.family).delete()
    page = client.get(reverse("familles:dossier")).text
    assert "Tranche B" not in page and "non renseignée" in page


def test_parent_urls_take_no_family_from_the_request(client, parent, other_parent):
    client.force_login(parent)

    response = client.get(
        reverse("familles:dossier"),
        {"family": other_parent.family.pk, "id": other_parent.family.pk},
    )

    assert other_parent.family.identifier not in response.text
    assert parent.family.identifier in response.text


def test_staff_are_sent_from_parent_pages_to_the_admin(client, staff):
    client.force_login(staff)

    response = client.get(reverse("home"))

    assert response.status_code == 302
    assert response.url == reverse("admin:index")


def test_no_family_page_or_document_is_kept_in_a_cache(client, parent):
    from decimal import Decimal

    from tests.factories import InvoiceFactory, PaymentFactory

    invoice = InvoiceFactory(family=parent.family)
    payment = PaymentFactory(family=parent.family, allocations={invoice: Decimal("5")})
    client.force_login(parent)

    for url in [
        reverse("home"),
        reverse("familles:dossier"),
        reverse("factures:list"),
        reverse("factures:detail", args=[invoice.pk]),
        reverse("factures:pdf", args=[invoice.pk]),
        reverse("paiements:receipt", args=[payment.pk]),
        reverse("signalements:report_list"),
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert "no-store" in response["Cache-Control"], url
        assert "private" in response["Cache-Control"], url
