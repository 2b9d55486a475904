"""`Payment.has_left`, stored so that a family's credit is summed over the
payments that hold some (or owe some back) alone, whatever the length of
its history: after each money operation, made through the services, it
equals the derived truth (tests/conftest.py also checks every payment after
every test that used the database)."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from factures.services import CreditLine, credit_note_issue
from paiements.accounts import family_account, family_credit, family_credits
from paiements.credit import credit_allocate, refund_record
from paiements.models import Payment, Refund
from paiements.services import payment_record_desk, payment_reverse
from tests.factories import InvoiceFactory, PaymentFactory

pytestmark = [pytest.mark.django_db, pytest.mark.now("2026-12-05 10:00 -04:00")]

D = Decimal


def flags(*payments: Payment) -> list[tuple[bool, Decimal]]:
    """Each payment's stored flag beside its derived `left`."""
    by_pk = {
        pk: (has_left, left)
        for pk, has_left, left in Payment.objects.with_left()
        .filter(pk__in=[payment.pk for payment in payments])
        .values_list("pk", "has_left", "left")
    }
    return [by_pk[payment.pk] for payment in payments]


def test_the_flag_follows_every_operation_on_credit(family, staff):
    october = InvoiceFactory(family=family, total=D("30.00"))

    exact = payment_record_desk(
        family=family,
        method="cash",
        amount=D("30.00"),
        allocations={october.pk: D("30.00")},
        agent=staff,
    )
    advance = payment_record_desk(
        family=family,
        method="cash",
        amount=D("50.00"),
        allocations={},
        agent=staff,
        keep_as_credit="Avance",
    )
    assert flags(exact, advance) == [(False, D("0.00")), (True, D("50.00"))]

    november = InvoiceFactory(family=family, total=D("20.00"))

    credit_allocate(family=family, allocations={november.pk: D("20.00")}, agent=staff)
    assert flags(advance) == [(True, D("30.00"))]

    # A credit note on the paid invoice gives its money back as credit.
    credit_note_issue(
        invoice=october,
        lines=[CreditLine("Repas du 3 octobre", 1, D("3.60"))],
        reason="Repas non pris",
        agent=staff,
    )
    assert flags(exact) == [(True, D("3.60"))]

    refund_record(
        payment=advance,
        amount=D("30.00"),
        method=Refund.Method.CASH,
        reason="Départ",
        agent=staff,
    )
    assert flags(advance) == [(False, D("0.00"))]
    assert family_credit(family) == D("3.60")

    # A reversal of a payment that holds credit: both hold the opposite
    # amounts, and the family's credit is what it was before the payment.
    extra = payment_record_desk(
        family=family,
        method="cash",
        amount=D("10.00"),
        allocations={},
        agent=staff,
        keep_as_credit="Avance",
    )
    reversal = payment_reverse(payment=extra, reason="Billet refusé", agent=staff)
    assert flags(extra, reversal) == [(True, D("10.00")), (True, D("-10.00"))]
    assert family_credit(family) == D("3.60")

    # The account as it stands reads the open invoices and the payments
    # with money left alone; read over every record, it says the same.
    now = family_account(family)
    everything = family_account(family, at=now.at + datetime.timedelta(days=365))
    assert (now.owed, now.disputed, now.credit) == (
        everything.owed,
        everything.disputed,
        everything.credit,
    )
    assert (now.owed, now.credit) == (D("0.00"), D("3.60"))


def test_a_failed_refund_makes_the_money_credit_again(family, staff):
    advance = payment_record_desk(
        family=family,
        method="cash",
        amount=D("12.00"),
        allocations={},
        agent=staff,
        keep_as_credit="Avance",
    )
    refund = refund_record(
        payment=advance,
        amount=D("12.00"),
        method=Refund.Method.CASH,
        reason="Départ",
        agent=staff,
    )
    assert flags(advance) == [(False, D("0.00"))]

    # As the provider's answer does (`refund_provider_update`).
    from paiements import stripe_gateway
    from paiements.credit import refund_provider_update

    Refund.objects.filter(pk=refund.pk).update(
        method=Refund.Method.PROVIDER, status=Refund.Status.PENDING
    )
    refund_provider_update(
        remote=stripe_gateway.RemoteRefund(
            id="re_1",
            status="failed",
            amount=D("12.00"),
            currency="eur",
            payment_intent="pi_1",
            metadata={"refund": refund.number},
            failure_reason="expired_or_canceled_card",
        )
    )

    assert flags(advance) == [(True, D("12.00"))]
    assert family_credit(family) == D("12.00")


def test_the_credit_is_read_from_the_payments_that_hold_some_alone(family):
    invoices = [InvoiceFactory(family=family) for _ in range(3)]
    settled = [
        PaymentFactory(family=family, allocations={i: "30.00"}) for i in invoices
    ]
    holding = PaymentFactory(family=family, amount=D("7.50"))
    assert family_credits([family.pk]) == {family.pk: D("7.50")}

    # The credit reads the flag, not the history: a payment whose flag is
    # (wrongly) down is not read at all, and the check names it.
    Payment.objects.filter(pk=holding.pk).update(has_left=False)
    assert family_credits([family.pk]) == {}
    assert list(Payment.objects.left_flags_wrong()) == [holding]
    Payment.objects.filter(pk=holding.pk).left_flags_sync()
    assert not Payment.objects.left_flags_wrong().exists()

    with CaptureQueriesContext(connection) as queries:
        family_credits(None)
    assert len(queries) == 3
    assert all("has_left" in query["sql"] for query in queries.captured_queries)
    # The settled payments, all of the history here, are not flagged.
    assert not Payment.objects.filter(
        pk__in=[payment.pk for payment in settled], has_left=True
    ).exists()
