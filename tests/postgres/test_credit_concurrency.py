"""Credit moving under concurrency (PostgreSQL): two agents spending the same
credit, a refund racing an allocation, a credit note racing a reversal.
After each race the account's invariants hold to the cent."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db.models import Sum

from factures.models import CreditNote, Invoice
from factures.services import CreditLine, credit_note_issue
from paiements.accounts import family_account, family_statement
from paiements.credit import credit_allocate, refund_record
from paiements.models import Allocation, Payment, Refund
from paiements.services import payment_record_desk, payment_reverse
from tests.factories import FamilyFactory, InvoiceFactory
from tests.postgres.test_webhook_concurrency import run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

D = Decimal


def money(queryset, name="amount") -> Decimal:  # noqa: ANN001
    return queryset.aggregate(s=Sum(name))["s"] or D("0")


def assert_invariants(family) -> None:  # noqa: ANN001
    """- an invoice's allocations never exceed its total after its credit
      notes, and are never negative;
    - a payment's allocations and refunds never exceed it;
    - every cent received is allocated, held as credit, or refunded, and
      the statement balances against the records."""
    for invoice in Invoice.objects.filter(family=family):
        credited = money(CreditNote.objects.filter(invoice=invoice), "total")
        paid = money(Allocation.objects.filter(invoice=invoice))
        assert D("0") <= paid <= invoice.total - credited, invoice.number
    for payment in Payment.objects.filter(family=family, amount__gt=0):
        used = money(payment.allocations.all()) + money(payment.refunds.counted())
        reversal = Payment.objects.filter(reverses=payment).first()
        if reversal is None:
            assert D("0") <= used <= payment.amount, payment.number
        else:  # a reversed payment and its reversal hold nothing together
            pair = payment.amount + reversal.amount
            pair_used = used + money(reversal.allocations.all())
            assert pair - pair_used == 0, payment.number
    account = family_account(family)
    received = money(Payment.objects.filter(family=family))
    allocated = money(Allocation.objects.filter(payment__family=family))
    refunded = money(Refund.objects.counted().filter(family=family))
    assert received == allocated + account.credit + refunded
    invoiced = money(Invoice.objects.filter(family=family), "total")
    credited = money(CreditNote.objects.filter(invoice__family=family), "total")
    statement = family_statement(
        family, start=datetime.date(2020, 1, 1), end=datetime.date(2030, 12, 31)
    )
    assert statement.closing == account.balance
    assert account.balance == received - refunded - (invoiced - credited)


def with_credit(amount: str):  # noqa: ANN201
    family = FamilyFactory()
    invoices = [
        InvoiceFactory(family=family, period=datetime.date(2026, m, 1)) for m in (9, 10)
    ]
    payment_record_desk(
        family=family,
        method=Payment.Method.CASH,
        amount=D(amount),
        allocations={invoices[0].pk: D("0")},
        agent=None,
        keep_as_credit="Avance",
    )
    return family, invoices


def refused(action):  # noqa: ANN001, ANN201
    def run():  # noqa: ANN202
        try:
            return action()
        except ValidationError:
            return "refused"

    return run


@pytest.mark.parametrize("repeat", range(3))
def test_two_agents_spending_the_same_credit(repeat):
    family, invoices = with_credit("30.00")

    results = run_together(
        refused(
            lambda: credit_allocate(
                family=family, allocations={invoices[0].pk: D("30.00")}, agent=None
            )
        ),
        refused(
            lambda: credit_allocate(
                family=family, allocations={invoices[1].pk: D("30.00")}, agent=None
            )
        ),
    )

    assert results.count("refused") == 1
    assert family_account(family).credit == 0
    assert_invariants(family)


@pytest.mark.parametrize("repeat", range(3))
def test_a_refund_racing_an_allocation_of_the_same_credit(repeat):
    family, invoices = with_credit("30.00")
    payment = Payment.objects.get(family=family)

    results = run_together(
        refused(
            lambda: refund_record(
                payment=payment,
                amount=D("20.00"),
                method="cash",
                reason="Départ",
                agent=None,
            )
        ),
        refused(
            lambda: credit_allocate(
                family=family, allocations={invoices[0].pk: D("30.00")}, agent=None
            )
        ),
    )

    assert results.count("refused") == 1
    assert_invariants(family)


@pytest.mark.parametrize("repeat", range(3))
def test_a_credit_note_racing_the_reversal_of_the_payment(repeat):
    family = FamilyFactory()
    invoice = InvoiceFactory(family=family, total=D("30.00"))
    cheque = payment_record_desk(
        family=family,
        method=Payment.Method.CHEQUE,
        amount=D("30.00"),
        allocations={invoice.pk: D("30.00")},
        agent=None,
    )

    run_together(
        lambda: credit_note_issue(
            invoice=invoice, lines=[], reason="Erreur", agent=None, cancel=True
        ),
        lambda: payment_reverse(payment=cheque, reason="Sans provision", agent=None),
    )

    # Whatever the order: the cheque's money is gone, the invoice cancelled,
    # nothing owed and no credit left.
    account = family_account(family)
    assert (account.owed, account.credit) == (0, 0)
    assert_invariants(family)


@pytest.mark.parametrize("repeat", range(3))
def test_a_credit_note_racing_an_allocation_of_credit(repeat):
    """The credit note gives a payment's money back as credit (it updates
    the payment's `has_left`) while an agent spends another payment's
    credit on the same invoice: both take the family first, so neither
    waits on the other in a cycle."""
    family = FamilyFactory()
    invoice = InvoiceFactory(family=family, total=D("30.00"))
    payment_record_desk(
        family=family,
        method=Payment.Method.CASH,
        amount=D("10.00"),
        allocations={invoice.pk: D("10.00")},
        agent=None,
    )
    payment_record_desk(
        family=family,
        method=Payment.Method.CASH,
        amount=D("20.00"),
        allocations={},
        agent=None,
        keep_as_credit="Avance",
    )

    run_together(
        refused(
            lambda: credit_note_issue(
                invoice=invoice,
                lines=[CreditLine("Repas non pris", 5, D("4.00"))],
                reason="Fermeture",
                agent=None,
            )
        ),
        refused(
            lambda: credit_allocate(
                family=family, allocations={invoice.pk: D("20.00")}, agent=None
            )
        ),
    )

    assert_invariants(family)
    assert not Payment.objects.left_flags_wrong().exists()
