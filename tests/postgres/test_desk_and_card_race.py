"""A desk payment and an online payment's notification for the same invoice
at the same moment, with each provider: no deadlock, no money lost, nothing
allocated twice (PostgreSQL)."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from factures.models import Invoice
from paiements.models import Payment
from paiements.services import (
    card_checkout_start,
    new_idempotency_key,
    payment_record_desk,
)
from tests.factories import FamilyFactory, GuardianFactory, InvoiceFactory
from tests.postgres.test_webhook_concurrency import run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("repeat", range(3))
def test_a_desk_payment_racing_the_online_notification(online, repeat):
    family = FamilyFactory()
    GuardianFactory(family=family, email="josiane@example.org")  # PayFiP needs it
    invoices = [
        InvoiceFactory(family=family, period=datetime.date(2026, m, 1)) for m in (9, 10)
    ]
    checkout = card_checkout_start(
        family=family,
        invoices=invoices,
        idempotency_key=new_idempotency_key(),
        user=None,
        return_url="http://testserver/r/",
        cancel_url="http://testserver/c/",
        today=datetime.date(2026, 12, 5),
    )
    online.pay(checkout)
    delivery = online.take()[0]

    def webhook():  # noqa: ANN202
        return online.post(Client(), delivery).status_code

    def desk():  # noqa: ANN202
        # Allocations named in descending order on purpose.
        try:
            return payment_record_desk(
                family=family,
                method=Payment.Method.CASH,
                amount=Decimal("60.00"),
                allocations={
                    invoices[1].pk: Decimal("30.00"),
                    invoices[0].pk: Decimal("30.00"),
                },
                agent=None,
            ).amount
        except ValidationError:
            return "refused: already paid by card"  # the agent is told, no 500

    status, desk_result = run_together(webhook, desk)

    # Neither side was cancelled by a deadlock (run_together fails on any
    # exception, a DatabaseError included, and on a thread left hanging).
    assert status == 200
    assert desk_result in (Decimal("60.00"), "refused: already paid by card")
    results = [status, desk_result]
    card = Payment.objects.get(method__in=Payment.ONLINE_METHODS)
    assert card.amount == Decimal("60.00")  # the card money is always recorded
    desk_won = Decimal("60.00") in results
    assert Payment.objects.count() == (2 if desk_won else 1)
    for invoice in Invoice.objects.with_balance().filter(
        pk__in=[i.pk for i in invoices]
    ):
        assert invoice.paid == Decimal("30.00")  # never allocated twice
        assert invoice.due == 0
    assert card.unallocated == (Decimal("60.00") if desk_won else 0)
