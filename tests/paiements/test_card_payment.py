"""What only Stripe Checkout does (its idempotency keys, signed events, the
expiry it accepts, closing a session), against the local stand-in. What every
provider does is in test_online_payment.py."""

import datetime
import json
import urllib.request

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from factures.models import Invoice
from paiements import stripe_gateway
from paiements.models import CheckoutSession, Payment, WebhookEvent
from paiements.services import (
    new_idempotency_key,
)
from tests.factories import InvoiceFactory
from tests.paiements.conftest import IN_WINDOW, deliver, post_webhook, start

pytestmark = pytest.mark.django_db


def test_a_double_click_a_second_later_asks_stripe_the_same_thing(
    standin, paying_family, two_invoices
):
    """The second click finds the session before the first has saved Stripe's
    answer and asks Stripe again with the same key: with the same parameters,
    or Stripe refuses it (found by bench/payment_rush.py)."""
    key = new_idempotency_key()
    with time_machine.travel("2026-12-05 10:00:00 -04:00", tick=False):
        first = start(paying_family, two_invoices, key)
    CheckoutSession.objects.filter(pk=first.pk).update(remote_id=None, url="")

    with time_machine.travel("2026-12-05 10:00:01 -04:00", tick=False):
        second = start(paying_family, two_invoices, key)

    assert second.remote_id == first.remote_id
    assert second.expires_at == first.expires_at


def test_a_retry_long_after_an_outage_asks_for_a_fresh_expiry(
    settings, standin, paying_family, two_invoices
):
    from django.core.exceptions import ValidationError

    key = new_idempotency_key()
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # Stripe unreachable
    with (
        time_machine.travel("2026-12-05 10:00 -04:00", tick=False),
        pytest.raises(ValidationError),
    ):
        start(paying_family, two_invoices, key)
    settings.STRIPE_API_BASE = standin.base_url

    with time_machine.travel("2026-12-05 10:20 -04:00", tick=False):
        checkout = start(paying_family, two_invoices, key)

    assert checkout.remote_id
    assert checkout.expires_at == datetime.datetime.fromisoformat(
        "2026-12-05 10:55 -04:00"
    )


def test_the_same_event_twice_records_one_payment(
    client, standin, paying_family, two_invoices
):
    checkout = start(paying_family, two_invoices)
    standin.pay(checkout.remote_id)

    responses = deliver(client, standin, duplicate=True)

    assert [r.status_code for r in responses] == [200, 200]
    assert responses[1].content == b"duplicate"
    assert Payment.objects.count() == 1
    assert WebhookEvent.objects.count() == 1


def test_a_forged_signature_is_refused_and_changes_nothing(
    client, standin, paying_family, two_invoices
):
    checkout = start(paying_family, two_invoices)
    standin.pay(checkout.remote_id)
    delivery = standin.take_deliveries()[0]
    url = reverse("paiements:stripe_webhook")

    forged = post_webhook(client, delivery.payload, "t=1,v1=" + "0" * 64)
    tampered = post_webhook(
        client,
        delivery.payload.replace(b"complete", b"c0mplete"),
        delivery.headers["Stripe-Signature"],
    )
    stale_stamp = int(datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC).timestamp())
    stale = post_webhook(
        client,
        delivery.payload,
        standin.sign(delivery.payload, timestamp=stale_stamp),
    )
    missing = client.post(url, data=delivery.payload, content_type="application/json")

    assert [r.status_code for r in (forged, tampered, stale, missing)] == [
        400,
        400,
        400,
        400,
    ]
    assert Payment.objects.count() == 0
    assert WebhookEvent.objects.count() == 0


def test_other_event_types_are_acknowledged_and_ignored(client, standin):
    payload = json.dumps(
        {
            "id": "evt_other",
            "object": "event",
            "type": "customer.created",
            "data": {"object": {"id": "cus_1"}},
        }
    ).encode()

    response = post_webhook(client, payload, standin.sign(payload))

    assert response.status_code == 200
    assert response.content == b"ignored"
    assert WebhookEvent.objects.count() == 0


def test_a_second_payment_for_the_same_invoices_expires_the_first_session(
    client, standin, paying_family, two_invoices
):
    first = start(paying_family, two_invoices)

    second = start(paying_family, two_invoices)

    first.refresh_from_db()
    assert first.status == CheckoutSession.Status.EXPIRED
    assert standin.pay(first.remote_id) == "expired"  # it can no longer take money
    assert standin.pay(second.remote_id) == "paid"
    deliver(client, standin)
    assert Payment.objects.count() == 1


def test_an_event_for_a_session_stripe_does_not_know_is_acknowledged(client, standin):
    payload = json.dumps(
        {
            "id": "evt_unknown",
            "object": "event",
            "type": "checkout.session.completed",
            "data": {"object": {"id": "cs_test_not_ours"}},
        }
    ).encode()

    response = post_webhook(client, payload, standin.sign(payload))

    assert response.status_code == 200
    assert response.content == b"unknown session"
    assert Payment.objects.count() == 0


def test_the_third_unpaid_invoice_blocks_the_family_and_tells_it(
    paying_family, two_invoices, prices, canteen, django_capture_on_commit_callbacks
):
    from factures.models import BracketAssignment
    from factures.services import invoice_issue_month
    from tests.factories import ChildFactory
    from tests.factures.conftest import attend

    BracketAssignment.objects.filter(family=paying_family).update(bracket=prices["B"])
    attend(
        ChildFactory(family=paying_family),
        canteen,
        2,
        3,
        month=datetime.date(2026, 11, 1),
    )

    with django_capture_on_commit_callbacks(execute=True):
        invoice_issue_month(
            period=datetime.date(2026, 11, 1),
            issued_by=None,
            today=datetime.date(2026, 12, 1),
        )

    blocked = [m for m in mail.outbox if "suspendu" in m.subject]
    assert len(blocked) == 1
    assert "3 factures impayées" in blocked[0].body


def test_a_dispute_lifts_the_block_and_its_closing_brings_it_back(
    paying_family, two_invoices, django_capture_on_commit_callbacks
):
    from factures.services import invoice_dispute_close, invoice_dispute_open
    from paiements.rules import family_block_state

    third = InvoiceFactory(family=paying_family, period=datetime.date(2026, 11, 1))
    assert family_block_state(family=paying_family).blocked

    invoice_dispute_open(invoice=third, reason="Montant erroné", user=None)
    assert not family_block_state(family=paying_family).blocked
    assert (
        Invoice.objects.with_balance().get(pk=third.pk).status
        == Invoice.Status.DISPUTED
    )

    invoice_dispute_close(invoice=third, user=None)
    assert family_block_state(family=paying_family).blocked


# --- One clear state after every card attempt ------------------------------------


def cancel_page(client, parent, checkout):  # noqa: ANN001, ANN201
    with time_machine.travel(IN_WINDOW, tick=False):
        client.force_login(parent)
        return client.get(reverse("paiements:cancelled"), {"paiement": checkout.pk})


def test_cancelling_on_the_providers_page_closes_the_session_and_says_so(
    client, standin, paying_parent, two_invoices
):
    with time_machine.travel(IN_WINDOW, tick=False):
        checkout = start(paying_parent.family, two_invoices)
    with urllib.request.urlopen(checkout.url) as hosted:  # noqa: S310 - the stand-in
        assert f"/paiements/annule/?paiement={checkout.pk}" in hosted.read().decode()

    page = cancel_page(client, paying_parent, checkout)
    with time_machine.travel(IN_WINDOW, tick=False):
        home = client.get(reverse("paiements:home")).text

    checkout.refresh_from_db()
    assert checkout.status == CheckoutSession.Status.EXPIRED
    assert stripe_gateway.session_retrieve(checkout.remote_id).status == "expired"
    assert "rien n’a été débité" in page.text or "rien n'a été débité" in page.text
    assert "Réessayer" in page.text
    assert "Un paiement par carte est en cours" not in home
    assert Payment.objects.count() == 0
