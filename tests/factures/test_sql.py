"""The invoices app's raw SQL (factures/sql.py), each piece on its own: the
suite runs it on SQLite and, in CI, on PostgreSQL."""

from decimal import Decimal

import pytest

from factures.models import Attendance, Invoice, InvoiceLine
from factures.sql import AttendedDays, PerInvoice, attendance_mark
from tests.factories import InvoiceFactory, InvoiceLineFactory
from tests.factures.conftest import OCTOBER, attend

pytestmark = pytest.mark.django_db


@pytest.fixture
def line(canteen):  # noqa: ANN001, ANN201
    return InvoiceLineFactory(
        invoice=InvoiceFactory(period=OCTOBER, total=Decimal("5.40")), activity=canteen
    )


def test_attendance_mark_marks_the_unbilled_meals_of_each_run(line, canteen):
    attend(line.child, canteen, 1, 2, 5, 20)
    day = OCTOBER.replace

    marked = attendance_mark(
        Attendance,
        [
            (line.pk, line.child_id, canteen.pk, day(day=1), day(day=2)),
            (line.pk, line.child_id, canteen.pk, day(day=5), day(day=5)),
        ],
    )
    again = attendance_mark(
        Attendance, [(line.pk, line.child_id, canteen.pk, day(day=1), day(day=31))]
    )

    assert marked == {line.pk: 3}
    assert again == {line.pk: 1}  # only the 20th was left unbilled
    assert set(
        Attendance.objects.filter(invoice_line=line).values_list("date", flat=True)
    ) == {day(day=1), day(day=2), day(day=5), day(day=20)}
    assert attendance_mark(Attendance, []) == {}


def test_attendance_mark_marks_runs_of_days_of_several_months(line, canteen):
    """Late meals are marked with a later month's: each run where it is,
    whichever month comes first in the rows."""
    september = OCTOBER.replace(month=9)
    attend(line.child, canteen, 28, 29, 30, month=september)
    attend(line.child, canteen, 1, 2, 31)

    marked = attendance_mark(
        Attendance,
        [
            (line.pk, line.child_id, canteen.pk, OCTOBER, OCTOBER.replace(day=2)),
            (
                line.pk,
                line.child_id,
                canteen.pk,
                september.replace(day=29),
                september.replace(day=30),
            ),
        ],
    )

    assert marked == {line.pk: 4}
    assert sorted(
        Attendance.objects.filter(invoice_line=line).values_list("date", flat=True)
    ) == [
        september.replace(day=29),
        september.replace(day=30),
        OCTOBER,
        OCTOBER.replace(day=2),
    ]


def test_attended_days_lists_the_days_a_line_bills_in_its_month(line, canteen):
    attend(line.child, canteen, 2, 9)
    Attendance.objects.update(invoice_line=line)
    attend(line.child, canteen, 10)  # not billed by this line

    (read,) = InvoiceLine.objects.annotate(days=AttendedDays(Attendance, OCTOBER))

    assert read.days.split(",") == ["2026-10-02", "2026-10-09"]


def test_per_invoice_aggregates_the_rows_of_each_invoice(line):
    other = InvoiceFactory(total=Decimal("9.00"))

    amounts = {
        invoice.pk: invoice.n
        for invoice in Invoice.objects.annotate(
            n=PerInvoice(InvoiceLine, "COUNT(*)")
        ).filter(pk__in=[line.invoice_id, other.pk])
    }

    assert amounts == {line.invoice_id: 1, other.pk: 0}
