"""Two deliveries of the same Stripe event at once record one payment, and a
webhook racing the reconciliation job records one payment (PostgreSQL)."""

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
from tests.factories import FamilyFactory, InvoiceFactory
from tests.paiements.conftest import post_webhook

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


@pytest.fixture
def paid_session(standin):  # noqa: ANN001, ANN201
    family = FamilyFactory()
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
    assert standin.pay(checkout.stripe_id) == "paid"
    return checkout


def test_the_same_event_delivered_twice_at_once_records_one_payment(
    standin, paid_session
):
    delivery = standin.take_deliveries()[0]

    def post():  # noqa: ANN202
        return post_webhook(
            Client(), delivery.payload, standin.sign(delivery.payload)
        ).status_code

    statuses = run_together(post, post, post)

    assert statuses == [200, 200, 200]
    assert Payment.objects.count() == 1
    assert Payment.objects.get().amount == Decimal("60.00")
    assert WebhookEvent.objects.count() == 1


def test_webhook_and_reconciliation_at_once_record_one_payment(standin, paid_session):
    delivery = standin.take_deliveries()[0]
    later = paid_session.created_at + datetime.timedelta(minutes=10)

    def webhook():  # noqa: ANN202
        return post_webhook(
            Client(), delivery.payload, standin.sign(delivery.payload)
        ).status_code

    def reconcile():  # noqa: ANN202
        return len(payments_reconcile(now=later).recorded)

    status, reconciled = run_together(webhook, reconcile)

    assert status == 200  # the webhook answered, whoever recorded the payment
    assert reconciled in (0, 1)
    assert Payment.objects.count() == 1
    assert sum(a.amount for a in Payment.objects.get().allocations.all()) == Decimal(
        "60.00"
    )
