from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError

from factures.models import CreditNote, Invoice
from factures.services import (
    CreditLine,
    credit_note_issue,
    invoice_cancel,
    invoice_issue_month,
)
from tests.factories import ChildFactory, FamilyFactory
from tests.factures.conftest import OCTOBER, attend

# October's invoices are issued and corrected in November 2026.
pytestmark = [pytest.mark.django_db, pytest.mark.now("2026-11-02 10:00 -04:00")]


@pytest.fixture
def invoice(prices, canteen, staff):  # noqa: ANN001, ANN201
    family = FamilyFactory(bracket=prices["B"])
    attend(ChildFactory(family=family), canteen, *range(1, 11))  # 10 × 1,80 €
    import datetime

    return invoice_issue_month(
        period=OCTOBER, issued_by=staff, today=datetime.date(2026, 11, 2)
    ).created[0]


def refund(invoice, staff, quantity=2, unit=Decimal("1.80")):  # noqa: ANN001, ANN201
    return credit_note_issue(
        invoice=invoice,
        lines=[CreditLine(label="Repas non pris", quantity=quantity, unit_price=unit)],
        reason="Absence pour maladie",
        agent=staff,
    )


def test_a_partial_credit_note_lowers_what_is_due(invoice, staff):
    note = refund(invoice, staff)

    invoice = Invoice.objects.with_balance().get(pk=invoice.pk)
    assert note.total == Decimal("3.60")
    assert note.number == "AV2026-000001"
    assert invoice.total == Decimal("18.00")  # the invoice itself never changes
    assert invoice.amount_credited == Decimal("3.60")
    assert invoice.amount_due == Decimal("14.40")
    assert invoice.status == Invoice.Status.TO_PAY


def test_credit_notes_adding_up_to_the_total_cancel_the_invoice(invoice, staff):
    refund(invoice, staff, quantity=4)
    refund(invoice, staff, quantity=6)

    invoice = Invoice.objects.with_balance().get(pk=invoice.pk)
    assert invoice.amount_due == Decimal("0.00")
    assert invoice.status == Invoice.Status.CANCELLED


def test_a_credit_note_cannot_exceed_what_is_left(invoice, staff):
    refund(invoice, staff, quantity=8)

    with pytest.raises(ValidationError) as error:
        refund(invoice, staff, quantity=3)

    assert "dépasse" in " ".join(error.value.messages)
    assert CreditNote.objects.count() == 1


def test_cancelling_credits_everything_left(invoice, staff):
    refund(invoice, staff, quantity=2)

    note = invoice_cancel(
        invoice=invoice, reason="Facture émise par erreur", agent=staff
    )

    invoice = Invoice.objects.with_balance().get(pk=invoice.pk)
    assert note.is_cancellation
    assert note.total == Decimal("14.40")
    assert invoice.status == Invoice.Status.CANCELLED
    assert invoice.amount_due == Decimal("0.00")
    assert "Annulation de la facture" in note.lines.get().label


def test_a_cancelled_invoice_takes_no_more_credit_notes(invoice, staff):
    invoice_cancel(invoice=invoice, reason="Erreur", agent=staff)

    with pytest.raises(ValidationError):
        refund(invoice, staff)
    with pytest.raises(ValidationError):
        invoice_cancel(invoice=invoice, reason="Encore", agent=staff)
    assert CreditNote.objects.count() == 1


@pytest.mark.parametrize(
    ("lines", "reason"),
    [
        ([], "Motif"),
        ([CreditLine(label="x", quantity=0, unit_price=Decimal("1"))], "Motif"),
        ([CreditLine(label="x", quantity=1, unit_price=Decimal("0"))], "Motif"),
        ([CreditLine(label="x", quantity=1, unit_price=Decimal("1"))], "   "),
    ],
)
def test_bad_credit_notes_are_refused_and_change_nothing(invoice, staff, lines, reason):
    with pytest.raises(ValidationError):
        credit_note_issue(invoice=invoice, lines=lines, reason=reason, agent=staff)

    assert CreditNote.objects.count() == 0
    assert Invoice.objects.with_balance().get(pk=invoice.pk).amount_due == Decimal(
        "18.00"
    )


def test_a_credit_note_on_new_years_eve_in_guadeloupe_is_numbered_in_that_year(
    invoice, staff
):
    # 23:30 on 31 December in Guadeloupe is already 1 January in UTC.
    with time_machine.travel("2026-12-31 23:30 -04:00", tick=False):
        last_of_2026 = refund(invoice, staff, quantity=1)
    with time_machine.travel("2027-01-01 00:00 -04:00", tick=False):
        first_of_2027 = refund(invoice, staff, quantity=1)

    assert last_of_2026.number == "AV2026-000001"
    assert first_of_2027.number == "AV2027-000001"
