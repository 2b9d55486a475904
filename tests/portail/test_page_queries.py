"""Parent pages make the same number of queries whatever the amount of data
(no query per invoice, payment or report)."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from paiements.models import Payment
from paiements.services import payment_record_desk
from signalements.services import report_submit
from tests.factories import InvoiceFactory

pytestmark = pytest.mark.django_db

PAGES = [
    "home",
    "familles:dossier",
    "factures:list",
    "paiements:home",
    "paiements:list",
    "signalements:report_list",
]


def add_history(family, months):  # noqa: ANN001, ANN202
    for month in months:
        invoice = InvoiceFactory(family=family, period=datetime.date(2025, month, 1))
        payment_record_desk(
            family=family,
            method=Payment.Method.CASH,
            amount=Decimal("10.00"),
            allocations={invoice.pk: Decimal("10.00")},
            agent=None,
        )
        report_submit(
            family=family,
            user=None,
            kind="other",
            message=f"Question {month}",
            request_key=f"q{family.pk:08d}{month:023d}",
        )


@pytest.mark.parametrize("page", PAGES)
def test_parent_pages_do_not_query_once_per_row(client, parent, page):
    client.force_login(parent)

    def count() -> int:
        with CaptureQueriesContext(connection) as context:
            assert client.get(reverse(page)).status_code == 200
        return len(context)

    add_history(parent.family, [1, 2])
    few = count()
    add_history(parent.family, range(3, 13))
    many = count()

    assert many == few, f"{page}: {few} queries with 2 months, {many} with 12"


def test_the_invoice_page_does_not_query_once_per_line_or_day(client, parent):
    """An invoice with one child is read with as many queries as one with
    three children, their meals, credit notes and payments."""
    from factures.models import Activity, Attendance
    from tests.factories import ChildFactory

    canteen = Activity.objects.create(code="cantine", label="Restauration scolaire")
    client.force_login(parent)

    def count(children: int) -> int:
        invoice = InvoiceFactory(
            family=parent.family, period=datetime.date(2025, children, 1)
        )
        for n in range(children):
            child = ChildFactory(family=parent.family)
            line = invoice.lines.create(
                child=child,
                activity=canteen,
                child_name=f"{child.first_name} {child.last_name}",
                label=canteen.label,
                bracket_label="Tranche B",
                quantity=10,
                unit_price=Decimal("1.80"),
                amount=Decimal("18.00"),
            )
            Attendance.objects.bulk_create(
                Attendance(
                    child=child,
                    activity=canteen,
                    date=datetime.date(2025, children, day),
                    invoice_line=line,
                )
                for day in range(1, 11 + n)
            )
        url = reverse("factures:detail", args=[invoice.pk])
        with CaptureQueriesContext(connection) as context:
            assert client.get(url).status_code == 200
        return len(context)

    assert count(1) == count(3)
