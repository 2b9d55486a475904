"""The invoices app's raw SQL (factures/sql.py), each piece on its own: the
suite runs it on SQLite and, in CI, on PostgreSQL."""

from decimal import Decimal

import pytest
from django.utils import timezone

from factures.models import Attendance, Invoice, InvoiceLine
from factures.sql import AttendedDays, PerInvoice, attendance_mark, history_copy
from tests.factories import InvoiceFactory, InvoiceLineFactory, StaffFactory
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


def test_history_copy_writes_the_rows_the_library_writes():
    """The run copies its invoices' creation history in SQL: the rows must
    be the ones `bulk_history_create` would have written, field by field."""
    agent = StaffFactory()
    invoices = [
        InvoiceFactory(period=OCTOBER, total=Decimal("5.40")),
        InvoiceFactory(period=OCTOBER, total=Decimal("0.00"), paperless=True),
    ]
    when = timezone.now()
    Invoice.history.all().delete()
    Invoice.history.bulk_history_create(invoices, default_user=agent, default_date=when)
    expected = _history_rows()
    Invoice.history.all().delete()

    written = history_copy(Invoice, [i.pk for i in invoices], user_id=agent.pk, when=when)

    assert written == 2
    assert _history_rows() == expected
    assert history_copy(Invoice, [], user_id=None, when=when) == 0


def _history_rows() -> list[dict]:
    fields = [
        f.attname
        for f in Invoice.history.model._meta.concrete_fields
        if f.attname != "history_id"
    ]
    return list(Invoice.history.order_by("id").values(*fields))
