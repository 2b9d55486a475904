"""An invoice's amount due and state: the SQL of `with_balance()` (used to
filter) and `balance_state` (used by `with_amounts()` to display) say the
same thing, in every state."""

from decimal import Decimal

import pytest

from factures.models import Invoice, InvoiceDispute
from tests.factories import (
    CreditNoteFactory,
    FamilyFactory,
    InvoiceFactory,
    PaymentFactory,
)

pytestmark = pytest.mark.django_db


def pay(invoice: Invoice, amount: str) -> None:
    PaymentFactory(family=invoice.family, allocations={invoice: amount})


def credit(invoice: Invoice, amount: str, *, cancel: bool = False) -> None:
    CreditNoteFactory(invoice=invoice, total=Decimal(amount), is_cancellation=cancel)


def test_both_ways_give_the_same_due_and_state():
    family = FamilyFactory()
    cases = {}

    def case(name: str, total: str = "30.00"):  # noqa: ANN202
        cases[name] = InvoiceFactory(family=family, total=Decimal(total))
        return cases[name]

    case("to pay")
    pay(case("partly paid"), "10.00")
    pay(case("paid"), "30.00")
    pay(case("overpaid"), "25.00")
    pay(cases["overpaid"], "10.00")
    credit(case("credited in part"), "5.00")
    credit(case("credited in full"), "30.00")
    credit(case("cancelled"), "1.00", cancel=True)
    InvoiceDispute.objects.create(invoice=case("disputed"), reason="Trop cher")
    dispute_paid = case("disputed, paid in part")
    pay(dispute_paid, "12.00")
    InvoiceDispute.objects.create(invoice=dispute_paid, reason="Trop cher")
    InvoiceDispute.objects.create(
        invoice=case("dispute closed"), reason="Vu", closed_at="2026-11-01T10:00Z"
    )
    case("nothing to bill", "0.00")

    in_sql = {
        i.pk: (i.due, i.state)
        for i in Invoice.objects.filter(family=family).with_balance()
    }
    in_python = {
        i.pk: (i.due, i.state)
        for i in Invoice.objects.filter(family=family).with_amounts()
    }

    assert in_python == in_sql
    state = {name: in_sql[invoice.pk][1] for name, invoice in cases.items()}
    assert state == {
        "to pay": Invoice.Status.TO_PAY,
        "partly paid": Invoice.Status.PARTLY_PAID,
        "paid": Invoice.Status.PAID,
        "overpaid": Invoice.Status.PAID,
        "credited in part": Invoice.Status.TO_PAY,
        "credited in full": Invoice.Status.CANCELLED,
        "cancelled": Invoice.Status.CANCELLED,
        "disputed": Invoice.Status.DISPUTED,
        "disputed, paid in part": Invoice.Status.DISPUTED,
        "dispute closed": Invoice.Status.TO_PAY,
        "nothing to bill": Invoice.Status.PAID,
    }
    unpaid = set(Invoice.objects.filter(family=family).unpaid().values_list("pk"))
    assert unpaid == {
        (pk,) for pk, (_due, s) in in_sql.items() if s in Invoice.UNPAID_STATES
    }
    assert len(unpaid) == 4  # to pay, partly paid, credited in part, closed dispute
    assert in_sql[cases["credited in part"].pk][0] == Decimal("25.00")
    assert in_sql[cases["overpaid"].pk][0] == Decimal("0.00")
    owing = {
        invoice.pk: (invoice.due, invoice.state)
        for invoice in Invoice.objects.filter(family=family).owing()
    }
    # Every invoice still to pay or disputed, with its due and state as the
    # SQL says; and none that payments cover.
    assert {
        pk: due_state
        for pk, due_state in in_sql.items()
        if due_state[1] in (*Invoice.UNPAID_STATES, Invoice.Status.DISPUTED)
    }.items() <= owing.items()
    assert owing.items() <= in_sql.items()
    assert cases["paid"].pk not in owing and cases["overpaid"].pk not in owing


def test_the_amounts_are_to_the_cent_read_either_way():
    """SQLite computes the SQL's sums and differences in floating point: the
    amounts an invoice shows are still to the cent (57,60, not
    57,6000000000000 as the admin's list once showed)."""
    family = FamilyFactory()
    invoice = InvoiceFactory(family=family, total=Decimal("57.60"))
    pay(invoice, "0.10")
    credit(invoice, "0.20")

    for read in (Invoice.objects.with_balance(), Invoice.objects.with_amounts()):
        found = read.get(pk=invoice.pk)
        amounts = (found.amount_due, found.amount_paid, found.amount_credited)
        assert amounts == (Decimal("57.30"), Decimal("0.10"), Decimal("0.20"))
        assert {amount.as_tuple().exponent for amount in amounts} == {-2}
