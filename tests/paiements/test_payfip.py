"""What only PayFiP does, against its local stand-in: one address for every
outcome, a notification anyone could post, an idop payable 15 minutes that
cannot be cancelled, an e-mail and 1 € at least, refunds by the Treasury.
What every provider does is in test_online_payment.py."""

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse

from paiements.models import CheckoutSession, Payment, Refund
from paiements.services import (
    payment_record_desk,
    payments_reconcile,
)
from tests.factories import GuardianFactory, InvoiceFactory
from tests.paiements.conftest import IN_WINDOW, start

pytestmark = [pytest.mark.django_db, pytest.mark.now(IN_WINDOW)]


def test_the_operation_carries_the_amount_email_and_a_reference_for_the_invoices(
    payfip_standin, paying_family, two_invoices
):
    checkout = start(paying_family, two_invoices)

    operation = payfip_standin.operation(checkout.remote_id)
    assert operation["montant"] == "6000"  # cents
    assert operation["mel"] == "josiane@example.org"
    assert operation["numcli"] == "000000" and operation["saisie"] == "T"
    assert (
        operation["refdet"]
        == f"{paying_family.identifier.replace('-', '')}C{checkout.pk}"
    )
    assert (
        operation["urlnotif"] == "http://127.0.0.1:8000/paiements/notification/payfip/"
    )
    assert operation["urlredirect"] == (
        f"http://testserver/paiements/retour/?paiement={checkout.pk}"
    )
    assert two_invoices[0].number.replace("-", " ") in operation["objet"]
    assert checkout.url == f"{payfip_standin.payment_url}?idop={checkout.remote_id}"
    # PayFiP's idop is payable 15 minutes.
    life = checkout.expires_at - checkout.created_at
    assert (
        datetime.timedelta(minutes=15)
        <= life
        < datetime.timedelta(minutes=15, seconds=5)
    )


def test_the_return_page_reads_the_result_when_the_notification_is_lost(
    client, payfip_standin, paying_parent, two_invoices
):
    payfip_standin.lose_notifications = True
    checkout = start(paying_parent.family, two_invoices)
    payfip_standin.pay(checkout.remote_id, "paid")
    assert payfip_standin.take_deliveries() == []

    client.force_login(paying_parent)
    page = client.get(reverse("paiements:return"), {"paiement": checkout.pk})

    assert "Payé" in page.text
    assert Payment.objects.get().amount == Decimal("60.00")


def test_payfip_bringing_the_parent_back_by_a_post_shows_the_same_page(
    client, payfip_standin, paying_parent, two_invoices
):
    checkout = start(paying_parent.family, two_invoices)
    payfip_standin.pay(checkout.remote_id, "paid")
    client.force_login(paying_parent)

    page = client.post(
        reverse("paiements:return") + f"?paiement={checkout.pk}",
        {"idop": checkout.remote_id},
    )

    assert page.status_code == 200 and "Payé" in page.text


def test_abandoning_on_payfips_page_says_nothing_was_charged(
    client, payfip_standin, paying_parent, two_invoices
):
    checkout = start(paying_parent.family, two_invoices)
    payfip_standin.pay(checkout.remote_id, "abandoned")
    client.force_login(paying_parent)

    page = client.get(reverse("paiements:return"), {"paiement": checkout.pk})
    home = client.get(reverse("paiements:home"))

    checkout.refresh_from_db()
    assert checkout.status == CheckoutSession.Status.EXPIRED
    assert "Aucune somme n'a été prélevée" in page.text.replace("’", "'")
    assert "Un paiement par carte est en cours" not in home.text
    assert Payment.objects.count() == 0


def test_a_second_payment_waits_until_the_first_idop_has_expired(
    client, payfip_standin, paying_family, two_invoices
):
    """PayFiP cannot cancel an operation: while the first idop can still be
    paid, a second payment of the same invoices would let the family pay
    twice, so it is refused; once the idop has expired, it is allowed."""
    with time_machine.travel("2026-12-05 10:00 -04:00", tick=False):
        first = start(paying_family, two_invoices)
    with (
        time_machine.travel("2026-12-05 10:10 -04:00", tick=False),
        pytest.raises(ValidationError, match="déjà en cours"),
    ):
        start(paying_family, two_invoices)

    with time_machine.travel("2026-12-05 10:16 -04:00", tick=False):
        second = start(paying_family, two_invoices)
        assert payfip_standin.pay(second.remote_id, "paid") == "paid"
        with pytest.raises(ValueError, match="expir"):
            payfip_standin.pay(first.remote_id, "paid")

    assert second.pk != first.pk
    # The first one, never finished, is closed once PayFiP's margin is past.
    later = first.expires_at + datetime.timedelta(minutes=6)
    with time_machine.travel(later, tick=False):
        result = payments_reconcile(now=later)
    first.refresh_from_db()
    assert first.status == CheckoutSession.Status.EXPIRED
    assert [p.checkout for p in result.recorded] == [second]


def test_an_unfinished_operation_stays_in_progress_during_its_life(
    payfip_standin, paying_family, two_invoices
):
    checkout = start(paying_family, two_invoices)

    soon = payments_reconcile(now=checkout.created_at + datetime.timedelta(minutes=10))

    checkout.refresh_from_db()
    assert soon.still_open == 1 and checkout.status == CheckoutSession.Status.OPEN


def test_a_notification_anyone_could_post_changes_nothing_by_itself(
    client, payfip_standin, paying_family, two_invoices
):
    checkout = start(paying_family, two_invoices)
    url = reverse("paiements:payfip_notification")

    forged = client.post(url, {"idOp": checkout.remote_id})  # not paid at PayFiP
    unknown = client.post(url, {"idOp": "not-one-of-ours"})
    empty = client.post(url, {})
    wrong_verb = client.get(url, {"idOp": checkout.remote_id})

    assert forged.status_code == 200 and forged.content == b"operation open"
    assert unknown.status_code == 200 and unknown.content == b"unknown operation"
    assert empty.status_code == 400
    assert wrong_verb.status_code == 405
    assert Payment.objects.count() == 0
    checkout.refresh_from_db()
    assert checkout.status == CheckoutSession.Status.OPEN


def test_the_stand_ins_duplicate_notifications_record_one_payment(
    client, payfip_standin, paying_family, two_invoices
):
    payfip_standin.duplicate_notifications = True
    checkout = start(paying_family, two_invoices)
    payfip_standin.pay(checkout.remote_id, "paid")
    deliveries = payfip_standin.take_deliveries()

    responses = [
        client.post(
            reverse("paiements:payfip_notification"),
            data=delivery.body,
            content_type="application/x-www-form-urlencoded",
        )
        for delivery in deliveries
    ]

    assert len(deliveries) == 2
    assert [r.status_code for r in responses] == [200, 200]
    assert Payment.objects.count() == 1


def test_a_slow_payfip_is_given_up_and_the_parent_told(
    settings, payfip_standin, paying_family, two_invoices
):
    settings.PAYFIP_TIMEOUT_SECONDS = 1
    payfip_standin.slow_seconds = 2.5

    with pytest.raises(ValidationError, match="indisponible"):
        start(paying_family, two_invoices)

    checkout = CheckoutSession.objects.get()
    assert checkout.remote_id is None and checkout.url == ""


def test_less_than_one_euro_is_not_sent_to_payfip(payfip_standin, paying_family):
    small = InvoiceFactory(family=paying_family, period=datetime.date(2026, 11, 1))
    small.total = Decimal("0.80")
    small.save(update_fields=["total"])

    with pytest.raises(ValidationError, match="1,00"):
        start(paying_family, [small])

    assert CheckoutSession.objects.count() == 0
    assert payfip_standin.operations == {}


def test_without_an_email_payfip_is_not_offered_a_payment(payfip_standin, db):
    from tests.factories import FamilyFactory

    family = FamilyFactory()
    GuardianFactory(family=family, email="")
    invoice = InvoiceFactory(family=family, period=datetime.date(2026, 11, 1))

    with pytest.raises(ValidationError, match="adresse e-mail"):
        start(family, [invoice])

    assert CheckoutSession.objects.count() == 0


# --- Refunds: made by the Treasury, recorded in the portal ------------------------


@pytest.fixture
def payfip_payment(client, payfip_standin, paying_family, two_invoices, staff):
    """A PayFiP payment of 60 € of which 30 € pay no invoice (the first was
    paid at the desk meanwhile)."""
    checkout = start(paying_family, two_invoices)
    payment_record_desk(
        family=paying_family,
        method=Payment.Method.CASH,
        amount=Decimal("30.00"),
        allocations={two_invoices[0].pk: Decimal("30.00")},
        agent=staff,
    )
    payfip_standin.pay(checkout.remote_id, "paid")
    for delivery in payfip_standin.take_deliveries():
        client.post(
            reverse("paiements:payfip_notification"),
            data=delivery.body,
            content_type="application/x-www-form-urlencoded",
        )
    payment = Payment.objects.get(method=Payment.Method.PAYFIP)
    assert payment.unallocated == Decimal("30.00")
    return payment


def test_a_payfip_payment_is_refunded_by_the_treasury_with_its_reference(
    staff_client, payfip_payment
):
    url = reverse("admin:paiements_payment_refund", args=[payfip_payment.pk])
    form = staff_client.get(url)
    assert "par le Trésor public" in form.content.decode()
    assert "sur la carte" not in form.content.decode()

    without = staff_client.post(
        url,
        {"method": "treasury", "amount": "30,00", "reason": "Trop-perçu", "key": "k1"},
    )
    assert without.status_code == 200 and not Refund.objects.exists()
    assert "référence" in without.content.decode()

    done = staff_client.post(
        url,
        {
            "method": "treasury",
            "amount": "30,00",
            "reason": "Trop-perçu",
            "reference": "Mandat 2026-000123",
            "key": "k2",
        },
    )

    assert done.status_code == 302
    refund = Refund.objects.get()
    assert refund.method == Refund.Method.TREASURY
    assert refund.status == Refund.Status.DONE
    assert refund.reference == "Mandat 2026-000123"
    payfip_payment.refresh_from_db()
    assert payfip_payment.unallocated == Decimal("0.00")


def test_a_payfip_payment_is_never_sent_back_through_stripe(
    staff_client, payfip_payment
):
    response = staff_client.post(
        reverse("admin:paiements_payment_refund", args=[payfip_payment.pk]),
        {"method": "provider", "amount": "30,00", "reason": "x", "key": "k"},
    )

    assert response.status_code == 200 and not Refund.objects.exists()


def test_only_a_payfip_payment_is_refunded_by_the_treasury(staff_client, staff):
    from tests.factories import FamilyFactory

    family = FamilyFactory()
    payment = payment_record_desk(
        family=family,
        method=Payment.Method.CASH,
        amount=Decimal("10.00"),
        allocations={},
        agent=staff,
        keep_as_credit="Avance",
    )

    response = staff_client.post(
        reverse("admin:paiements_payment_refund", args=[payment.pk]),
        {
            "method": "treasury",
            "amount": "10,00",
            "reason": "x",
            "reference": "M1",
            "key": "k",
        },
    )

    assert response.status_code == 200 and not Refund.objects.exists()


def test_the_review_page_says_at_once_that_payfip_needs_an_email(
    client, payfip_standin, db
):
    from tests.factories import FamilyFactory, ParentFactory

    family = FamilyFactory()
    GuardianFactory(family=family, email="")
    parent = ParentFactory(family=family, email="")
    invoice = InvoiceFactory(family=family, period=datetime.date(2026, 11, 1))
    client.force_login(parent)

    review = client.post(
        reverse("paiements:review"), {"invoices": [invoice.pk]}, follow=True
    )

    assert review.redirect_chain[-1][0] == reverse("paiements:home")
    assert "adresse e-mail" in review.text
    assert CheckoutSession.objects.count() == 0
