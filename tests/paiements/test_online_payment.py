"""Online payments with each provider (Stripe Checkout, PayFiP), through the
portal's public surface and the providers' local stand-ins: every test here
runs once per provider (the `online` fixture). What only one provider does
is in test_card_payment.py (Stripe) and test_payfip.py (PayFiP)."""

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse

from factures.models import Invoice
from paiements.models import CheckoutItem, CheckoutSession, Payment
from paiements.services import (
    new_idempotency_key,
    payment_record_desk,
    payments_reconcile,
)
from tests.factories import InvoiceFactory
from tests.paiements.conftest import IN_WINDOW, due, start

pytestmark = pytest.mark.django_db


def test_a_parent_pays_two_invoices_in_one_online_payment(
    client, online, paying_parent, two_invoices, django_capture_on_commit_callbacks
):
    with time_machine.travel(IN_WINDOW, tick=False):
        client.force_login(paying_parent)
        review = client.post(
            reverse("paiements:review"), {"invoices": [i.pk for i in two_invoices]}
        )
        assert review.status_code == 200
        go = client.post(
            reverse("paiements:checkout"),
            {
                "idempotency_key": review.context["idempotency_key"],
                "invoices": [i.pk for i in two_invoices],
            },
        )
        assert go.status_code == 302
        checkout = CheckoutSession.objects.get()
        assert checkout.provider == online.name
        assert go.url == checkout.url and checkout.remote_id in go.url
        assert checkout.items.count() == 2 and checkout.amount == Decimal("60.00")

        assert online.pay(checkout) == "paid"
        with django_capture_on_commit_callbacks(execute=True):
            responses = online.deliver(client)
        assert [r.status_code for r in responses] == [200]

        payment = Payment.objects.get()
        assert payment.amount == Decimal("60.00")
        assert (
            payment.method
            == {
                "stripe": Payment.Method.CARD_ONLINE,
                "payfip": Payment.Method.PAYFIP,
            }[online.name]
        )
        assert all(due(invoice) == 0 for invoice in two_invoices)
        page = client.get(reverse("paiements:return"), {"paiement": checkout.pk})
        assert "Payé" in page.text
        assert mail.outbox[-1].attachments[0][0] == f"recu-{payment.number}.pdf"


def test_a_double_click_makes_one_payment(online, paying_family, two_invoices):
    key = new_idempotency_key()

    first = start(paying_family, two_invoices, key)
    second = start(paying_family, two_invoices, key)

    assert first.pk == second.pk and first.remote_id == second.remote_id
    assert CheckoutSession.objects.count() == 1


def test_a_double_click_on_pay_through_the_page_opens_one_payment(
    client, online, paying_parent, two_invoices
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


def test_the_rules_are_checked_when_the_payment_is_created(
    online, paying_family, two_invoices
):
    with pytest.raises(ValidationError, match="du 1er au 10"):
        start(paying_family, two_invoices, today=datetime.date(2026, 12, 11))
    InvoiceFactory(family=paying_family, period=datetime.date(2026, 11, 1))
    with pytest.raises(ValidationError, match="3 factures impayées"):
        start(paying_family, two_invoices)
    assert CheckoutSession.objects.count() == 0


def test_the_same_notification_twice_records_one_payment(
    client, online, paying_family, two_invoices
):
    checkout = start(paying_family, two_invoices)
    online.pay(checkout)

    responses = online.deliver(client, duplicate=True)

    assert [r.status_code for r in responses] == [200, 200]
    assert Payment.objects.count() == 1
    assert Payment.objects.get().allocated == Decimal("60.00")


def test_a_payment_opened_on_the_10th_and_paid_on_the_11th_is_recorded(
    client, online, paying_family, two_invoices
):
    with time_machine.travel("2026-12-10 23:55 -04:00", tick=False):
        checkout = start(paying_family, two_invoices, today=None)
    with time_machine.travel("2026-12-11 00:05 -04:00", tick=False):
        assert online.pay(checkout) == "paid"
        online.deliver(client)

    assert Payment.objects.get().amount == Decimal("60.00")


def test_money_arriving_after_a_desk_payment_is_kept_as_an_overpayment(
    client, online, paying_family, two_invoices, staff
):
    checkout = start(paying_family, two_invoices)
    payment_record_desk(
        family=paying_family,
        method=Payment.Method.CASH,
        amount=Decimal("30.00"),
        allocations={two_invoices[0].pk: Decimal("30.00")},
        agent=staff,
    )
    online.pay(checkout)

    online.deliver(client)

    paid_online = Payment.objects.get(method__in=Payment.ONLINE_METHODS)
    assert paid_online.amount == Decimal("60.00")  # all the money taken
    assert paid_online.allocated == Decimal("30.00")  # the second invoice's
    assert paid_online.unallocated == Decimal("30.00")  # for a refund or credit
    assert due(two_invoices[0]) == 0 and due(two_invoices[1]) == 0


def test_a_lost_notification_is_recovered_by_reconciliation(
    client, online, paying_family, two_invoices
):
    checkout = start(paying_family, two_invoices)
    online.pay(checkout)
    online.deliver(client, drop=True)
    assert Payment.objects.count() == 0

    later = checkout.created_at + datetime.timedelta(minutes=10)
    result = payments_reconcile(now=later)
    again = payments_reconcile(now=later)

    assert [p.amount for p in result.recorded] == [Decimal("60.00")]
    assert again.recorded == []
    checkout.refresh_from_db()
    assert checkout.status == CheckoutSession.Status.COMPLETE


def test_the_notification_arriving_after_reconciliation_changes_nothing(
    client, online, paying_family, two_invoices
):
    checkout = start(paying_family, two_invoices)
    online.pay(checkout)
    late = online.take()
    payments_reconcile(now=checkout.created_at + datetime.timedelta(minutes=10))

    response = online.post(client, late[0])

    assert response.status_code == 200
    assert Payment.objects.count() == 1
    assert Payment.objects.get().allocated == Decimal("60.00")


def test_reconciliation_closes_abandoned_payments(online, paying_family, two_invoices):
    checkout = start(paying_family, two_invoices)
    # Past the expiry and PayFiP's margin for a result it does not know.
    later = checkout.expires_at + datetime.timedelta(minutes=6)

    with time_machine.travel(later, tick=False):
        result = payments_reconcile(now=later)

    checkout.refresh_from_db()
    assert result.expired == 1
    assert checkout.status == CheckoutSession.Status.EXPIRED
    assert Payment.objects.count() == 0


def test_a_declined_card_records_nothing(client, online, paying_family, two_invoices):
    checkout = start(paying_family, two_invoices)

    assert online.pay(checkout, declined=True) == "declined"
    online.deliver(client)

    assert Payment.objects.count() == 0
    assert due(two_invoices[0]) == Decimal("30.00")


def test_an_amount_that_does_not_match_is_recorded_and_noted(
    client, online, paying_family, two_invoices
):
    checkout = start(paying_family, two_invoices)
    CheckoutSession.objects.filter(pk=checkout.pk).update(amount=Decimal("50.00"))
    online.pay(checkout)

    online.deliver(client)

    payment = Payment.objects.get()
    assert payment.amount == Decimal("60.00")
    assert "diffère" in payment.anomaly


def test_less_money_than_asked_leaves_the_last_invoice_partly_paid(
    client, online, paying_family, two_invoices
):
    checkout = start(paying_family, two_invoices)  # the provider is asked 60 €
    # Our record asks 70 € with an invoice of 40 € (a fixture, not something
    # the portal does): the 60 € paid cannot cover both.
    Invoice.objects.filter(pk=two_invoices[1].pk).update(total=Decimal("40.00"))
    CheckoutSession.objects.filter(pk=checkout.pk).update(amount=Decimal("70.00"))
    CheckoutItem.objects.filter(checkout=checkout, invoice=two_invoices[1]).update(
        amount=Decimal("40.00")
    )
    online.pay(checkout)

    online.deliver(client)

    payment = Payment.objects.get()
    assert payment.amount == Decimal("60.00") and "diffère" in payment.anomaly
    assert due(two_invoices[0]) == 0
    assert due(two_invoices[1]) == Decimal("10.00")
    assert payment.unallocated == 0


def test_the_provider_unreachable_on_notification_answers_503_then_records(
    client, online, paying_family, two_invoices
):
    checkout = start(paying_family, two_invoices)
    online.pay(checkout)
    deliveries = online.take()

    with online.unreachable():
        refused = online.post(client, deliveries[0])
    assert refused.status_code == 503
    assert Payment.objects.count() == 0

    retried = online.post(client, deliveries[0])
    assert retried.status_code == 200
    assert Payment.objects.count() == 1


def test_another_familys_invoice_cannot_be_slipped_into_a_payment(
    client, online, paying_parent, two_invoices
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
        accepted = client.post(
            reverse("paiements:checkout"),
            {
                "idempotency_key": new_idempotency_key(),
                "invoices": [two_invoices[0].pk],
            },
        )

    assert "Choisissez au moins une facture" in refused.text
    assert accepted.status_code == 302
    session = CheckoutSession.objects.get()
    assert [item.invoice for item in session.items.all()] == [two_invoices[0]]


def test_a_first_payment_already_made_is_recorded_and_the_second_refused(
    online, paying_family, two_invoices
):
    first = start(paying_family, two_invoices)
    online.pay(first)  # paid, but its notification has not arrived yet

    with pytest.raises(ValidationError):
        start(paying_family, two_invoices)

    assert Payment.objects.get().checkout == first
    assert CheckoutSession.objects.count() == 1


def test_a_payment_made_in_another_tab_is_recorded_when_cancelled(
    client, online, paying_parent, two_invoices
):
    with time_machine.travel(IN_WINDOW, tick=False):
        checkout = start(paying_parent.family, two_invoices)
        assert online.pay(checkout) == "paid"
        client.force_login(paying_parent)
        page = client.get(reverse("paiements:cancelled"), {"paiement": checkout.pk})

    assert Payment.objects.get().amount == Decimal("60.00")
    assert "Payé" in page.text


def test_with_the_provider_unreachable_the_cancel_page_says_nothing_was_charged(
    client, online, paying_parent, two_invoices
):
    with time_machine.travel(IN_WINDOW, tick=False):
        checkout = start(paying_parent.family, two_invoices)
        client.force_login(paying_parent)
        with online.unreachable():
            page = client.get(reverse("paiements:cancelled"), {"paiement": checkout.pk})

    checkout.refresh_from_db()
    assert checkout.status == CheckoutSession.Status.OPEN  # it expires by itself
    assert "rien n’a été débité" in page.text or "rien n'a été débité" in page.text


def test_a_payment_never_sent_to_the_provider_is_not_in_progress(
    client, online, paying_parent, two_invoices
):
    with time_machine.travel(IN_WINDOW, tick=False), online.unreachable():
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
    assert CheckoutSession.objects.get().remote_id is None
    assert "Un paiement par carte est en cours" not in failed.text
