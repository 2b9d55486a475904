import datetime
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from factures.models import Invoice
from paiements.models import Allocation, BlockNotice, Payment, PaymentOverride
from paiements.notices import block_state_notify
from paiements.rules import family_block_state
from paiements.services import (
    payment_override_clear,
    payment_override_set,
    payment_record_desk,
    payment_reverse,
)
from tests import clock
from tests.factories import FamilyFactory, InvoiceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def three_unpaid(paying_family):  # noqa: ANN001, ANN201
    return [
        InvoiceFactory(family=paying_family, period=datetime.date(2026, month, 1))
        for month in (5, 6, 9)
    ]


def record(  # noqa: ANN201
    family,  # noqa: ANN001
    allocations,  # noqa: ANN001
    amount=None,  # noqa: ANN001
    method=Payment.Method.CASH,  # noqa: ANN001
    agent=None,  # noqa: ANN001
    keep_as_credit="",  # noqa: ANN001
):
    allocations = {invoice.pk: Decimal(value) for invoice, value in allocations}
    return payment_record_desk(
        family=family,
        method=method,
        amount=Decimal(amount) if amount else sum(allocations.values()),
        allocations=allocations,
        agent=agent,
        keep_as_credit=keep_as_credit,
    )


def state(invoice) -> Invoice:  # noqa: ANN001
    return Invoice.objects.with_balance().get(pk=invoice.pk)


def test_a_partial_desk_payment_leaves_the_invoice_partly_paid(
    paying_family, three_unpaid, staff
):
    with time_machine.travel("2026-12-15 10:00 -04:00"):
        payment = record(paying_family, [(three_unpaid[0], "10.00")], agent=staff)

    invoice = state(three_unpaid[0])
    assert invoice.status == Invoice.Status.PARTLY_PAID
    assert invoice.due == Decimal("20.00")
    assert payment.number.startswith("R2026-")
    assert payment.recorded_by == staff


@pytest.mark.parametrize(
    ("moment", "year"),
    [
        ("2026-12-31 23:30 -04:00", 2026),  # already 2027 in UTC
        ("2027-01-01 00:00 -04:00", 2027),
        ("2028-02-29 12:00 -04:00", 2028),
    ],
)
def test_a_receipt_is_numbered_in_the_local_year(
    paying_family, three_unpaid, moment, year
):
    with time_machine.travel(moment, tick=False):
        payment = record(paying_family, [(three_unpaid[0], "5.00")])

    assert payment.number == f"R{year}-000001"
    assert timezone.localdate(payment.received_at) == clock.parse(moment).date()


def test_one_payment_can_settle_several_invoices_and_keep_a_credit(
    paying_family, three_unpaid
):
    payment = record(
        paying_family,
        [(three_unpaid[0], "30.00"), (three_unpaid[1], "30.00")],
        amount="65.00",
        keep_as_credit="Avance sur le mois prochain",
    )

    assert state(three_unpaid[0]).status == Invoice.Status.PAID
    assert state(three_unpaid[1]).status == Invoice.Status.PAID
    assert payment.unallocated == Decimal("5.00")


@pytest.mark.parametrize(
    ("allocations", "amount", "message"),
    [
        ([(0, "31.00")], "31.00", "dépasse les 30,00"),
        ([(0, "20.00")], "10.00", "dépassent le montant reçu"),
        ([(0, "-5.00")], "10.00", "négative"),
        ([], "0", "positif"),
    ],
)
def test_bad_desk_payments_are_refused_and_change_nothing(
    paying_family, three_unpaid, allocations, amount, message
):
    with pytest.raises(ValidationError) as error:
        record(
            paying_family, [(three_unpaid[i], v) for i, v in allocations], amount=amount
        )

    assert message in " ".join(error.value.messages)
    assert Payment.objects.count() == 0


def test_an_invoice_of_another_family_cannot_be_allocated(paying_family, three_unpaid):
    stranger = InvoiceFactory(family=FamilyFactory())

    with pytest.raises(ValidationError):
        record(paying_family, [(stranger, "10.00")])

    assert Allocation.objects.count() == 0


def test_paying_at_the_desk_lifts_the_block_and_the_family_is_told(
    paying_family, three_unpaid, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        assert block_state_notify(family=paying_family) is True
    assert family_block_state(family=paying_family).blocked
    assert "suspendu" in mail.outbox[-1].subject
    assert "3 factures impayées" in mail.outbox[-1].body
    assert "du 7 au 25" in mail.outbox[-1].body

    with django_capture_on_commit_callbacks(execute=True):
        record(paying_family, [(three_unpaid[0], "30.00")])

    assert not family_block_state(family=paying_family).blocked
    assert BlockNotice.objects.get(family=paying_family).blocked is False
    subjects = [message.subject for message in mail.outbox]
    assert any("de nouveau ouvert" in subject for subject in subjects)
    assert any(
        subject.startswith("[") is False and "Paiement reçu" in subject
        for subject in subjects
    )


def test_block_notices_are_sent_once_per_change(
    paying_family, three_unpaid, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        block_state_notify(family=paying_family)
        block_state_notify(family=paying_family)

    assert len([m for m in mail.outbox if "suspendu" in m.subject]) == 1


def test_a_notice_queued_under_the_tasks_old_name_is_still_sent(
    paying_family, three_unpaid
):
    from paiements.tasks import send_block_notice

    mail.outbox.clear()

    sent = send_block_notice.call(family_id=paying_family.pk, blocked=True)

    assert sent == 1
    assert len([m for m in mail.outbox if "suspendu" in m.subject]) == 1


def test_a_reversal_restores_what_is_due_and_cannot_be_repeated(
    paying_family, three_unpaid, staff
):
    payment = record(paying_family, [(three_unpaid[0], "30.00")])

    reversal = payment_reverse(payment=payment, reason="Erreur de famille", agent=staff)

    assert reversal.amount == Decimal("-30.00")
    assert state(three_unpaid[0]).due == Decimal("30.00")
    assert Payment.objects.get(pk=payment.pk).amount == Decimal("30.00")  # never edited
    with pytest.raises(ValidationError):
        payment_reverse(payment=payment, reason="Encore", agent=staff)
    with pytest.raises(ValidationError):
        payment_reverse(payment=reversal, reason="Annuler l'annulation", agent=staff)


def test_the_manual_block_is_set_and_cleared_with_a_reason(paying_family, staff):
    InvoiceFactory(family=paying_family)
    with pytest.raises(ValidationError):
        payment_override_set(
            family=paying_family, state="blocked", reason=" ", agent=staff
        )

    payment_override_set(
        family=paying_family, state="blocked", reason="Chèque rejeté", agent=staff
    )
    assert family_block_state(family=paying_family).blocked
    payment_override_set(
        family=paying_family, state="allowed", reason="Régularisé", agent=staff
    )
    assert (
        PaymentOverride.objects.filter(family=paying_family, cleared_at=None).count()
        == 1
    )
    payment_override_clear(family=paying_family, agent=staff)

    assert not family_block_state(family=paying_family).blocked
    assert (
        PaymentOverride.objects.filter(family=paying_family, cleared_at=None).count()
        == 0
    )


def test_agent_records_a_cash_payment_in_the_admin(
    staff_client, paying_family, three_unpaid
):
    url = reverse("admin:paiements_payment_desk")

    found = staff_client.get(url, {"q": paying_family.identifier.lower()})
    response = staff_client.post(
        f"{url}?q={paying_family.identifier}",
        {
            "method": "cash",
            "amount": "45,00",
            "reference": "",
            f"invoice_{three_unpaid[0].pk}": "30,00",
            f"invoice_{three_unpaid[1].pk}": "15,00",
        },
    )

    assert found.status_code == 200 and found.context["family"] == paying_family
    assert response.status_code == 302
    payment = Payment.objects.get()
    assert payment.amount == Decimal("45.00")
    assert state(three_unpaid[1]).status == Invoice.Status.PARTLY_PAID
    receipt = staff_client.get(
        reverse("admin:paiements_payment_receipt", args=[payment.pk])
    )
    assert receipt["Content-Type"] == "application/pdf"


def test_unknown_identifier_in_the_desk_page_says_so(staff_client, db):
    response = staff_client.get(
        reverse("admin:paiements_payment_desk"), {"q": "PB-999999"}
    )

    assert "Aucune famille ne correspond à «\u00a0PB-999999\u00a0»." in response.text


def test_payments_cannot_be_edited_or_deleted_in_the_admin(
    staff_client, paying_family, three_unpaid
):
    payment = record(paying_family, [(three_unpaid[0], "30.00")])

    delete = staff_client.post(
        reverse("admin:paiements_payment_delete", args=[payment.pk]), {"post": "yes"}
    )
    edit = staff_client.post(
        reverse("admin:paiements_payment_change", args=[payment.pk]), {"amount": "1"}
    )

    assert delete.status_code == 403 and edit.status_code == 403
    assert Payment.objects.get(pk=payment.pk).amount == Decimal("30.00")
