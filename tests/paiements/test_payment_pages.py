import datetime
import re
from decimal import Decimal
from unittest import mock

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.urls import reverse

from paiements.models import CheckoutSession, Payment, ReminderSent
from paiements.services import payment_record_desk
from paiements.tasks import send_payment_reminders
from tests.factories import (
    FamilyFactory,
    GuardianFactory,
    InvoiceFactory,
    ParentFactory,
    PaymentFactory,
)
from tests.paiements.conftest import IN_WINDOW

pytestmark = pytest.mark.django_db


def test_the_payment_page_offers_the_unpaid_invoices_in_the_window(
    client, paying_parent, two_invoices
):
    with time_machine.travel(IN_WINDOW, tick=False):
        client.force_login(paying_parent)
        page = client.get(reverse("paiements:home"))

    assert page.context["can_pay"]
    for invoice in two_invoices:
        assert f'value="{invoice.pk}"' in page.text


def test_outside_the_window_the_page_says_when_it_opens(
    client, paying_parent, two_invoices
):
    with time_machine.travel("2026-12-15 10:00 -04:00", tick=False):
        client.force_login(paying_parent)
        page = client.get(reverse("paiements:home"))

    text = page.text.replace("&#x27;", "'")
    assert not page.context["can_pay"]
    assert "Il rouvrira le 1er janvier 2027" in text
    assert "du 7 au 25 de chaque mois" in text
    assert 'name="invoices"' not in text


def test_a_blocked_family_is_told_why_and_cannot_reach_card_payment(
    client, paying_parent, two_invoices
):
    InvoiceFactory(family=paying_parent.family, period=datetime.date(2026, 11, 1))

    with time_machine.travel(IN_WINDOW, tick=False):
        client.force_login(paying_parent)
        home = client.get(reverse("home")).text.replace("&#x27;", "'")
        page = client.get(reverse("paiements:home")).text.replace("&#x27;", "'")
        review = client.post(
            reverse("paiements:review"), {"invoices": [two_invoices[0].pk]}, follow=True
        )

    assert "3 factures impayées" in home
    assert "3 factures impayées" in page and "guichet" in page
    assert 'name="invoices"' not in page
    assert review.redirect_chain[-1][0] == reverse("paiements:home")
    assert CheckoutSession.objects.count() == 0


def test_history_lists_payments_with_their_receipts_and_no_one_elses(
    client, paying_parent, two_invoices, other_parent
):
    from decimal import Decimal

    payment = payment_record_desk(
        family=paying_parent.family,
        method=Payment.Method.CHEQUE,
        amount=Decimal("30.00"),
        allocations={two_invoices[0].pk: Decimal("30.00")},
        agent=None,
        reference="0012345",
    )
    client.force_login(paying_parent)

    page = client.get(reverse("paiements:list"))
    receipt = client.get(reverse("paiements:receipt", args=[payment.pk]))
    client.force_login(other_parent)
    stranger = client.get(reverse("paiements:receipt", args=[payment.pk]))
    strangers_history = client.get(reverse("paiements:list"))

    assert payment.number in page.text
    assert receipt["Content-Type"] == "application/pdf"
    assert stranger.status_code == 404
    assert strangers_history.status_code == 200
    assert payment.number not in strangers_history.text


def test_the_history_shows_each_payment_with_what_it_paid(
    client, paying_parent, two_invoices
):
    """Newest first; a payment over two invoices, one with money left over
    and nothing allocated, a reversal."""
    from decimal import Decimal

    from paiements.services import payment_reverse

    family = paying_parent.family
    first, second = two_invoices
    both = payment_record_desk(
        family=family,
        method=Payment.Method.CASH,
        amount=Decimal("50.00"),
        allocations={first.pk: Decimal("30.00"), second.pk: Decimal("20.00")},
        agent=None,
    )
    spare = payment_record_desk(
        family=family,
        method=Payment.Method.CHEQUE,
        amount=Decimal("5.00"),
        allocations={first.pk: Decimal("0")},
        agent=None,
        keep_as_credit="Avance",
    )
    reversal = payment_reverse(payment=both, reason="Erreur", agent=None)
    client.force_login(paying_parent)

    page = client.get(reverse("paiements:list")).text.replace("\u00a0", " ")

    history = page[page.index("<h1>") :]
    items = re.findall(r"<li>(.*?)</li>", history, re.S)
    assert [reversal.number in items[0], spare.number in items[1]] == [True, True]
    assert both.number in items[2]
    assert f"{first.number} : 30,00 € · {second.number} : 20,00 €" in items[2]
    assert f"{first.number} : -30,00 € · {second.number} : -20,00 €" in items[0]
    assert f"(annule {both.number})" in items[0]
    assert "Chèque – 5,00 €" in items[1] and 'class="help"></span>' in items[1]
    assert f"Reçu {both.number} (PDF)" in items[2]


def test_the_payment_page_links_to_the_list_of_all_payments(client, paying_parent):
    client.force_login(paying_parent)

    page = client.get(reverse("paiements:home")).text

    assert "Tous mes paiements et reçus" in page
    assert reverse("paiements:list") in page


def test_a_family_without_payments_is_told_so(client, paying_parent):
    client.force_login(paying_parent)

    listed = client.get(reverse("paiements:list")).text

    assert "Aucun paiement enregistré" in listed


def start_checkout(family, invoices):  # noqa: ANN001, ANN201
    """A card payment started in the window, not yet paid."""
    from paiements.services import card_checkout_start, new_idempotency_key

    return card_checkout_start(
        family=family,
        invoices=invoices,
        idempotency_key=new_idempotency_key(),
        user=None,
        return_url="http://testserver/r/",
        cancel_url="http://testserver/c/",
        today=datetime.date(2026, 12, 5),
    )


def test_the_return_page_shows_in_progress_until_the_webhook(
    client, standin, paying_parent, two_invoices
):
    checkout = start_checkout(paying_parent.family, two_invoices)
    client.force_login(paying_parent)

    page = client.get(reverse("paiements:return"), {"paiement": checkout.pk})

    assert "En cours" in page.text
    assert 'http-equiv="refresh"' in page.text


def test_another_familys_card_payment_is_not_found(
    client, standin, paying_parent, two_invoices, other_parent
):
    checkout = start_checkout(paying_parent.family, two_invoices)
    client.force_login(other_parent)

    page = client.get(reverse("paiements:return"), {"paiement": checkout.pk})

    assert page.status_code == 404


def test_reminders_go_out_on_the_reminder_day_once(
    paying_family, two_invoices, settings
):
    settings.PORTAIL_REMINDER_DAY = 8

    with time_machine.travel("2026-12-07 09:00 -04:00", tick=False):
        call_command("send_payment_reminders")
    assert mail.outbox == []
    with time_machine.travel("2026-12-08 09:00 -04:00", tick=False):
        call_command("send_payment_reminders")
        call_command("send_payment_reminders")

    assert len(mail.outbox) == 1
    assert two_invoices[0].number in mail.outbox[0].body
    assert ReminderSent.objects.count() == 1


def test_a_family_without_email_gets_no_reminder(two_invoices, paying_family, settings):
    paying_family.guardians.update(email="")
    settings.PORTAIL_REMINDER_DAY = 8

    with time_machine.travel("2026-12-08 09:00 -04:00", tick=False):
        call_command("send_payment_reminders")

    assert mail.outbox == []


def test_reminders_go_by_batch_in_queries_that_do_not_grow(
    settings, django_assert_max_num_queries, monkeypatch
):
    """Five families, batches of two: three tasks, five e-mails, each family
    once; the choosing and recording take as many queries for five families
    as for one (with one more insert per batch), three of them holding
    credit that does not pay what they owe included."""
    from paiements import services

    settings.PORTAIL_REMINDER_DAY = 8
    monkeypatch.setattr(services, "REMINDER_BATCH", 2)
    task = mock.Mock()
    monkeypatch.setattr(services, "send_payment_reminders", task)
    families = []
    for n in range(5):
        family = FamilyFactory()
        GuardianFactory(family=family, email=f"parent{n}@example.org")
        InvoiceFactory(family=family, period=datetime.date(2026, 10, 1))
        if n < 3:
            PaymentFactory(family=family, amount=Decimal("5.00"))  # credit
        families.append(family)
    with (
        time_machine.travel("2026-12-08 09:00 -04:00", tick=False),
        # Five to choose (the families, three for their credit, one for
        # the invoices of those holding some), four per batch (savepoint,
        # read, insert, release): none per family.
        django_assert_max_num_queries(5 + 3 * 4),
    ):
        assert services.payment_reminders_send() == 5

    batches = [call.kwargs["family_ids"] for call in task.enqueue.call_args_list]
    assert batches == [[f.pk for f in families[i : i + 2]] for i in (0, 2, 4)]
    for batch in batches:
        send_payment_reminders.call(family_ids=batch)
    assert sorted(message.to[0] for message in mail.outbox) == [
        f"parent{n}@example.org" for n in range(5)
    ]
    with time_machine.travel("2026-12-08 10:00 -04:00", tick=False):
        assert services.payment_reminders_send() == 0  # once a month


def test_parent_pages_never_show_the_webhook_to_get(client):
    assert client.get(reverse("paiements:stripe_webhook")).status_code == 405


@pytest.fixture
def other_parent(db):  # noqa: ANN001, ANN201
    return ParentFactory()
