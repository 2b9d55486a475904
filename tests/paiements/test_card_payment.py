"""Card payments through Stripe Checkout, against the local stand-in."""

import datetime
import json
import urllib.request
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from factures.models import Invoice
from paiements import stripe_gateway
from paiements.models import CheckoutSession, Payment, WebhookEvent
from paiements.services import (
    card_checkout_start,
    new_idempotency_key,
    payment_record_desk,
    payments_reconcile,
)
from tests.factories import InvoiceFactory
from tests.paiements.conftest import IN_WINDOW, deliver, post_webhook

pytestmark = pytest.mark.django_db


def start(family, invoices, key=None, today=datetime.date(2026, 12, 5)):  # noqa: ANN001, ANN201
    """Open a session (on a day of the online window unless told otherwise)."""
    return card_checkout_start(
        family=family,
        invoices=invoices,
        idempotency_key=key or new_idempotency_key(),
        user=None,
        return_url="http://testserver/paiements/retour/",
        cancel_url="http://testserver/paiements/annule/",
        today=today,
    )


def due(invoice) -> Decimal:  # noqa: ANN001
    return Invoice.objects.with_balance().get(pk=invoice.pk).due


def test_a_parent_pays_two_invoices_in_one_card_payment(
    client, standin, paying_parent, two_invoices, django_capture_on_commit_callbacks
):
    # Every step at the same moment: the session expires 35 minutes after
    # it opens, on the portal's clock and on the stand-in's.
    with time_machine.travel(IN_WINDOW, tick=False):
        client.force_login(paying_parent)
        review = client.post(
            reverse("paiements:review"), {"invoices": [i.pk for i in two_invoices]}
        )
        assert review.status_code == 200
        key = review.context["idempotency_key"]
        assert "60,00" in review.text.replace("\u00a0", " ")
        go = client.post(
            reverse("paiements:checkout"),
            {"idempotency_key": key, "invoices": [i.pk for i in two_invoices]},
        )
        assert go.status_code == 302
        checkout = CheckoutSession.objects.get()
        assert go.url == checkout.url and go.url.startswith(standin.base_url)
        assert checkout.items.count() == 2 and checkout.amount == Decimal("60.00")

        assert standin.pay(checkout.stripe_id) == "paid"
        with django_capture_on_commit_callbacks(execute=True):
            responses = deliver(client, standin)

        assert [r.status_code for r in responses] == [200]
        payment = Payment.objects.get()
        assert payment.amount == Decimal("60.00")
        assert payment.method == Payment.Method.CARD_ONLINE
        assert all(due(invoice) == 0 for invoice in two_invoices)
        assert all(
            Invoice.objects.with_balance().get(pk=i.pk).status == Invoice.Status.PAID
            for i in two_invoices
        )
        page = client.get(reverse("paiements:return"), {"paiement": checkout.pk})
        assert "Payé" in page.text
        receipt_mail = mail.outbox[-1]
        assert receipt_mail.to == ["josiane@example.org"]
        assert receipt_mail.attachments[0][0] == f"recu-{payment.number}.pdf"


def test_a_double_click_makes_one_session(standin, paying_family, two_invoices):
    key = new_idempotency_key()

    first = start(paying_family, two_invoices, key)
    second = start(paying_family, two_invoices, key)

    assert first.pk == second.pk and first.stripe_id == second.stripe_id
    assert CheckoutSession.objects.count() == 1


def test_a_double_click_a_second_later_asks_stripe_the_same_thing(
    standin, paying_family, two_invoices
):
    """The second click finds the session before the first has saved Stripe's
    answer and asks Stripe again with the same key: with the same parameters,
    or Stripe refuses it (found by bench/payment_rush.py)."""
    key = new_idempotency_key()
    with time_machine.travel("2026-12-05 10:00:00 -04:00", tick=False):
        first = start(paying_family, two_invoices, key)
    CheckoutSession.objects.filter(pk=first.pk).update(stripe_id=None, url="")

    with time_machine.travel("2026-12-05 10:00:01 -04:00", tick=False):
        second = start(paying_family, two_invoices, key)

    assert second.stripe_id == first.stripe_id
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

    assert checkout.stripe_id
    assert checkout.expires_at == datetime.datetime.fromisoformat(
        "2026-12-05 10:55 -04:00"
    )


def test_the_rules_are_checked_when_the_session_is_created(
    standin, paying_family, two_invoices
):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="du 1er au 10"):
        start(paying_family, two_invoices, today=datetime.date(2026, 12, 11))
    InvoiceFactory(family=paying_family, period=datetime.date(2026, 11, 1))
    with pytest.raises(ValidationError, match="3 factures impayées"):
        start(paying_family, two_invoices)
    assert CheckoutSession.objects.count() == 0


def test_the_same_event_twice_records_one_payment(
    client, standin, paying_family, two_invoices
):
    checkout = start(paying_family, two_invoices)
    standin.pay(checkout.stripe_id)

    responses = deliver(client, standin, duplicate=True)

    assert [r.status_code for r in responses] == [200, 200]
    assert responses[1].content == b"duplicate"
    assert Payment.objects.count() == 1
    assert WebhookEvent.objects.count() == 1


def test_a_forged_signature_is_refused_and_changes_nothing(
    client, standin, paying_family, two_invoices
):
    checkout = start(paying_family, two_invoices)
    standin.pay(checkout.stripe_id)
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


def test_a_session_created_on_the_10th_and_paid_on_the_11th_is_recorded(
    client, standin, paying_family, two_invoices
):
    with time_machine.travel("2026-12-10 23:50 -04:00", tick=False):
        checkout = start(paying_family, two_invoices, today=None)
    with time_machine.travel("2026-12-11 00:05 -04:00", tick=False):
        assert standin.pay(checkout.stripe_id) == "paid"
        deliver(client, standin)

    assert Payment.objects.get().amount == Decimal("60.00")


def test_money_arriving_after_a_desk_payment_is_kept_as_an_overpayment(
    client, standin, paying_family, two_invoices, staff
):
    checkout = start(paying_family, two_invoices)
    payment_record_desk(
        family=paying_family,
        method=Payment.Method.CASH,
        amount=Decimal("30.00"),
        allocations={two_invoices[0].pk: Decimal("30.00")},
        agent=staff,
    )
    standin.pay(checkout.stripe_id)

    deliver(client, standin)

    card = Payment.objects.get(method=Payment.Method.CARD_ONLINE)
    assert card.amount == Decimal("60.00")  # all the money Stripe took is recorded
    assert card.allocated == Decimal("30.00")  # only the second invoice needed it
    assert card.unallocated == Decimal("30.00")  # flagged for refund or credit
    assert due(two_invoices[0]) == 0 and due(two_invoices[1]) == 0
    assert Invoice.objects.with_balance().get(pk=two_invoices[0].pk).paid == Decimal(
        "30.00"
    )


def test_a_lost_webhook_is_recovered_by_reconciliation(
    client, standin, paying_family, two_invoices
):
    checkout = start(paying_family, two_invoices)
    standin.pay(checkout.stripe_id)
    deliver(client, standin, drop=True)
    assert Payment.objects.count() == 0

    later = checkout.created_at + datetime.timedelta(minutes=10)
    result = payments_reconcile(now=later)
    again = payments_reconcile(now=later)

    assert [p.amount for p in result.recorded] == [Decimal("60.00")]
    assert again.recorded == []
    assert Payment.objects.count() == 1
    # The webhook arriving after all changes nothing more.
    checkout.refresh_from_db()
    assert checkout.status == CheckoutSession.Status.COMPLETE


def test_reconciliation_expires_abandoned_sessions(
    standin, paying_family, two_invoices
):
    checkout = start(paying_family, two_invoices)

    result = payments_reconcile(now=checkout.expires_at + datetime.timedelta(minutes=1))

    checkout.refresh_from_db()
    assert result.expired == 1
    assert checkout.status == CheckoutSession.Status.EXPIRED
    assert Payment.objects.count() == 0


def test_a_declined_card_records_nothing(client, standin, paying_family, two_invoices):
    checkout = start(paying_family, two_invoices)

    assert standin.pay(checkout.stripe_id, card_number="4000000000000002") == "declined"
    deliver(client, standin)

    assert Payment.objects.count() == 0
    assert due(two_invoices[0]) == Decimal("30.00")


def test_an_amount_that_does_not_match_is_recorded_and_noted(
    client, standin, paying_family, two_invoices
):
    checkout = start(paying_family, two_invoices)
    CheckoutSession.objects.filter(pk=checkout.pk).update(amount=Decimal("50.00"))
    standin.pay(checkout.stripe_id)

    deliver(client, standin)

    payment = Payment.objects.get()
    assert payment.amount == Decimal("60.00")
    assert "diffère" in payment.anomaly


def test_stripe_unreachable_answers_503_so_stripe_retries(
    client, standin, paying_family, two_invoices, settings
):
    checkout = start(paying_family, two_invoices)
    standin.pay(checkout.stripe_id)
    deliveries = standin.take_deliveries()
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens there

    response = post_webhook(
        client, deliveries[0].payload, deliveries[0].headers["Stripe-Signature"]
    )

    assert response.status_code == 503
    assert WebhookEvent.objects.count() == 0
    settings.STRIPE_API_BASE = standin.base_url
    retried = post_webhook(
        client, deliveries[0].payload, deliveries[0].headers["Stripe-Signature"]
    )
    assert retried.status_code == 200
    assert Payment.objects.count() == 1


def test_another_familys_invoice_cannot_be_slipped_into_a_payment(
    client, standin, paying_parent, two_invoices
):
    stranger = InvoiceFactory()
    with time_machine.travel(IN_WINDOW, tick=False):
        client.force_login(paying_parent)
        refused = client.post(
            reverse("paiements:checkout"),
            {
                "idempotency_key": new_idempotency_key(),
                "invoices": [two_invoices[0].pk, stranger.pk],
            },
            follow=True,
        )
        assert CheckoutSession.objects.count() == 0
        # The same request with the family's own invoice alone goes through.
        accepted = client.post(
            reverse("paiements:checkout"),
            {
                "idempotency_key": new_idempotency_key(),
                "invoices": [two_invoices[0].pk],
            },
        )

    assert refused.redirect_chain[0][0] == reverse("paiements:home")
    assert "Choisissez au moins une facture" in refused.text
    assert accepted.status_code == 302
    session = CheckoutSession.objects.get()
    assert [item.invoice for item in session.items.all()] == [two_invoices[0]]


def test_a_second_payment_for_the_same_invoices_expires_the_first_session(
    client, standin, paying_family, two_invoices
):
    first = start(paying_family, two_invoices)

    second = start(paying_family, two_invoices)

    first.refresh_from_db()
    assert first.status == CheckoutSession.Status.EXPIRED
    assert standin.pay(first.stripe_id) == "expired"  # it can no longer take money
    assert standin.pay(second.stripe_id) == "paid"
    deliver(client, standin)
    assert Payment.objects.count() == 1


def test_a_first_session_already_paid_is_recorded_and_the_second_refused(
    standin, paying_family, two_invoices
):
    from django.core.exceptions import ValidationError

    first = start(paying_family, two_invoices)
    standin.pay(first.stripe_id)  # paid, but its webhook has not arrived yet

    with pytest.raises(ValidationError):
        start(paying_family, two_invoices)

    assert Payment.objects.get().checkout == first
    assert CheckoutSession.objects.count() == 1


def test_the_webhook_arriving_after_reconciliation_changes_nothing(
    client, standin, paying_family, two_invoices
):
    checkout = start(paying_family, two_invoices)
    standin.pay(checkout.stripe_id)
    late = standin.take_deliveries()
    payments_reconcile(now=checkout.created_at + datetime.timedelta(minutes=10))

    response = post_webhook(client, late[0].payload, standin.sign(late[0].payload))

    assert response.status_code == 200
    assert Payment.objects.count() == 1
    assert sum(a.amount for a in Payment.objects.get().allocations.all()) == Decimal(
        "60.00"
    )


def test_less_money_than_asked_leaves_the_last_invoice_partly_paid(
    client, standin, paying_family, two_invoices
):
    checkout = start(paying_family, two_invoices)  # Stripe is asked 60,00 €
    # Our record asks 70,00 € for an invoice of 40,00 € (a fixture, not
    # something the portal does): Stripe's 60,00 € cannot cover both.
    from paiements.models import CheckoutItem

    Invoice.objects.filter(pk=two_invoices[1].pk).update(total=Decimal("40.00"))
    CheckoutSession.objects.filter(pk=checkout.pk).update(amount=Decimal("70.00"))
    CheckoutItem.objects.filter(checkout=checkout, invoice=two_invoices[1]).update(
        amount=Decimal("40.00")
    )
    standin.pay(checkout.stripe_id)

    deliver(client, standin)

    payment = Payment.objects.get()
    assert payment.amount == Decimal("60.00") and "diffère" in payment.anomaly
    assert due(two_invoices[0]) == 0
    assert due(two_invoices[1]) == Decimal("10.00")
    second = Invoice.objects.with_balance().get(pk=two_invoices[1].pk)
    assert second.status == Invoice.Status.PARTLY_PAID
    assert payment.unallocated == 0


def test_a_double_click_on_pay_through_the_page_opens_one_session(
    client, standin, paying_parent, two_invoices
):
    with time_machine.travel(IN_WINDOW, tick=False):
        client.force_login(paying_parent)
        review = client.post(
            reverse("paiements:review"), {"invoices": [i.pk for i in two_invoices]}
        )
        data = {
            "idempotency_key": review.context["idempotency_key"],
            "invoices": [i.pk for i in two_invoices],
        }
        first = client.post(reverse("paiements:checkout"), data)
        second = client.post(reverse("paiements:checkout"), data)

    assert first.url == second.url
    assert CheckoutSession.objects.count() == 1


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
    assert stripe_gateway.session_retrieve(checkout.stripe_id).status == "expired"
    assert "rien n’a été débité" in page.text or "rien n'a été débité" in page.text
    assert "Réessayer" in page.text
    assert "Un paiement par carte est en cours" not in home
    assert Payment.objects.count() == 0


def test_a_session_paid_in_another_tab_is_recorded_when_cancelled(
    client, standin, paying_parent, two_invoices
):
    with time_machine.travel(IN_WINDOW, tick=False):
        checkout = start(paying_parent.family, two_invoices)
        assert standin.pay(checkout.stripe_id) == "paid"

    page = cancel_page(client, paying_parent, checkout)

    assert Payment.objects.get().amount == Decimal("60.00")
    assert "Payé" in page.text


def test_with_the_provider_unreachable_the_cancel_page_says_nothing_was_charged(
    client, standin, paying_parent, two_invoices
):
    with time_machine.travel(IN_WINDOW, tick=False):
        checkout = start(paying_parent.family, two_invoices)
    standin.stop()

    page = cancel_page(client, paying_parent, checkout)

    checkout.refresh_from_db()
    assert checkout.status == CheckoutSession.Status.OPEN  # it expires by itself
    assert "rien n’a été débité" in page.text or "rien n'a été débité" in page.text
    assert 'http-equiv="refresh"' not in page.text


def test_a_session_never_sent_to_the_provider_is_not_in_progress(
    client, paying_parent, two_invoices, settings
):
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens there
    with time_machine.travel(IN_WINDOW, tick=False):
        client.force_login(paying_parent)
        review = client.post(
            reverse("paiements:review"), {"invoices": [i.pk for i in two_invoices]}
        )
        failed = client.post(
            reverse("paiements:checkout"),
            {
                "idempotency_key": review.context["idempotency_key"],
                "invoices": [i.pk for i in two_invoices],
            },
            follow=True,
        )

    assert "indisponible" in failed.text
    assert CheckoutSession.objects.get().stripe_id is None
    assert "Un paiement par carte est en cours" not in failed.text
