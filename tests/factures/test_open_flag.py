"""`Invoice.is_open`, stored so that what is still owed is read through a
partial index: after each money operation, made through the services, it
equals the derived state (tests/conftest.py also checks every invoice
after every test that used the database)."""

from decimal import Decimal

import pytest

from factures.models import Invoice
from factures.services import (
    CreditLine,
    credit_note_issue,
    invoice_cancel,
    invoice_dispute_close,
    invoice_dispute_open,
)
from paiements.credit import credit_allocate
from paiements.services import payment_record_desk, payment_reverse
from tests.factories import InvoiceFactory

pytestmark = [pytest.mark.django_db, pytest.mark.now("2026-12-05 10:00 -04:00")]

D = Decimal


def flags(*invoices: Invoice) -> list[tuple[bool, str]]:
    """Each invoice's stored flag beside its derived state."""
    by_pk = {
        invoice.pk: (invoice.is_open, invoice.state)
        for invoice in Invoice.objects.with_balance().filter(
            pk__in=[invoice.pk for invoice in invoices]
        )
    }
    return [by_pk[invoice.pk] for invoice in invoices]


def test_the_flag_follows_every_money_operation(family, staff):
    october = InvoiceFactory(family=family, total=D("30.00"))
    november = InvoiceFactory(family=family, total=D("20.00"))
    assert flags(october, november) == [(True, "to_pay"), (True, "to_pay")]

    payment_record_desk(
        family=family,
        method="cash",
        amount=D("10.00"),
        allocations={october.pk: D("10.00")},
        agent=staff,
    )
    assert flags(october) == [(True, "partly_paid")]

    full = payment_record_desk(
        family=family,
        method="cash",
        amount=D("40.00"),
        allocations={october.pk: D("20.00"), november.pk: D("20.00")},
        agent=staff,
    )
    assert flags(october, november) == [(False, "paid"), (False, "paid")]

    # A reversal opens them again.
    payment_reverse(payment=full, reason="Chèque sans provision", agent=staff)
    assert flags(october, november) == [(True, "partly_paid"), (True, "to_pay")]

    # A dispute keeps an invoice open; closing it leaves it to pay.
    invoice_dispute_open(invoice=november, reason="Montant erroné", user=None)
    assert flags(november) == [(True, "disputed")]
    invoice_dispute_close(invoice=november, user=staff)
    assert flags(november) == [(True, "to_pay")]

    # A credit note for what is left settles it; its cancellation too.
    credit_note_issue(
        invoice=october,
        lines=[CreditLine(label="Repas non pris", quantity=1, unit_price=D("20.00"))],
        reason="Absence",
        agent=staff,
    )
    assert flags(october) == [(False, "paid")]
    invoice_cancel(invoice=november, reason="Erreur de facturation", agent=staff)
    assert flags(november) == [(False, "cancelled")]


def test_credit_paying_an_invoice_settles_it(family, staff):
    paid = InvoiceFactory(family=family, total=D("30.00"))
    payment_record_desk(
        family=family,
        method="cash",
        amount=D("30.00"),
        allocations={paid.pk: D("30.00")},
        agent=staff,
    )
    # Cancelling the paid invoice puts its money back on the family's credit.
    invoice_cancel(invoice=paid, reason="Erreur de facturation", agent=staff)
    later = InvoiceFactory(family=family, total=D("25.00"))
    assert flags(paid, later) == [(False, "cancelled"), (True, "to_pay")]

    credit_allocate(family=family, allocations={later.pk: D("25.00")}, agent=staff)
    assert flags(later) == [(False, "paid")]


def test_an_invoice_with_nothing_due_is_issued_settled(family):
    assert flags(InvoiceFactory(family=family, total=D("0.00"))) == [(False, "paid")]


def test_the_check_sees_a_flag_set_by_hand(family):
    """The conftest's check can fail: a flag changed outside the services is
    found (and put right, so that the check after this test passes)."""
    invoice = InvoiceFactory(family=family, total=D("30.00"))
    Invoice.objects.filter(pk=invoice.pk).update(is_open=False)
    assert list(Invoice.objects.open_flags_wrong()) == [invoice]
    assert Invoice.objects.filter(pk=invoice.pk).open_flags_sync() == 1
    assert not Invoice.objects.open_flags_wrong().exists()


def test_the_staff_list_filters_find_every_state_through_the_flag(
    staff_client, family, staff
):
    """The invoice list's filters read the open or the settled invoices
    first: each state, "unpaid" and "something due" still find exactly the
    invoices the derived state says."""
    from django.urls import reverse

    to_pay = InvoiceFactory(family=family, total=D("30.00"))
    partly = InvoiceFactory(family=family, total=D("30.00"))
    paid = InvoiceFactory(family=family, total=D("30.00"))
    disputed = InvoiceFactory(family=family, total=D("30.00"))
    cancelled = InvoiceFactory(family=family, total=D("30.00"))
    payment_record_desk(
        family=family,
        method="cash",
        amount=D("40.00"),
        allocations={partly.pk: D("10.00"), paid.pk: D("30.00")},
        agent=staff,
    )
    invoice_dispute_open(invoice=disputed, reason="Montant erroné", user=None)
    invoice_cancel(invoice=cancelled, reason="Erreur", agent=staff)
    url = reverse("admin:factures_invoice_changelist")

    def found(**query: str) -> set[str]:
        response = staff_client.get(url, query)
        assert response.status_code == 200
        return {invoice.number for invoice in response.context["cl"].result_list}

    assert found(state="to_pay") == {to_pay.number}
    assert found(state="partly_paid") == {partly.number}
    assert found(state="paid") == {paid.number}
    assert found(state="disputed") == {disputed.number}
    assert found(state="cancelled") == {cancelled.number}
    assert found(state="impayees") == {to_pay.number, partly.number}
    assert found(reste="0-20") == {partly.number}
    assert found(reste="20-50") == {to_pay.number, disputed.number}
