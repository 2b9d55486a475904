"""The parent's account and statement (issue 18): what the family owes and
holds in credit on its invoices page, the statement of a period as a page
and a PDF, and nothing of another family's."""

import datetime
import io
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse
from pypdf import PdfReader

from factures.services import CreditLine, credit_note_issue
from paiements.models import Payment, Refund
from paiements.services import payment_record_desk
from tests.factories import InvoiceFactory, PaymentFactory
from tests.paiements.conftest import IN_WINDOW

pytestmark = [pytest.mark.django_db, pytest.mark.now(IN_WINDOW)]

D = Decimal


def text(response) -> str:  # noqa: ANN001
    return " ".join(response.content.decode().replace("\u00a0", " ").split())


def pdf_text(content: bytes) -> str:
    pages = PdfReader(io.BytesIO(content)).pages
    return " ".join(
        " ".join(page.extract_text() for page in pages).replace("\u00a0", " ").split()
    )


@pytest.fixture
def history(family):  # noqa: ANN001, ANN201
    """September paid, then 3,60 € credited; October still to pay."""
    september = InvoiceFactory(
        family=family, period=datetime.date(2026, 9, 1), total=D("18.00")
    )
    october = InvoiceFactory(
        family=family, period=datetime.date(2026, 10, 1), total=D("27.90")
    )
    payment_record_desk(
        family=family,
        method=Payment.Method.CASH,
        amount=D("18.00"),
        allocations={september.pk: D("18.00")},
        agent=None,
    )
    credit_note_issue(
        invoice=september,
        lines=[CreditLine("Repas du 3 septembre", 1, D("3.60"))],
        reason="Repas non pris",
        agent=None,
    )
    return september, october


def test_the_invoices_page_shows_what_is_owed_after_the_credit(client, parent, history):
    client.force_login(parent)

    page = text(client.get(reverse("factures:list")))

    # 27,90 € owed, 3,60 € credit: 24,30 € left to pay.
    assert "Mon compte" in page
    assert "24,30 €" in page and "3,60 €" in page
    assert reverse("paiements:statement") in page


def test_the_statement_lists_every_record_with_the_running_balance(
    client, parent, history
):
    september, october = history
    client.force_login(parent)

    page = text(
        client.get(
            reverse("paiements:statement"), {"du": "2026-01-01", "au": "2026-12-31"}
        )
    )

    assert september.number in page and october.number in page
    # -18,00 (invoice) -27,90 (invoice) +18,00 (payment) +3,60 (credit note)
    assert "-24,30 €" in page
    assert "Solde d’ouverture" in page or "Solde d'ouverture" in page
    assert page.index(september.number) < page.index(october.number)


def test_the_statement_pdf_says_the_same(client, parent, history):
    client.force_login(parent)

    response = client.get(
        reverse("paiements:statement_pdf"), {"du": "2026-01-01", "au": "2026-12-31"}
    )

    assert response["Content-Type"] == "application/pdf"
    pdf = pdf_text(response.content)
    assert history[0].number in pdf and "-24,30 €" in pdf
    assert parent.family.identifier in pdf


def test_an_earlier_period_starts_from_its_opening_balance(client, parent, history):
    client.force_login(parent)

    page = text(
        client.get(
            reverse("paiements:statement"), {"du": "2026-12-06", "au": "2026-12-31"}
        )
    )

    # Everything happened on the 5th: the opening balance is the
    # closing one, and no record is listed.
    assert page.count("-24,30 €") >= 2
    assert history[0].number not in page


@pytest.mark.parametrize(
    "dates",
    [{"du": "n'importe", "au": "2026-12-31"}, {"du": "2026-12-31", "au": "2026-01-01"}],
)
def test_dates_that_make_no_sense_give_the_last_twelve_months(
    client, parent, history, dates
):
    client.force_login(parent)

    response = client.get(reverse("paiements:statement"), dates)

    assert response.status_code == 200
    assert history[1].number in text(response)


def test_a_parent_sees_only_their_own_family(client, other_parent, history):
    client.force_login(other_parent)

    page = text(client.get(reverse("paiements:statement")))
    pdf = pdf_text(client.get(reverse("paiements:statement_pdf")).content)

    for number in (history[0].number, history[1].number):
        assert number not in page and number not in pdf


def test_the_statement_needs_a_login(client):
    response = client.get(reverse("paiements:statement"))

    assert response.status_code == 302


def test_the_opening_balance_by_sums_is_the_running_balance_before(family):
    """The opening balance is read by sums over what came before the
    period (not by reading every record since the family's first day): it
    equals the balance the full statement reaches on the eve, reversals,
    refunds and credit notes included."""
    import time_machine

    from paiements.accounts import family_statement
    from paiements.credit import refund_record
    from paiements.models import Refund
    from paiements.services import payment_reverse

    with time_machine.travel("2026-10-02 10:00 -04:00", tick=False):
        invoice = InvoiceFactory(
            family=family, period=datetime.date(2026, 9, 1), total=D("30.00")
        )
        payment = payment_record_desk(
            family=family,
            method=Payment.Method.CASH,
            amount=D("50.00"),
            allocations={invoice.pk: D("30.00")},
            agent=None,
            keep_as_credit="Avance",
        )
    with time_machine.travel("2026-10-05 10:00 -04:00", tick=False):
        advance = payment_record_desk(
            family=family,
            method=Payment.Method.CASH,
            amount=D("15.00"),
            allocations={},
            agent=None,
            keep_as_credit="Avance",
        )
        refund_record(
            payment=advance,
            amount=D("12.00"),
            method=Refund.Method.CASH,
            reason="Départ de la commune",
            agent=None,
        )
    with time_machine.travel("2026-10-20 10:00 -04:00", tick=False):
        payment_reverse(payment=payment, reason="Billet refusé", agent=None)
        credit_note_issue(
            invoice=invoice,
            lines=[CreditLine("Repas du 3 septembre", 1, D("3.60"))],
            reason="Repas non pris",
            agent=None,
        )
    with time_machine.travel("2026-11-03 10:00 -04:00", tick=False):
        InvoiceFactory(
            family=family, period=datetime.date(2026, 10, 1), total=D("9.00")
        )

    full = family_statement(
        family, start=datetime.date(2026, 1, 1), end=datetime.date(2026, 12, 31)
    )
    for day in (
        datetime.date(2026, 10, 5),
        datetime.date(2026, 10, 10),
        datetime.date(2026, 11, 1),
    ):
        part = family_statement(family, start=day, end=datetime.date(2026, 12, 31))
        before = [e for e in full.entries if e.when.date() < day]
        assert part.opening == before[-1].balance
        assert part.closing == full.closing
    # 30 + 9 owed, 3.60 credited; 3 of the advance kept after its refund.
    assert full.closing == D("-32.40")


def test_every_kind_of_record_has_its_line(family):
    """Each record the statement reads gives one line with its label, number
    and amount: invoices, credit notes (a cancellation says so), payments
    (their method), a reversal (the payment it cancels, its own
    allocations not listed apart), allocations given and taken back, and
    refunds (their method)."""
    import time_machine

    from factures.services import invoice_cancel
    from paiements.accounts import family_statement
    from paiements.credit import refund_record
    from paiements.models import Refund
    from paiements.services import payment_reverse

    with time_machine.travel("2026-10-02 10:00 -04:00", tick=False):
        september = InvoiceFactory(
            family=family, period=datetime.date(2026, 9, 1), total=D("30.00")
        )
        october = InvoiceFactory(
            family=family, period=datetime.date(2026, 10, 1), total=D("12.00")
        )
        cash = payment_record_desk(
            family=family,
            method=Payment.Method.CASH,
            amount=D("50.00"),
            allocations={september.pk: D("30.00"), october.pk: D("12.00")},
            agent=None,
            keep_as_credit="Avance",
        )
    with time_machine.travel("2026-10-05 10:00 -04:00", tick=False):
        cheque = payment_record_desk(
            family=family,
            method=Payment.Method.CHEQUE,
            amount=D("15.00"),
            allocations={},
            agent=None,
            keep_as_credit="Avance",
        )
        refund = refund_record(
            payment=cheque,
            amount=D("12.00"),
            method=Refund.Method.CASH,
            reason="Départ de la commune",
            agent=None,
        )
    with time_machine.travel("2026-10-20 10:00 -04:00", tick=False):
        note = credit_note_issue(
            invoice=september,
            lines=[CreditLine("Repas du 3 septembre", 1, D("3.60"))],
            reason="Repas non pris",
            agent=None,
        )
        cancellation = invoice_cancel(invoice=october, reason="Erreur", agent=None)
    with time_machine.travel("2026-10-25 10:00 -04:00", tick=False):
        reversal = payment_reverse(payment=cash, reason="Billet refusé", agent=None)

    statement = family_statement(
        family, start=datetime.date(2026, 1, 1), end=datetime.date(2026, 12, 31)
    )

    lines = [
        (entry.kind, entry.label, entry.number, entry.debit, entry.credit)
        for entry in statement.entries
    ]
    money = [line for line in lines if line[0] != "allocation"]
    assert money == [
        ("invoice", "Facture – 09/2026", september.number, D("30.00"), D("0")),
        ("invoice", "Facture – 10/2026", october.number, D("12.00"), D("0")),
        ("payment", "Paiement (espèces)", cash.number, D("0"), D("50.00")),
        ("payment", "Paiement (chèque)", cheque.number, D("0"), D("15.00")),
        ("refund", "Remboursement (espèces)", refund.number, D("12.00"), D("0")),
        (
            "credit_note",
            f"Avoir sur la facture {september.number}",
            note.number,
            D("0"),
            D("3.60"),
        ),
        (
            "credit_note",
            f"Annulation de la facture {october.number}",
            cancellation.number,
            D("0"),
            D("12.00"),
        ),
        (
            "payment",
            f"Annulation du paiement {cash.number}",
            reversal.number,
            D("50.00"),
            D("0"),
        ),
    ]
    given = [label for kind, label, *_rest in lines if kind == "allocation"]
    # The cash payment given to both invoices, then taken back: 3,60 € of
    # September by its credit note, October's 12,00 € by its cancellation.
    # The reversal's own allocations are part of its line.
    assert [label.split(" du ")[0] for label in given] == [
        "30,00\u00a0€",
        "12,00\u00a0€",
        "3,60\u00a0€",
        "12,00\u00a0€",
    ]
    assert [september.number in label for label in given] == [1, 0, 1, 0]
    assert ["affectés" in label for label in given] == [1, 1, 0, 0]
    assert ["retirés" in label for label in given] == [0, 0, 1, 1]
    assert all(cash.number in label for label in given)
    # -42 invoiced, +65 paid, -12 refunded, +15,60 credited, -50 reversed.
    assert statement.closing == D("-23.40")


def test_the_database_refuses_a_method_the_pages_cannot_name(family):
    """The statement and the payment list name a payment's or a refund's
    method from its choices: a method outside them never reaches a page."""
    payment = PaymentFactory(family=family, amount=D("10.00"), number="R2026-999001")
    with pytest.raises(IntegrityError), transaction.atomic():
        PaymentFactory(family=family, method="bitcoin", number="R2026-999002")
    refund = {
        "family": family,
        "payment": payment,
        "amount": D("2.00"),
        "reason": "Trop-perçu",
    }
    Refund.objects.create(
        number="RB2026-000001", method="cash", idempotency_key="a", **refund
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Refund.objects.create(
            number="RB2026-000002", method="voucher", idempotency_key="b", **refund
        )
    Payment.objects.filter(pk=payment.pk).left_flags_sync()
    assert list(Payment.objects.values_list("number", flat=True)) == ["R2026-999001"]
    assert list(Refund.objects.values_list("number", flat=True)) == ["RB2026-000001"]
