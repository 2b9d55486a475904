"""Reports (signalements): the family's form and follow-up, the agents'
answers, and what reports do to money."""

import datetime
import re
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from factures.models import CreditNote, Invoice
from paiements.rules import card_payment_decision, family_block_state
from signalements.models import Report
from signalements.services import (
    report_assign,
    report_reply,
    report_submit,
    report_update,
)
from tests.factories import InvoiceFactory

# Real transactions: e-mails leave when the report is committed.
pytestmark = pytest.mark.django_db(transaction=True)

PDF = b"%PDF-1.4\n%%EOF\n"


@pytest.fixture
def invoices(family):  # noqa: ANN001, ANN201
    return [
        InvoiceFactory(family=family, period=datetime.date(2026, month, 1))
        for month in (9, 10, 11)
    ]


def send(client, **data):  # noqa: ANN001, ANN003, ANN201
    fields = {"kind": "other", "message": "Bonjour", "request_key": "a" * 32}
    fields.update(data)
    return client.post(reverse("signalements:report_new"), fields)


@pytest.mark.now("2026-12-04 09:00 -04:00")
def test_a_wrong_amount_report_sets_the_invoice_aside(client, parent, invoices, staff):
    client.force_login(parent)
    assert family_block_state(family=parent.family).blocked  # three unpaid

    response = send(
        client, kind="wrong_amount", invoice=invoices[2].pk, message="Montant faux"
    )

    report = Report.objects.get()
    assert response.status_code == 302
    assert report.reference.startswith("S2026-")
    assert Invoice.objects.with_balance().get(pk=invoices[2].pk).status == "disputed"
    assert not family_block_state(family=parent.family).blocked  # no longer counted
    decision = card_payment_decision(
        family=parent.family, invoices=[invoices[2]], today=datetime.date(2026, 12, 5)
    )
    assert not decision.allowed  # not payable online
    received = [m for m in mail.outbox if report.reference in m.subject]
    assert received and "josiane@example.org" in received[0].to

    report_update(
        report=report,
        agent=staff,
        status="resolved",
        message="Montant corrigé par avoir.",
    )
    listing = client.get(reverse("signalements:report_list")).text
    assert "Montant corrigé par avoir." in listing  # the last answer, in the list

    assert Invoice.objects.with_balance().get(pk=invoices[2].pk).status == "to_pay"
    page = client.get(reverse("signalements:report_detail", args=[report.pk])).text
    assert "Montant corrigé par avoir." in page
    assert "Résolu" in page
    assert any("résolu" in m.subject for m in mail.outbox)


def test_the_same_report_sent_twice_is_one_report(client, parent, invoices):
    client.force_login(parent)

    send(client, kind="wrong_amount", invoice=invoices[0].pk, message="Montant faux")
    send(
        client,
        kind="wrong_amount",
        invoice=invoices[0].pk,
        message="Montant faux",
        request_key="b" * 32,
    )

    assert Report.objects.count() == 1


def test_a_paid_but_unpaid_report_runs_the_reconciliation_at_once(
    client, parent, standin
):
    from paiements.models import Payment
    from paiements.services import card_checkout_start, new_idempotency_key

    unpaid = [
        InvoiceFactory(family=parent.family, period=datetime.date(2026, m, 1))
        for m in (9, 10)
    ]
    checkout = card_checkout_start(
        family=parent.family,
        invoices=unpaid,
        idempotency_key=new_idempotency_key(),
        user=None,
        return_url="http://testserver/r/",
        cancel_url="http://testserver/c/",
        today=datetime.date(2026, 12, 5),
    )
    standin.pay(checkout.remote_id)
    standin.take_deliveries()  # the webhook is lost
    client.force_login(parent)

    response = send(
        client, kind="paid_unpaid", invoice=unpaid[0].pk, message="J'ai payé par carte"
    )
    page = client.get(response.url).text.replace("&#x27;", "'")

    assert Payment.objects.get().amount == Decimal("60.00")
    assert "nous avons retrouvé votre paiement" in page.lower()


def test_a_paid_but_unpaid_report_with_nothing_pending_says_so(
    client, parent, invoices
):
    client.force_login(parent)

    response = send(
        client, kind="paid_unpaid", invoice=invoices[0].pk, message="Déjà payé"
    )

    page = client.get(response.url).text.replace("&#x27;", "'")
    assert "aucun paiement par carte en attente" in page


def test_resolving_a_refund_report_issues_the_credit_note(
    client, parent, invoices, staff
):
    client.force_login(parent)
    kenzo = parent.family.children.get(first_name="Kenzo")
    send(
        client,
        kind="refund",
        invoice=invoices[0].pk,
        child=kenzo.pk,
        date_from="2026-09-14",
        date_to="2026-09-15",
        message="Malade deux jours",
        attachments=[SimpleUploadedFile("certificat.pdf", PDF)],
    )
    report = Report.objects.get()
    assert report.attachments.get().content_type == "application/pdf"
    client.logout()
    from tests.conftest import STAFF_PASSWORD
    from tests.helpers import give_totp, staff_login_with_totp

    staff_login_with_totp(client, staff, STAFF_PASSWORD, give_totp(staff))

    answer = client.post(
        reverse("admin:signalements_report_answer", args=[report.pk]),
        {
            "status": "resolved",
            "message": "Deux repas remboursés.",
            "lines-TOTAL_FORMS": "3",
            "lines-INITIAL_FORMS": "0",
            "lines-0-label": "Repas non pris",
            "lines-0-quantity": "2",
            "lines-0-unit_price": "1,80",
            "lines-1-quantity": "1",
            "lines-2-quantity": "1",
        },
    )

    assert answer.status_code == 302
    note = CreditNote.objects.get(invoice=invoices[0])
    assert note.total == Decimal("3.60") and report.reference in note.reason
    assert Report.objects.get().status == "resolved"


def test_a_several_accounts_report_lists_the_family_as_a_suspected_duplicate(
    parent, staff_client
):
    from django.test import Client

    family_client = Client()  # staff_client is the default client
    family_client.force_login(parent)
    send(
        family_client,
        kind="several_accounts",
        message="Nous avons aussi le compte PB-000999",
    )

    listing = staff_client.get(
        reverse("admin:familles_family_changelist"), {"doublon": "signale"}
    )

    assert list(listing.context["cl"].result_list) == [parent.family]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"message": ""}, "Ce champ est obligatoire."),
        ({"kind": "wrong_amount"}, "Choisissez la facture concernée."),
        ({"kind": "refund"}, "Choisissez l'enfant concerné."),
        (
            {"attachments": [SimpleUploadedFile("photo.pdf", b"MZ" + b"\0" * 40)]},
            "n'est pas un document PDF, JPEG ou PNG",
        ),
    ],
)
def test_bad_reports_are_explained_and_nothing_is_recorded(
    client, parent, data, message
):
    client.force_login(parent)

    response = send(client, **data)

    assert response.status_code == 200
    assert message in response.text.replace("&#x27;", "'")
    assert Report.objects.count() == 0


def test_a_report_about_another_familys_invoice_is_refused(
    client, parent, other_family
):
    stranger = InvoiceFactory(family=other_family)
    client.force_login(parent)

    response = send(client, kind="wrong_amount", invoice=stranger.pk, message="x")

    assert response.status_code == 200  # not among the choices offered
    assert Report.objects.count() == 0
    assert Invoice.objects.with_balance().get(pk=stranger.pk).status == "to_pay"


def test_another_familys_report_and_attachment_are_not_found(
    client, parent, other_parent, invoices
):
    client.force_login(parent)
    send(client, message="Bonjour", attachments=[SimpleUploadedFile("a.pdf", PDF)])
    report = Report.objects.get()
    client.force_login(other_parent)

    assert (
        client.get(reverse("signalements:report_detail", args=[report.pk])).status_code
        == 404
    )
    attachment = report.attachments.get()
    assert (
        client.get(
            reverse("signalements:report_attachment", args=[attachment.pk])
        ).status_code
        == 404
    )
    assert report.reference not in client.get(reverse("signalements:report_list")).text


def test_closing_a_report_needs_an_answer(parent, invoices, staff):
    from django.core.exceptions import ValidationError

    from signalements.services import report_submit

    report = report_submit(
        family=parent.family,
        user=parent,
        kind="other",
        message="Question",
        request_key="k" * 32,
    ).report

    with pytest.raises(ValidationError):
        report_update(report=report, agent=staff, status="rejected", message="")
    report_update(report=report, agent=staff, status="in_progress")
    assert Report.objects.get().status == "in_progress"


def test_another_familys_form_key_gives_its_report_nothing_back(
    client, parent, other_parent
):
    from signalements.services import report_submit

    theirs = report_submit(
        family=other_parent.family,
        user=other_parent,
        kind="other",
        message="Leur message",
        request_key="c" * 32,
    ).report
    client.force_login(parent)

    response = send(client, message="Mon message", request_key="c" * 32)

    mine = Report.objects.exclude(pk=theirs.pk).get()
    assert mine.family == parent.family and mine.message == "Mon message"
    assert response.url == reverse("signalements:report_detail", args=[mine.pk])


@pytest.mark.parametrize("key", ["\x00" * 32, "é" * 32, "a" * 5000, ""])
def test_an_odd_form_key_is_replaced_not_written(client, parent, key):
    client.force_login(parent)

    response = send(client, request_key=key)

    assert response.status_code == 302
    report = Report.objects.get()
    assert len(report.request_key) == 32 and report.request_key != key


# --- A report is a conversation ---------------------------------------------------


def test_the_family_answers_the_agent_and_the_agent_is_told(
    client, parent, staff, mailoutbox, django_capture_on_commit_callbacks
):
    staff.email = "agent@example.org"
    staff.save()
    report = report_submit(
        family=parent.family,
        user=parent,
        kind="other",
        message="Question",
        request_key="c" * 32,
    ).report
    report_assign(report=report, agent=staff)
    report_update(report=report, agent=staff, message="Quel enfant ?")
    mailoutbox.clear()
    client.force_login(parent)

    with django_capture_on_commit_callbacks(execute=True):
        sent = client.post(
            reverse("signalements:report_detail", args=[report.pk]),
            {"message": "Kenzo, le 3 novembre."},
            follow=True,
        )

    thread = [(u.author, u.message) for u in report.updates.order_by("pk")]
    assert thread == [(staff, "Quel enfant ?"), (parent, "Kenzo, le 3 novembre.")]
    assert Report.objects.get(pk=report.pk).status == report.status
    assert "Votre réponse est envoyée" in sent.text
    text = " ".join(re.sub(r"<[^>]+>", " ", sent.text).split())
    assert "Vous – " in text and "Kenzo, le 3 novembre." in text
    (mail,) = mailoutbox
    assert mail.to == ["agent@example.org"]
    assert report.reference in mail.subject and "Kenzo, le 3 novembre." in mail.body


def test_an_answer_without_an_agent_goes_to_the_service(
    client, parent, mailoutbox, django_capture_on_commit_callbacks, settings
):
    report = report_submit(
        family=parent.family,
        user=parent,
        kind="other",
        message="Question",
        request_key="d" * 32,
    ).report
    mailoutbox.clear()
    client.force_login(parent)

    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("signalements:report_detail", args=[report.pk]),
            {"message": "Précision"},
        )

    assert [m.to for m in mailoutbox] == [[settings.PORTAIL_COMMUNE["email"]]]


def test_a_closed_report_takes_no_more_answers(client, parent, staff):
    report = report_submit(
        family=parent.family,
        user=parent,
        kind="other",
        message="Question",
        request_key="f" * 32,
    ).report
    report_update(report=report, agent=staff, status="resolved", message="Réglé.")
    client.force_login(parent)

    page = client.post(
        reverse("signalements:report_detail", args=[report.pk]), {"message": "Merci"}
    ).text

    assert report.updates.count() == 1
    assert "Ce signalement est clos" in page
    with pytest.raises(ValidationError):
        report_reply(report=report, user=parent, message="Encore")


def test_an_empty_answer_is_refused_with_a_message(client, parent):
    report = report_submit(
        family=parent.family,
        user=parent,
        kind="other",
        message="Question",
        request_key="g" * 32,
    ).report
    client.force_login(parent)

    page = client.post(
        reverse("signalements:report_detail", args=[report.pk]), {"message": "  "}
    ).text

    assert report.updates.count() == 0
    assert "Ce champ est obligatoire" in page


def test_another_family_cannot_answer(client, other_parent, parent):
    report = report_submit(
        family=parent.family,
        user=parent,
        kind="other",
        message="Question",
        request_key="h" * 32,
    ).report
    client.force_login(other_parent)

    response = client.post(
        reverse("signalements:report_detail", args=[report.pk]), {"message": "Hop"}
    )

    assert response.status_code == 404
    assert report.updates.count() == 0
