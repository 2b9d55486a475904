"""The invoices app's raw SQL (factures/sql.py), each piece on its own: the
suite runs it on SQLite and, in CI, on PostgreSQL."""

from decimal import Decimal

import pytest
from django.db import DataError, IntegrityError, transaction
from django.utils import timezone

from factures.models import Attendance, Invoice, InvoiceLine
from factures.sql import (
    AttendedDays,
    PerInvoice,
    _array_element,
    attendance_mark,
    history_copy,
    rows_insert,
)
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

    written = history_copy(
        Invoice, [i.pk for i in invoices], user_id=agent.pk, when=when
    )

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


def test_rows_insert_writes_each_value_as_given_and_returns_the_ids_in_order(
    family, canteen
):
    """The run's rows travel as array literals on PostgreSQL: quotes,
    backslashes, braces, commas, line breaks, accents and empty strings
    must arrive unchanged, NULL as NULL, a left-out field as its default."""
    when = timezone.now()
    texts = ['Dupont "Jo", {fils}\\ à l\'école\n97170 Petit-Bourg', "", "NULL"]
    rows = [
        {
            "number": f"T2026-{n:06d}",
            "family_id": family.pk,
            "period": OCTOBER.replace(month=n),  # one invoice a family and month
            "issued_by_id": None,
            "total": Decimal("12.30") * n,
            "family_identifier": family.identifier,
            "family_name": text,
            "billing_address": text,
            "paperless": n % 2 == 0,
            "is_open": True,  # unpaid (the suite checks the flag)
        }
        for n, text in enumerate(texts, start=1)
    ]

    ids = rows_insert(Invoice, rows)

    assert len(ids) == 3
    saved = Invoice.objects.in_bulk(ids)
    for pk, row in zip(ids, rows, strict=True):
        invoice = saved[pk]
        assert invoice.number == row["number"]
        assert invoice.family_name == invoice.billing_address == row["family_name"]
        assert invoice.total == row["total"] and invoice.period == row["period"]
        assert (
            invoice.paperless is row["paperless"] and invoice.is_open is row["is_open"]
        )
        assert invoice.issued_by_id is None and invoice.replaces_id is None
        assert abs((invoice.issued_at - when).total_seconds()) < 60  # its default
    assert rows_insert(Invoice, []) == []


def test_rows_insert_refuses_a_row_without_a_required_value(family):
    with pytest.raises((ValueError, IntegrityError)), transaction.atomic():
        rows_insert(InvoiceLine, [{"label": "Cantine"}])  # no invoice, no child
    assert not InvoiceLine.objects.exists()


@pytest.mark.postgres  # SQLite does not enforce lengths
def test_rows_insert_never_truncates_a_value_too_long_for_its_column(family):
    row = {
        "number": "T" * 21,  # max_length 20
        "family_id": family.pk,
        "period": OCTOBER,
        "total": Decimal("1.00"),
        "family_identifier": family.identifier,
        "family_name": "x",
        "billing_address": "x",
        "paperless": False,
    }
    with pytest.raises(DataError), transaction.atomic():
        rows_insert(Invoice, [row])
    assert not Invoice.objects.exists()


def test_rows_insert_refuses_a_value_it_cannot_write_as_an_array_element():
    """A JSON adapter or bytes would otherwise travel as their repr."""
    with pytest.raises(TypeError):
        _array_element(b"\x00")
    assert _array_element('a"b\\c') == '"a\\"b\\\\c"'
    assert _array_element(None) == "NULL" and _array_element(False) == "f"
