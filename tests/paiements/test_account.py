"""Every euro accounted for (issue 18): the family's account, credits kept
and used, refunds, the desk's default allocation, the anomalies of card
payments and the webhook's malformed bodies. Through the admin's pages and
the webhook, as an agent and Stripe meet them."""

import datetime
import io
import json
import logging
import re
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.urls import reverse

from factures.models import CreditNote, Invoice
from factures.services import credit_note_issue
from paiements.accounts import family_account, family_statement
from paiements.models import (
    Allocation,
    CheckoutSession,
    Payment,
    Refund,
    WebhookEvent,
)
from paiements.rules import family_block_state
from paiements.services import (
    card_checkout_start,
    new_idempotency_key,
    payment_record_desk,
    payment_reminders_send,
)
from tests.factories import FamilyFactory, GuardianFactory, InvoiceFactory
from tests.paiements.conftest import IN_WINDOW, deliver, post_webhook

pytestmark = [pytest.mark.django_db, pytest.mark.now(IN_WINDOW)]

D = Decimal


def text(response) -> str:  # noqa: ANN001
    return response.content.decode().replace("\u00a0", " ")


def invoice_state(invoice: Invoice) -> Invoice:
    return Invoice.objects.with_balance().get(pk=invoice.pk)


def desk(staff_client, family, amount, **fields):  # noqa: ANN001, ANN003, ANN201
    url = reverse("admin:paiements_payment_desk")
    data = {"method": "cash", "amount": amount, "reference": "", **fields}
    return staff_client.post(f"{url}?q={family.identifier}", data)


def credit_note(staff_client, invoice, amount, reason="Repas non pris"):  # noqa: ANN001, ANN201
    return staff_client.post(
        reverse("admin:factures_invoice_credit", args=[invoice.pk]),
        {
            "reason": reason,
            "lines-TOTAL_FORMS": "1",
            "lines-INITIAL_FORMS": "0",
            "lines-MIN_NUM_FORMS": "0",
            "lines-MAX_NUM_FORMS": "1000",
            "lines-0-label": "Repas du 3 octobre",
            "lines-0-quantity": "1",
            "lines-0-unit_price": amount,
        },
    )


def checkout_for(family, invoice) -> CheckoutSession:  # noqa: ANN001
    """The family starts paying `invoice` by card (on the stand-in)."""
    return card_checkout_start(
        family=family,
        invoices=[invoice],
        idempotency_key=new_idempotency_key(),
        user=None,
        return_url="http://testserver/r/",
        cancel_url="http://testserver/c/",
    )


def account_page(staff_client, family) -> str:  # noqa: ANN001
    response = staff_client.get(
        reverse("admin:paiements_payment_account", args=[family.pk])
    )
    assert response.status_code == 200
    return text(response)


@pytest.fixture
def family(db):  # noqa: ANN001, ANN201
    family = FamilyFactory(name="Dorville")
    GuardianFactory(family=family, email="josiane@example.org")
    return family


# --- A refund owed never disappears ---------------------------------------------------


def test_a_credit_note_on_a_paid_invoice_becomes_the_familys_credit(
    staff_client, family
):
    invoice = InvoiceFactory(
        family=family, period=datetime.date(2026, 10, 1), total=D("18.00")
    )
    assert desk(staff_client, family, "18,00").status_code == 302

    response = credit_note(staff_client, invoice, "3,60")

    assert response.status_code == 302
    fresh = invoice_state(invoice)
    assert (fresh.status, fresh.due, fresh.paid) == (
        Invoice.Status.PAID,
        D("0.00"),
        D("14.40"),
    )
    account = family_account(family)
    assert (account.owed, account.credit, account.balance) == (
        D("0.00"),
        D("3.60"),
        D("3.60"),
    )
    page = account_page(staff_client, family)
    assert "3,60 € en faveur de la famille" in page
    family_page = text(
        staff_client.get(reverse("admin:familles_family_change", args=[family.pk]))
    )
    assert "avoir détenu <strong>3,60 €</strong>" in family_page
    # The invariant: allocations never exceed what it owes after credit notes.
    paid = sum(a.amount for a in Allocation.objects.filter(invoice=invoice))
    assert paid == invoice.total - CreditNote.objects.get().total


def test_cancelling_a_paid_invoice_gives_the_whole_amount_back_as_credit(
    staff_client, family
):
    invoice = InvoiceFactory(family=family, total=D("30.00"))
    desk(staff_client, family, "30,00")

    staff_client.post(
        reverse("admin:factures_invoice_credit", args=[invoice.pk]),
        {
            "reason": "Facture en double",
            "cancel": "on",
            "lines-TOTAL_FORMS": "0",
            "lines-INITIAL_FORMS": "0",
            "lines-MIN_NUM_FORMS": "0",
            "lines-MAX_NUM_FORMS": "1000",
        },
    )

    assert invoice_state(invoice).status == Invoice.Status.CANCELLED
    assert family_account(family).credit == D("30.00")


# --- Credit is used or given back -----------------------------------------------------


def test_online_money_left_by_a_bounced_cheque_is_counted_then_allocated(
    staff_client, family, online, client
):
    """The issue's case: a card payment arrives for an invoice the desk
    already took a cheque for; the cheque bounces. The invoice is due again
    while 30 € of card money sits as credit: the family is neither blocked
    nor reminded for it, and the agent allocates it in one click."""
    invoice = InvoiceFactory(family=family, period=datetime.date(2026, 10, 1))
    checkout = checkout_for(family, invoice)
    older = [
        InvoiceFactory(family=family, period=datetime.date(2026, m, 1)) for m in (6, 7)
    ]
    cheque = payment_record_desk(
        family=family,
        method=Payment.Method.CHEQUE,
        amount=D("30.00"),
        allocations={invoice.pk: D("30.00")},
        agent=None,
    )
    online.pay(checkout)
    online.deliver(client)
    card = Payment.objects.get(method__in=Payment.ONLINE_METHODS)
    assert card.unallocated == D("30.00")

    staff_client.post(
        reverse("admin:paiements_payment_reverse", args=[cheque.pk]),
        {"reason": "Chèque sans provision"},
    )

    assert invoice_state(invoice).due == D("30.00")
    assert family_account(family).credit == D("30.00")
    # Three unpaid invoices, one of them paid by the credit: two count.
    assert family_block_state(family=family).unpaid_count == 2
    page = account_page(staff_client, family)
    assert card.number in page and "30,00 €" in page

    allocate = staff_client.post(
        reverse("admin:paiements_payment_account", args=[family.pk]),
        {
            f"invoice_{older[0].pk}": "30,00",
            f"invoice_{older[1].pk}": "",
            f"invoice_{invoice.pk}": "",
        },
    )

    assert allocate.status_code == 302
    assert invoice_state(older[0]).status == Invoice.Status.PAID
    assert family_account(family).credit == D("0.00")
    allocation = Allocation.objects.filter(invoice=older[0]).get()
    assert allocation.payment == card and allocation.note


def test_the_allocation_form_offers_the_oldest_invoices_first(staff_client, family):
    first, second = (
        InvoiceFactory(family=family, period=datetime.date(2026, m, 1)) for m in (9, 10)
    )
    desk(
        staff_client,
        family,
        "40,00",
        **{f"invoice_{first.pk}": "0", f"invoice_{second.pk}": "0"},
        keep_as_credit="on",
        credit_reason="Avance",
    )

    response = staff_client.get(
        reverse("admin:paiements_payment_account", args=[family.pk])
    )

    form = response.context["form"]
    assert form[f"invoice_{first.pk}"].initial == D("30.00")
    assert form[f"invoice_{second.pk}"].initial == D("10.00")


def test_credit_cannot_be_allocated_twice_nor_beyond_an_invoice(staff_client, family):
    first, second = (
        InvoiceFactory(family=family, period=datetime.date(2026, m, 1)) for m in (9, 10)
    )
    desk(
        staff_client,
        family,
        "20,00",
        **{f"invoice_{first.pk}": "", f"invoice_{second.pk}": "0"},
        keep_as_credit="on",
        credit_reason="Avance",
    )
    url = reverse("admin:paiements_payment_account", args=[family.pk])

    too_much = staff_client.post(
        url, {f"invoice_{first.pk}": "15,00", f"invoice_{second.pk}": "15,00"}
    )
    beyond = staff_client.post(url, {f"invoice_{first.pk}": "31,00"})

    assert "plus que l’avoir de la famille" in text(too_much) or (
        "plus que l'avoir de la famille" in text(too_much)
    )
    assert too_much.status_code == 200 and beyond.status_code == 200
    assert Allocation.objects.filter(note__gt="").count() == 0
    assert family_account(family).credit == D("20.00")


def test_a_refund_at_the_desk_with_its_receipt(staff_client, family):
    desk(staff_client, family, "25,00", keep_as_credit="on", credit_reason="Avance")
    payment = Payment.objects.get()
    url = reverse("admin:paiements_payment_refund", args=[payment.pk])
    form = staff_client.get(url)
    key = form.context["form"]["key"].initial

    data = {
        "method": "cash",
        "amount": "25,00",
        "reason": "Départ de la commune",
        "reference": "",
        "key": key,
    }
    first = staff_client.post(url, data)
    again = staff_client.post(url, data)  # a double click

    assert first.status_code == again.status_code == 302
    refund = Refund.objects.get()
    assert (refund.amount, refund.status, refund.payment) == (
        D("25.00"),
        Refund.Status.DONE,
        payment,
    )
    assert refund.number.startswith("RB2026-")
    assert family_account(family).credit == D("0.00")
    receipt = staff_client.get(
        reverse("admin:paiements_refund_receipt", args=[refund.pk])
    )
    assert receipt["Content-Type"] == "application/pdf"


@pytest.mark.parametrize(
    ("amount", "reason", "message"),
    [
        ("25,01", "Trop", "plus que l’avoir"),
        ("10,00", "   ", "raison"),
    ],
)
def test_a_refund_never_exceeds_the_credit_and_needs_a_reason(
    staff_client, family, amount, reason, message
):
    desk(staff_client, family, "25,00", keep_as_credit="on", credit_reason="Avance")
    payment = Payment.objects.get()

    response = staff_client.post(
        reverse("admin:paiements_payment_refund", args=[payment.pk]),
        {"method": "cash", "amount": amount, "reason": reason, "key": "k1"},
    )

    assert response.status_code == 200
    page = text(response).replace("'", "’")
    assert message in page
    assert not Refund.objects.exists()


def test_a_card_payment_is_refunded_to_the_card(staff_client, family, standin, client):
    invoice = InvoiceFactory(family=family, total=D("30.00"))
    checkout = checkout_for(family, invoice)
    standin.pay(checkout.remote_id)
    deliver(client, standin)
    credit_note_issue(
        invoice=invoice,
        lines=[],
        reason="Cantine fermée",
        agent=None,
        cancel=True,
    )
    card = Payment.objects.get()
    assert card.unallocated == D("30.00")
    url = reverse("admin:paiements_payment_refund", args=[card.pk])

    response = staff_client.post(
        url,
        {
            "method": "provider",
            "amount": "30,00",
            "reason": "Cantine fermée",
            "key": "k",
        },
    )

    assert response.status_code == 302
    refund = Refund.objects.get()
    assert refund.status == Refund.Status.DONE and refund.provider_id.startswith("re_")
    assert family_account(family).credit == D("0.00")
    # The refund's own webhook, delivered later, changes nothing.
    assert all(r.status_code == 200 for r in deliver(client, standin))
    assert Refund.objects.get().status == Refund.Status.DONE


def test_a_card_refund_that_fails_gives_the_money_back_to_the_credit(
    staff_client, family, standin, client
):
    checkout_invoice = InvoiceFactory(family=family, total=D("12.00"))
    checkout = checkout_for(family, checkout_invoice)
    standin.pay(checkout.remote_id)
    deliver(client, standin)
    credit_note_issue(
        invoice=checkout_invoice, lines=[], reason="Erreur", agent=None, cancel=True
    )
    standin.refunds_pending = True
    card = Payment.objects.get()

    staff_client.post(
        reverse("admin:paiements_payment_refund", args=[card.pk]),
        {"method": "provider", "amount": "12,00", "reason": "Erreur", "key": "k"},
    )
    refund = Refund.objects.get()
    assert refund.status == Refund.Status.PENDING
    assert family_account(family).credit == D("0.00")  # reserved meanwhile
    standin.settle_refund(refund.provider_id, status="failed")
    responses = deliver(client, standin)

    assert {r.status_code for r in responses} == {200}
    refund.refresh_from_db()
    assert refund.status == Refund.Status.FAILED
    assert family_account(family).credit == D("12.00")


def test_a_pending_card_refund_whose_webhook_is_lost_is_settled_by_the_job(
    staff_client, family, standin, client
):
    invoice = InvoiceFactory(family=family, total=D("9.00"))
    checkout = checkout_for(family, invoice)
    standin.pay(checkout.remote_id)
    deliver(client, standin)
    credit_note_issue(
        invoice=invoice, lines=[], reason="Erreur", agent=None, cancel=True
    )
    standin.refunds_pending = True
    staff_client.post(
        reverse("admin:paiements_payment_refund", args=[Payment.objects.get().pk]),
        {"method": "provider", "amount": "9,00", "reason": "Erreur", "key": "k"},
    )
    refund = Refund.objects.get()
    standin.settle_refund(refund.provider_id, status="succeeded")
    deliver(client, standin, drop=True)  # the refund's webhook never comes
    assert Refund.objects.get().status == Refund.Status.PENDING

    out = io.StringIO()
    call_command("reconcile_payments", stdout=out)

    assert Refund.objects.get().status == Refund.Status.DONE
    assert "1 pending card refund(s) settled" in out.getvalue()
    assert family_account(family).credit == D("0.00")


def test_only_a_card_payment_goes_back_to_the_card(staff_client, family):
    desk(staff_client, family, "10,00", keep_as_credit="on", credit_reason="Avance")
    payment = Payment.objects.get()

    response = staff_client.post(
        reverse("admin:paiements_payment_refund", args=[payment.pk]),
        {"method": "provider", "amount": "10,00", "reason": "x", "key": "k"},
    )

    assert response.status_code == 200 and not Refund.objects.exists()


def test_a_refunded_payment_cannot_be_reversed(staff_client, family):
    desk(staff_client, family, "10,00", keep_as_credit="on", credit_reason="Avance")
    payment = Payment.objects.get()
    staff_client.post(
        reverse("admin:paiements_payment_refund", args=[payment.pk]),
        {"method": "cash", "amount": "4,00", "reason": "Départ", "key": "k"},
    )

    response = staff_client.post(
        reverse("admin:paiements_payment_reverse", args=[payment.pk]),
        {"reason": "Chèque sans provision"},
    )

    assert response.status_code == 200
    assert "remboursé" in text(response)
    assert Payment.objects.count() == 1


def test_reminders_leave_out_a_family_whose_credit_pays_what_it_owes(family):
    invoice = InvoiceFactory(family=family, period=datetime.date(2026, 10, 1))
    other = FamilyFactory()
    GuardianFactory(family=other, email="autre@example.org")
    InvoiceFactory(family=other, period=datetime.date(2026, 10, 1))
    payment_record_desk(
        family=family,
        method=Payment.Method.CASH,
        amount=D("30.00"),
        allocations={invoice.pk: D("0")},
        agent=None,
        keep_as_credit="Avance",
    )

    sent = payment_reminders_send(today=datetime.date(2026, 12, 8))

    assert sent == 1  # the other family only


# --- The desk allocates by default ----------------------------------------------------


def test_the_desk_allocates_oldest_first_when_left_empty(staff_client, family):
    invoices = [
        InvoiceFactory(family=family, period=datetime.date(2026, m, 1)) for m in (10, 9)
    ]

    response = desk(staff_client, family, "45,00")

    assert response.status_code == 302
    september, october = sorted(invoices, key=lambda i: i.period)
    assert invoice_state(september).status == Invoice.Status.PAID
    assert invoice_state(october).paid == D("15.00")


def test_money_left_over_needs_the_agents_word(staff_client, family):
    invoice = InvoiceFactory(family=family)

    refused = desk(staff_client, family, "50,00")
    no_reason = desk(staff_client, family, "50,00", keep_as_credit="on")
    kept = desk(
        staff_client, family, "50,00", keep_as_credit="on", credit_reason="Avance"
    )

    assert refused.status_code == 200
    assert "20,00 € de ce paiement ne vont à aucune facture" in text(refused)
    assert no_reason.status_code == 200
    assert kept.status_code == 302
    payment = Payment.objects.get()
    assert invoice_state(invoice).status == Invoice.Status.PAID
    assert payment.unallocated == D("20.00") and "Avance" in payment.note


def test_a_desk_payment_for_a_family_with_nothing_to_pay(staff_client, family):
    page = staff_client.get(
        reverse("admin:paiements_payment_desk"), {"q": family.identifier}
    )
    refused = desk(staff_client, family, "10,00")

    assert "aucune facture à payer" in text(page)
    assert refused.status_code == 200 and not Payment.objects.exists()


def test_the_desk_speaks_to_the_agent_about_a_block(staff_client, family, settings):
    settings.PORTAIL_UNPAID_LIMIT = 1
    for month in (9, 10):
        InvoiceFactory(family=family, period=datetime.date(2026, month, 1))

    page = text(
        staff_client.get(
            reverse("admin:paiements_payment_desk"), {"q": family.identifier}
        )
    )

    assert "Paiement en ligne bloqué pour cette famille" in page
    assert "Merci de payer au guichet" not in page


def test_the_desk_leaves_a_disputed_invoice_alone(staff_client, family):
    from factures.services import invoice_dispute_open

    disputed = InvoiceFactory(family=family, period=datetime.date(2026, 9, 1))
    other = InvoiceFactory(family=family, period=datetime.date(2026, 10, 1))
    invoice_dispute_open(invoice=disputed, reason="Montant faux", user=None)

    desk(staff_client, family, "30,00")

    assert invoice_state(disputed).paid == 0
    assert invoice_state(other).status == Invoice.Status.PAID


# --- The statement balances -----------------------------------------------------------


def test_the_statement_balances_against_the_sum_of_the_records(staff_client, family):
    first = InvoiceFactory(
        family=family, period=datetime.date(2026, 9, 1), total=D("18.00")
    )
    InvoiceFactory(family=family, period=datetime.date(2026, 10, 1), total=D("27.90"))
    desk(staff_client, family, "18,00")
    credit_note(staff_client, first, "3,60")
    desk(staff_client, family, "30,00", keep_as_credit="on", credit_reason="Avance")
    payment = Payment.objects.order_by("pk").last()
    staff_client.post(
        reverse("admin:paiements_payment_refund", args=[payment.pk]),
        {"method": "cheque", "amount": "1,00", "reason": "Trop perçu", "key": "k"},
    )

    statement = family_statement(
        family, start=datetime.date(2026, 1, 1), end=datetime.date(2026, 12, 31)
    )
    account = family_account(family)

    records = -D("18.00") - D("27.90") + D("3.60") + D("18.00") + D("30.00") - D("1.00")
    assert statement.opening == 0
    assert statement.closing == records == account.balance == D("4.70")
    assert [entry.kind for entry in statement.entries].count("allocation") >= 3
    page = account_page(staff_client, family)
    assert "4,70 €" in page
    pdf = staff_client.get(
        reverse("admin:paiements_payment_statement_pdf", args=[family.pk]),
        {"du": "2026-01-01", "au": "2026-12-31"},
    )
    assert pdf["Content-Type"] == "application/pdf"


# --- Card payments that differ, and malformed webhooks --------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"[]",
        b"null",
        b"{}",
        b'"evt"',
        json.dumps({"id": "evt_1", "data": {"object": {"id": "cs_1"}}}).encode(),
        json.dumps({"id": "evt_1", "type": "checkout.session.completed"}).encode(),
        json.dumps(
            {"id": "evt_1", "type": "checkout.session.completed", "data": {}}
        ).encode(),
        json.dumps(
            {
                "id": "evt_1",
                "type": "checkout.session.completed",
                "data": {"object": {}},
            }
        ).encode(),
    ],
)
def test_a_signed_body_that_is_not_an_event_is_refused(client, standin, body, caplog):
    with caplog.at_level(logging.WARNING, logger="paiements.services"):
        response = post_webhook(client, body, standin.sign(body))

    assert response.status_code == 400
    assert not WebhookEvent.objects.exists() and not Payment.objects.exists()


def test_a_different_amount_is_recorded_logged_and_listed_for_staff(
    client, staff_client, standin, family, caplog
):
    invoice = InvoiceFactory(family=family, total=D("50.00"))
    checkout = checkout_for(family, invoice)
    # What the session asked differs from what Stripe took.
    CheckoutSession.objects.filter(pk=checkout.pk).update(amount=D("40.00"))
    standin.pay(checkout.remote_id)

    with caplog.at_level(logging.WARNING, logger="paiements.services"):
        deliver(client, standin)

    payment = Payment.objects.get()
    assert payment.amount == D("50.00") and "diffère" in payment.anomaly
    assert any(r.levelno == logging.WARNING for r in caplog.records)
    listed = staff_client.get(
        reverse("admin:paiements_payment_changelist"), {"anomalie": "a-verifier"}
    )
    assert payment.number in text(listed)
    staff_client.post(
        reverse("admin:paiements_payment_changelist"),
        {
            "action": "anomaly_checked",
            "_selected_action": [payment.pk],
            "select_across": "0",
            "index": "0",
        },
    )
    payment.refresh_from_db()
    assert payment.anomaly_checked_at is not None
    after = staff_client.get(
        reverse("admin:paiements_payment_changelist"), {"anomalie": "a-verifier"}
    )
    assert not re.search(rf">{payment.number}<", text(after))


def test_the_account_counts_a_record_dated_ahead_of_this_servers_clock(family):
    """Another server's clock may run a little ahead: "now" is every record."""
    invoice = InvoiceFactory(family=family, total=D("12.00"))
    ahead = invoice.issued_at + datetime.timedelta(minutes=5)
    Invoice.objects.filter(pk=invoice.pk).update(issued_at=ahead)

    account = family_account(family)
    assert (account.owed, account.disputed, account.payable) == (D("12.00"), 0, 12)
    assert family_account(family, at=ahead - datetime.timedelta(minutes=1)).owed == 0


def test_the_payments_list_shows_the_credit_held_to_the_cent(staff_client, family):
    invoices = [
        InvoiceFactory(family=family, period=datetime.date(2026, m, 1), total=total)
        for m, total in ((7, D("16.10")), (8, D("27.30")), (9, D("30.60")))
    ]
    payment_record_desk(
        family=family,
        method=Payment.Method.CASH,
        amount=D("74.00"),
        allocations={invoice.pk: invoice.total for invoice in invoices},
        agent=None,
    )

    page = text(staff_client.get(reverse("admin:paiements_payment_changelist")))

    cell = re.search(r'class="field-left_display[^"]*">([^<]*)<', page).group(1)
    assert cell == "0,00 €"
