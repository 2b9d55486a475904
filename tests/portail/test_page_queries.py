"""Parent pages make the same number of queries whatever the amount of data
(no query per invoice, payment or report)."""

import datetime
from decimal import Decimal

import pytest
from django.core.paginator import Page
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from paiements.models import Payment
from paiements.services import payment_record_desk
from portail.pages import PER_PAGE
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


def add_history(family, months, year=2025):  # noqa: ANN001, ANN202
    for month in months:
        invoice = InvoiceFactory(family=family, period=datetime.date(year, month, 1))
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
            request_key=f"q{family.pk:08d}{year:04d}{month:019d}",
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


SCHOOL_YEAR = [1, 2, 3, 4, 5, 6, 9, 10, 11, 12]


@pytest.mark.parametrize("page", PAGES)
def test_parent_pages_cost_the_same_after_five_school_years(client, parent, page):
    """A family with five years of invoices, payments and reports: each
    page makes the queries it made after one year, and shows (so reads) at
    most a page of rows; the older ones are a link away."""
    client.force_login(parent)

    def visit() -> tuple[int, list[int]]:
        with CaptureQueriesContext(connection) as context:
            response = client.get(reverse(page))
        assert response.status_code == 200
        shown = [
            len(value)
            for value in response.context[-1].flatten().values()
            if isinstance(value, Page)
        ]
        return len(context), shown

    add_history(parent.family, SCHOOL_YEAR, year=2021)
    one_year = visit()
    for year in (2022, 2023, 2024, 2025):
        add_history(parent.family, SCHOOL_YEAR, year=year)
    five_years = visit()

    assert five_years[0] == one_year[0], (
        f"{page}: {one_year[0]} queries after one year, {five_years[0]} after five"
    )
    assert all(rows <= PER_PAGE for rows in five_years[1]), five_years[1]


def test_older_invoices_are_on_the_next_pages(client, parent):
    add_history(parent.family, SCHOOL_YEAR, year=2024)
    add_history(parent.family, SCHOOL_YEAR, year=2025)
    add_history(parent.family, [1, 2, 3], year=2026)
    client.force_login(parent)
    url = reverse("factures:list")

    newest_first = sorted(
        [datetime.date(2024, month, 1) for month in SCHOOL_YEAR]
        + [datetime.date(2025, month, 1) for month in SCHOOL_YEAR]
        + [datetime.date(2026, month, 1) for month in (1, 2, 3)],
        reverse=True,
    )
    assert PER_PAGE < len(newest_first) <= 2 * PER_PAGE  # two pages

    first = client.get(url)
    second = client.get(url, {"page": "2"})

    assert [i.period for i in first.context["invoices"]] == newest_first[:PER_PAGE]
    assert [i.period for i in second.context["invoices"]] == newest_first[PER_PAGE:]
    assert "Page 2 sur 2" in second.content.decode()
    assert 'rel="prev"' in second.content.decode()
    # A page that is not a number, or beyond the last: the first, the last.
    assert client.get(url, {"page": "abc"}).context["invoices"].number == 1
    assert client.get(url, {"page": "999"}).context["invoices"].number == 2


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
