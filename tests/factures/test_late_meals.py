"""Meals recorded for a month already invoiced are billed by the next run of
a later month, on adjustment lines that name their month (issue 18)."""

import datetime
import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.urls import reverse

from factures.models import Attendance, BracketAssignment, Invoice, InvoiceLine
from factures.services import LATE_MEALS_MONTHS, invoice_issue_month
from tests.factories import ChildFactory, FamilyFactory, InvoiceFactory
from tests.factures.conftest import OCTOBER, attend
from tests.factures.test_invoice_pages import pdf_text

# Every run below is of a month over by then: September, October, November.
pytestmark = [pytest.mark.django_db, pytest.mark.now("2026-12-02 09:00 -04:00")]

SEPTEMBER = datetime.date(2026, 9, 1)
NOVEMBER = datetime.date(2026, 11, 1)
ADJUSTMENT_SEPTEMBER = "Régularisation septembre 2026 – Restauration scolaire"


def run(period):  # noqa: ANN001, ANN201
    return invoice_issue_month(period=period, issued_by=None)


@pytest.fixture
def kenzo(prices):  # noqa: ANN001, ANN201
    """A child of bracket B (meal 1,80 €) since 1 September 2026."""
    return ChildFactory(
        family=FamilyFactory(name="Dorville", bracket=prices["B"]), first_name="Kenzo"
    )


@pytest.fixture
def september_invoiced(kenzo, canteen):  # noqa: ANN001, ANN201
    """Kenzo's September (two meals) invoiced; then a meal of the 14th is
    recorded, late."""
    attend(kenzo, canteen, 1, 2, month=SEPTEMBER)
    (invoice,) = run(SEPTEMBER).created
    attend(kenzo, canteen, 14, month=SEPTEMBER)
    return invoice


def lines_of(invoice):  # noqa: ANN001, ANN201
    return [
        (line.label, line.bracket_label, line.quantity, line.unit_price, line.amount)
        for line in invoice.lines.all()
    ]


def test_a_late_meal_is_billed_next_month_at_the_price_of_its_own_day(
    kenzo, canteen, prices, september_invoiced
):
    """From October the family is in bracket A (1,00 €): the late meal of
    14 September keeps bracket B's price, on a line that names September."""
    BracketAssignment.objects.create(
        family=kenzo.family, bracket=prices["A"], valid_from=OCTOBER
    )
    attend(kenzo, canteen, 1, 2, 5)

    result = run(OCTOBER)

    (october,) = result.created
    assert lines_of(october) == [
        ("Restauration scolaire", "Tranche A", 3, Decimal("1.00"), Decimal("3.00")),
        (ADJUSTMENT_SEPTEMBER, "Tranche B", 1, Decimal("1.80"), Decimal("1.80")),
    ]
    assert october.total == Decimal("4.80")
    assert october.period == OCTOBER
    assert (result.late_meals, result.late_families) == (1, 1)


def test_the_late_meal_is_marked_with_its_adjustment_line(
    kenzo, canteen, september_invoiced
):
    attend(kenzo, canteen, 1)

    (october,) = run(OCTOBER).created

    adjustment = october.lines.get(label=ADJUSTMENT_SEPTEMBER)
    late = Attendance.objects.get(date=SEPTEMBER.replace(day=14))
    assert late.invoice_line == adjustment
    assert not Attendance.objects.filter(invoice_line__isnull=True).exists()


def test_the_invoice_already_issued_is_left_as_it_was(
    kenzo, canteen, september_invoiced
):
    before = lines_of(september_invoiced)
    attend(kenzo, canteen, 1)

    run(OCTOBER)

    september = Invoice.objects.get(pk=september_invoiced.pk)
    assert lines_of(september) == before
    assert september.total == Decimal("3.60")
    assert september.history.count() == 1
    assert Attendance.objects.filter(invoice_line__invoice=september).count() == 2


def test_a_family_with_only_late_meals_gets_an_invoice_for_the_month(
    kenzo, september_invoiced
):
    result = run(OCTOBER)

    (october,) = result.created
    assert october.family == kenzo.family and october.period == OCTOBER
    assert lines_of(october) == [
        (ADJUSTMENT_SEPTEMBER, "Tranche B", 1, Decimal("1.80"), Decimal("1.80"))
    ]
    assert october.total == Decimal("1.80")


def test_a_month_invoiced_for_other_families_only_is_invoiced_all_the_same(
    kenzo, canteen, prices
):
    """September was invoiced (another family's invoice): a meal of Kenzo's
    recorded since is late, though he had no September invoice."""
    other = ChildFactory(family=FamilyFactory(bracket=prices["B"]))
    attend(other, canteen, 1, month=SEPTEMBER)
    run(SEPTEMBER)
    attend(kenzo, canteen, 3, 4, month=SEPTEMBER)

    (october,) = run(OCTOBER).created

    assert october.family == kenzo.family
    assert lines_of(october) == [
        (ADJUSTMENT_SEPTEMBER, "Tranche B", 2, Decimal("1.80"), Decimal("3.60"))
    ]


def test_running_again_bills_a_late_meal_once(kenzo, canteen, september_invoiced):
    attend(kenzo, canteen, 1)
    first = run(OCTOBER)

    again = run(OCTOBER)
    november = run(NOVEMBER)

    assert first.late_meals == 1
    assert (again.created, again.late_meals) == ([], 0)
    assert (november.created, november.late_meals) == ([], 0)
    assert InvoiceLine.objects.filter(label=ADJUSTMENT_SEPTEMBER).count() == 1


def test_a_month_never_invoiced_is_left_to_its_own_run(kenzo, canteen):
    attend(kenzo, canteen, 1, 2, month=SEPTEMBER)  # September never run
    attend(kenzo, canteen, 1)

    october = run(OCTOBER)

    (invoice,) = october.created
    assert [line[0] for line in lines_of(invoice)] == ["Restauration scolaire"]
    assert invoice.total == Decimal("1.80")
    assert october.late_meals == 0
    (september,) = run(SEPTEMBER).created
    assert lines_of(september) == [
        ("Restauration scolaire", "Tranche B", 2, Decimal("1.80"), Decimal("3.60"))
    ]


def test_a_late_meal_of_a_later_month_is_not_billed_with_an_earlier_one(
    kenzo, canteen, prices
):
    """October's run, made again after November was invoiced, leaves a late
    November meal to the runs after November."""
    attend(kenzo, canteen, 2, month=NOVEMBER)
    run(NOVEMBER)
    attend(kenzo, canteen, 3, month=NOVEMBER)  # late
    attend(kenzo, canteen, 5)  # October, never run

    (october,) = run(OCTOBER).created

    assert [line[0] for line in lines_of(october)] == ["Restauration scolaire"]
    assert Attendance.objects.get(date=NOVEMBER.replace(day=3)).invoice_line is None


def test_each_late_month_has_its_own_line(kenzo, canteen, after_school):
    inaya = ChildFactory(family=kenzo.family, first_name="Inaya")
    attend(kenzo, canteen, 1, month=SEPTEMBER)
    run(SEPTEMBER)
    attend(inaya, after_school, 1)
    run(OCTOBER)
    attend(kenzo, canteen, 2, 3, month=SEPTEMBER)  # late for September
    attend(kenzo, canteen, 5)  # late for October
    attend(kenzo, after_school, 6)  # late for October
    attend(kenzo, canteen, 2, month=NOVEMBER)

    result = run(NOVEMBER)

    (november,) = result.created
    lines = {
        (line.child_name.split()[0], line.label): (line.quantity, line.amount)
        for line in november.lines.all()
    }
    assert lines == {
        ("Kenzo", "Restauration scolaire"): (1, Decimal("1.80")),
        ("Kenzo", ADJUSTMENT_SEPTEMBER): (2, Decimal("3.60")),
        ("Kenzo", "Régularisation octobre 2026 – Restauration scolaire"): (
            1,
            Decimal("1.80"),
        ),
        ("Kenzo", "Régularisation octobre 2026 – Garderie du soir"): (
            1,
            Decimal("0.80"),
        ),
    }
    assert november.total == Decimal("8.00")
    assert result.late_meals == 4
    assert not Attendance.objects.filter(invoice_line__isnull=True).exists()


def test_a_late_meal_beyond_the_lookback_is_not_billed(kenzo, canteen):
    """Meals of a month invoiced more than `LATE_MEALS_MONTHS` months earlier
    are not looked for (the run reads a bounded span of the meals)."""
    too_old = datetime.date(2026 - LATE_MEALS_MONTHS // 12, 9, 1)
    InvoiceFactory(period=too_old)
    attend(kenzo, canteen, 15, month=too_old)
    attend(kenzo, canteen, 1)

    result = run(OCTOBER)

    (october,) = result.created
    assert [line[0] for line in lines_of(october)] == ["Restauration scolaire"]
    assert result.late_meals == 0 and result.errors == {}


def test_a_late_meal_without_a_tariff_stops_its_family_only(kenzo, canteen, prices):
    """August was invoiced, but Kenzo's family had no bracket then: the day
    is named, and another family is invoiced."""
    august = datetime.date(2026, 8, 1)
    InvoiceFactory(period=august)
    attend(kenzo, canteen, 20, month=august)
    attend(kenzo, canteen, 1)
    other = ChildFactory(family=FamilyFactory(bracket=prices["B"]))
    attend(other, canteen, 1)

    result = run(OCTOBER)

    assert [invoice.family for invoice in result.created] == [other.family]
    assert "20 août 2026" in result.errors[kenzo.family.identifier]
    assert not Attendance.objects.filter(
        child=kenzo, invoice_line__isnull=False
    ).exists()


def test_the_command_says_how_many_late_meals_it_billed(
    kenzo, canteen, september_invoiced
):
    attend(kenzo, canteen, 15, month=SEPTEMBER)
    out = io.StringIO()

    call_command("invoice_month", "2026-10", stdout=out)

    assert "1 invoice(s) issued" in out.getvalue()
    assert "2 repas tardifs facturés en régularisation." in out.getvalue()


def test_the_invoicing_page_says_how_many_late_meals_it_billed(
    staff_client, september_invoiced, run_month
):
    run_month("2026-10")
    response = staff_client.get(reverse("admin:factures_invoice_run"))

    assert response.context["runs"][0].late_meals == 1
    assert "1 repas tardif facturé en régularisation" in response.text


def test_the_invoice_page_and_pdf_show_the_adjustment_line(
    client, parent, prices, canteen
):
    kenzo = parent.family.children.get(first_name="Kenzo")
    BracketAssignment.objects.filter(family=parent.family).update(bracket=prices["B"])
    attend(kenzo, canteen, 1, month=SEPTEMBER)
    run(SEPTEMBER)
    attend(kenzo, canteen, 14, 15, month=SEPTEMBER)
    attend(kenzo, canteen, 1)
    (october,) = run(OCTOBER).created
    client.force_login(parent)

    page = client.get(reverse("factures:detail", args=[october.pk])).text
    pdf = pdf_text(client.get(reverse("factures:pdf", args=[october.pk])).content)

    page = page.replace("\u00a0", " ")
    assert f"{ADJUSTMENT_SEPTEMBER} (Tranche B) : 2 × 1,80 € = " in page
    assert "1 jour de présence." in page  # October's calendar: October's day
    assert ADJUSTMENT_SEPTEMBER in pdf
    assert "5,40 €" in pdf
