"""With each provider: two deliveries of the same notification at once
record one payment, a notification racing the reconciliation job records
one payment, and a double click opens one payment at the provider
(PostgreSQL)."""

import datetime
import threading
from decimal import Decimal

import pytest
from django.db import close_old_connections
from django.test import Client

from paiements.models import Payment, WebhookEvent
from paiements.services import (
    card_checkout_start,
    new_idempotency_key,
    payments_reconcile,
)
from tests.factories import FamilyFactory, GuardianFactory, InvoiceFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def run_together(*actions):  # noqa: ANN002, ANN201
    """Start the actions at the same instant, one thread each; return their
    results in the actions' order. Fails if one raised or is still running
    (a thread stuck on a lock would otherwise just be missing)."""
    barrier = threading.Barrier(len(actions))
    results, errors = [None] * len(actions), []

    def wrap(index, action):  # noqa: ANN001, ANN202
        try:
            barrier.wait()
            results[index] = action()
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            close_old_connections()

    threads = [
        threading.Thread(target=wrap, args=(index, action))
        for index, action in enumerate(actions)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "an action hung"
    assert errors == []
    return results


def two_invoices_start(key: str | None = None):  # noqa: ANN201
    family = FamilyFactory(name="Dorville")
    GuardianFactory(family=family, email="josiane@example.org")
    invoices = [
        InvoiceFactory(family=family, period=datetime.date(2026, m, 1)) for m in (9, 10)
    ]
    return lambda: card_checkout_start(
        family=family,
        invoices=invoices,
        idempotency_key=key or new_idempotency_key(),
        user=None,
        return_url="http://testserver/r/",
        cancel_url="http://testserver/c/",
        today=datetime.date(2026, 12, 5),
    )


@pytest.fixture
def paid_session(online):  # noqa: ANN001, ANN201
    checkout = two_invoices_start()()
    assert online.pay(checkout) == "paid"
    return checkout


def test_the_same_notification_delivered_twice_at_once_records_one_payment(
    online, paid_session
):
    delivery = online.take()[0]

    def post():  # noqa: ANN202
        return online.post(Client(), delivery).status_code

    statuses = run_together(post, post, post)

    assert statuses == [200, 200, 200]
    assert Payment.objects.count() == 1
    assert Payment.objects.get().amount == Decimal("60.00")
    if online.name == "stripe":  # Stripe's events are noted once each
        assert WebhookEvent.objects.count() == 1


def test_a_double_click_at_once_opens_one_payment_at_the_provider(online):
    """PayFiP has no idempotency key: two requests with the same key at the
    same instant must not both ask it for an operation."""
    start = two_invoices_start(new_idempotency_key())

    first, second = run_together(start, start)

    assert first.pk == second.pk and first.remote_id == second.remote_id
    if online.name == "payfip":
        assert list(online.standin.operations) == [first.remote_id]


def test_notification_and_reconciliation_at_once_record_one_payment(
    online, paid_session
):
    delivery = online.take()[0]
    later = paid_session.created_at + datetime.timedelta(minutes=10)

    def webhook():  # noqa: ANN202
        return online.post(Client(), delivery).status_code

    def reconcile():  # noqa: ANN202
        return len(payments_reconcile(now=later).recorded)

    status, reconciled = run_together(webhook, reconcile)

    assert status == 200  # the webhook answered, whoever recorded the payment
    assert reconciled in (0, 1)
    assert Payment.objects.count() == 1
    assert sum(a.amount for a in Payment.objects.get().allocations.all()) == Decimal(
        "60.00"
    )
