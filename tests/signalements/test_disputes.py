"""A report about an invoice's amount, tariff bracket or attendance sets the
invoice it names aside until the report is closed: not payable online, not
counted towards the block (payment rule 5). Other reports leave it payable.
Seen as the family and the agents see it: the report form, the invoices and
payment pages, the agents' answer in the admin."""

import datetime
import re
import uuid
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import resolve, reverse

from factures.models import InvoiceDispute
from paiements.models import CheckoutSession
from signalements.models import Report
from tests.factories import CreditNoteFactory, InvoiceFactory, PaymentFactory

pytestmark = [pytest.mark.django_db, pytest.mark.now("2026-12-04 09:00 -04:00")]

FREEZING = ["wrong_amount", "wrong_bracket", "wrong_attendance"]
NOT_FREEZING = ["refund", "paid_unpaid", "missing_invoice", "several_accounts", "other"]
SET_ASIDE = "mise de côté\u00a0: à ne pas payer avant notre réponse"


@pytest.fixture
def invoices(family):  # noqa: ANN001, ANN201
    """September, October and November: three unpaid, the family is blocked."""
    return [
        InvoiceFactory(family=family, period=datetime.date(2026, month, 1))
        for month in (9, 10, 11)
    ]


@pytest.fixture
def family_client(parent):  # noqa: ANN001, ANN201
    """The parent's own browser (the default client is the agent's)."""
    client = Client()
    client.force_login(parent)
    return client


def report(client, kind, invoice, message="La facture est fausse", **data):  # noqa: ANN001, ANN003, ANN201
    """The parent sends the report form, naming `invoice`."""
    fields = {
        "kind": kind,
        "invoice": invoice.pk,
        "message": message,
        "request_key": uuid.uuid4().hex,
        **data,
    }
    if kind == "refund":
        kenzo = invoice.family.children.get(first_name="Kenzo")
        fields.update(child=kenzo.pk, date_from="2026-11-09")
    response = client.post(reverse("signalements:report_new"), fields)
    assert response.status_code == 302, response.text
    return Report.objects.get(pk=resolve(response.url).kwargs["pk"])


def agent_answers(staff_client, report, status, message="Vérifié, merci."):  # noqa: ANN001, ANN201
    """The agent answers the report in the admin and sets its status."""
    response = staff_client.post(
        reverse("admin:signalements_report_answer", args=[report.pk]),
        {
            "status": status,
            "message": message,
            "lines-TOTAL_FORMS": "0",
            "lines-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.text
    return response


def status_on_invoices_page(client, invoice) -> str:  # noqa: ANN001
    """The status the family reads for `invoice` in My invoices."""
    page = client.get(reverse("factures:list")).text
    row = re.search(
        rf"<td[^>]*>{invoice.number}</td>.*?"
        r'<span class="status status-\w+">([^<]+)</span>',
        page,
        re.S,
    )
    assert row, f"{invoice.number} is not listed"
    return row.group(1)


def payment_page(client) -> str:  # noqa: ANN001
    return client.get(reverse("paiements:home")).text.replace("&#x27;", "'")


def card_payment(client, invoice):  # noqa: ANN001, ANN201
    """The parent ticks `invoice` and goes on to pay it by card."""
    return client.post(
        reverse("paiements:review"), {"invoices": [invoice.pk]}, follow=True
    )


@pytest.mark.parametrize("kind", FREEZING)
def test_an_invoice_reported_wrong_is_set_aside_until_the_agent_closes_the_report(
    family_client, staff_client, invoices, kind
):
    september, _october, november = invoices
    assert "3 factures impayées" in payment_page(family_client)  # blocked

    sent = report(family_client, kind, november)

    assert status_on_invoices_page(family_client, november) == "Contestée"
    detail = family_client.get(reverse("signalements:report_detail", args=[sent.pk]))
    assert SET_ASIDE in detail.text.replace("&#x27;", "'")
    page = payment_page(family_client)
    assert "3 factures impayées" not in page  # no longer counted: not blocked
    assert f'value="{september.pk}"' in page
    assert f'value="{november.pk}"' not in page  # not offered for payment
    assert "1 facture est contestée" in page
    refused = card_payment(family_client, november)
    assert refused.redirect_chain[-1][0] == reverse("paiements:home")
    assert (
        f"La facture {november.number} ne peut pas être payée en ligne." in refused.text
    )
    assert CheckoutSession.objects.count() == 0

    agent_answers(staff_client, sent, "resolved", "Votre facture est juste.")

    assert status_on_invoices_page(family_client, november) == "À payer"
    assert "3 factures impayées" in payment_page(family_client)  # counted again
    PaymentFactory(family=november.family, allocations={september: "30.00"})
    assert f'value="{november.pk}"' in payment_page(family_client)
    review = card_payment(family_client, november)
    assert review.redirect_chain == []  # the review page, before Stripe
    assert november.number in review.text


def test_a_rejected_report_makes_the_invoice_payable_again_too(
    family_client, staff_client, invoices
):
    november = invoices[2]
    sent = report(family_client, "wrong_bracket", november)

    agent_answers(staff_client, sent, "rejected", "Votre tranche est la bonne.")

    assert status_on_invoices_page(family_client, november) == "À payer"
    assert InvoiceDispute.objects.get().closed_at is not None


@pytest.mark.parametrize("kind", NOT_FREEZING)
def test_other_reports_leave_the_invoice_to_pay_and_counted(
    family_client, invoices, kind
):
    september, _october, november = invoices

    sent = report(family_client, kind, november)

    assert status_on_invoices_page(family_client, november) == "À payer"
    assert "3 factures impayées" in payment_page(family_client)  # still counted
    detail = family_client.get(reverse("signalements:report_detail", args=[sent.pk]))
    assert SET_ASIDE not in detail.text.replace("&#x27;", "'")
    assert not InvoiceDispute.objects.exists()
    PaymentFactory(family=november.family, allocations={september: "30.00"})
    review = card_payment(family_client, november)
    assert review.redirect_chain == [] and november.number in review.text


def test_an_invoice_shown_unpaid_starts_the_reconciliation_not_a_dispute(
    family_client, invoices
):
    response = family_client.post(
        reverse("signalements:report_new"),
        {
            "kind": "paid_unpaid",
            "invoice": invoices[0].pk,
            "message": "J'ai payé par carte",
            "request_key": "p" * 32,
        },
        follow=True,
    )

    page = response.text.replace("&#x27;", "'")
    assert "aucun paiement par carte en attente" in page  # Stripe was asked
    assert status_on_invoices_page(family_client, invoices[0]) == "À payer"


@pytest.mark.parametrize(
    ("state", "make"),
    [
        (
            "Payée",
            lambda invoice: PaymentFactory(
                family=invoice.family, allocations={invoice: "30.00"}
            ),
        ),
        (
            "Annulée",
            lambda invoice: CreditNoteFactory(
                invoice=invoice, total=Decimal("30.00"), is_cancellation=True
            ),
        ),
    ],
)
def test_an_invoice_with_nothing_left_to_pay_is_not_set_aside(
    family_client, staff_client, invoices, state, make
):
    """Nothing is held back on it: no dispute, and the family is not told
    that the invoice is set aside."""
    september = invoices[0]
    make(september)

    sent = report(family_client, "wrong_attendance", september)

    assert not InvoiceDispute.objects.exists()
    assert status_on_invoices_page(family_client, september) == state
    detail = family_client.get(reverse("signalements:report_detail", args=[sent.pk]))
    assert SET_ASIDE not in detail.text.replace("&#x27;", "'")
    agent_answers(staff_client, sent, "resolved")
    assert status_on_invoices_page(family_client, september) == state


def test_a_partly_paid_invoice_is_set_aside(family_client, invoices):
    september = invoices[0]
    PaymentFactory(family=september.family, allocations={september: "10.00"})

    report(family_client, "wrong_amount", september)

    assert status_on_invoices_page(family_client, september) == "Contestée"


def test_two_reports_on_one_invoice_keep_it_aside_until_both_are_closed(
    family_client, staff_client, invoices
):
    november = invoices[2]
    bracket = report(family_client, "wrong_bracket", november, "Tranche")
    count = report(family_client, "wrong_attendance", november, "Deux repas de trop")

    agent_answers(staff_client, bracket, "resolved", "Tranche corrigée.")

    assert status_on_invoices_page(family_client, november) == "Contestée"
    detail = family_client.get(reverse("signalements:report_detail", args=[count.pk]))
    assert SET_ASIDE in detail.text.replace("&#x27;", "'")

    agent_answers(staff_client, count, "resolved", "Repas retirés.")

    assert status_on_invoices_page(family_client, november) == "À payer"
    assert InvoiceDispute.objects.filter(closed_at__isnull=True).count() == 0
    assert InvoiceDispute.objects.count() == 2  # one for each report, in turn


def test_a_report_opened_again_sets_the_invoice_aside_again(
    family_client, staff_client, invoices
):
    november = invoices[2]
    sent = report(family_client, "wrong_attendance", november)
    agent_answers(staff_client, sent, "resolved", "Corrigé.")

    agent_answers(staff_client, sent, "in_progress", "Nous vérifions à nouveau.")

    assert status_on_invoices_page(family_client, november) == "Contestée"


def freezing_note(page: str, note_id: str) -> str:
    note = re.search(
        rf'<div class="freezing-note" id="{note_id}">(.*?)</div>', page, re.S
    )
    assert note, f"no note {note_id}"
    return note.group(1).replace("&#x27;", "'")


def test_the_form_and_the_help_page_name_the_reports_that_set_an_invoice_aside(
    family_client,
):
    form = freezing_note(
        family_client.get(reverse("signalements:report_new")).text,
        "signalement-facture-de-cote",
    )
    help_page = freezing_note(
        family_client.get(reverse("help")).text, "facture-de-cote"
    )

    for note in (form, help_page):
        listed = re.findall(r"<li>([^<]+)</li>", note)
        assert listed == [
            "Le montant d'une facture est erroné",
            "Ma tranche tarifaire est erronée",
            "Le nombre de repas ou de séances est erroné",
        ]
        assert "ne peut pas être payée en ligne" in note
        assert "ne compte pas parmi vos factures impayées" in note
        assert "jusqu'à la clôture du signalement" in note
        assert "pour un remboursement" in note
