"""A family's home page says what it owes and by when, offers to pay when it
can, and otherwise why not and the way out, in numbers."""

import datetime
import re
from decimal import Decimal
from html import unescape

import pytest
import time_machine
from django.urls import reverse

from familles.models import AddressChangeRequest
from paiements.models import Payment
from paiements.rules import DayRange, window
from paiements.services import payment_record_desk
from paiements.summary import family_money_summary
from signalements.services import report_submit
from tests.factories import InvoiceFactory

pytestmark = pytest.mark.django_db

IN_WINDOW = "2026-12-05 10:00 -04:00"  # online 1-10, desk 7-25
DESK_ONLY = "2026-12-15 10:00 -04:00"
ALL_CLOSED = "2026-12-28 10:00 -04:00"


def home(client, parent, when):  # noqa: ANN001, ANN201
    with time_machine.travel(when, tick=False):
        client.force_login(parent)
        page = client.get(reverse("home"))
    assert page.status_code == 200
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", page.text)).split())


def invoice(family, month, total="30.00"):  # noqa: ANN001, ANN201
    return InvoiceFactory(
        family=family, period=datetime.date(2026, month, 1), total=Decimal(total)
    )


@pytest.mark.parametrize(
    ("today", "days", "first", "last"),
    [
        ("2026-12-05", "1-10", "2026-12-01", "2026-12-10"),
        ("2026-12-15", "1-10", "2027-01-01", "2027-01-10"),
        ("2026-12-05", "7-25", "2026-12-07", "2026-12-25"),
        ("2026-12-26", "7-25", "2027-01-07", "2027-01-25"),
        ("2027-02-10", "20-31", "2027-02-20", "2027-02-28"),  # a short month
    ],
)
def test_the_window_open_today_or_the_next_one(today, days, first, last):
    found = window(datetime.date.fromisoformat(today), DayRange.parse(days, "test"))

    assert (found.first.isoformat(), found.last.isoformat()) == (first, last)


def test_an_owing_family_is_told_how_much_by_when_and_can_pay(client, parent):
    invoice(parent.family, 10, "30.00")
    invoice(parent.family, 11, "12.60")

    text = home(client, parent, IN_WINDOW)

    assert "Ce que vous devez 42,60 € pour 2 factures" in text
    assert "À payer en ligne avant le 10 décembre inclus" in text
    assert "Payer en ligne" in text


def test_the_pay_button_is_there_only_when_paying_online_is_possible(client, parent):
    invoice(parent.family, 11)

    with time_machine.travel(DESK_ONLY, tick=False):
        client.force_login(parent)
        page = client.get(reverse("home")).text
    text = home(client, parent, DESK_ONLY)

    assert 'class="button" href="/paiements/"' not in page
    assert "il sera ouvert du 1er janvier au 10 janvier" in text
    assert "est ouvert jusqu’au 25 décembre" in text


def test_a_paid_up_family_is_told_so(client, parent):
    paid = invoice(parent.family, 11, "18.00")
    payment_record_desk(
        family=parent.family,
        method=Payment.Method.CASH,
        amount=Decimal("18.00"),
        allocations={paid.pk: Decimal("18.00")},
        agent=None,
    )

    text = home(client, parent, IN_WINDOW)

    assert "Vous n'avez aucune facture à payer" in text
    assert "Dernier paiement : 18,00 €" in text
    assert "Reçu (PDF)" in text


def test_a_blocked_family_is_told_the_way_out_in_numbers(client, parent):
    oldest = invoice(parent.family, 8, "20.00")
    invoice(parent.family, 9, "25.00")
    invoice(parent.family, 10, "30.00")
    invoice(parent.family, 11, "35.00")

    summary = family_money_summary(parent.family, today=datetime.date(2026, 12, 28))
    text = home(client, parent, ALL_CLOSED)

    assert summary.way_out.count == 2  # 4 unpaid, 2 allowed
    assert summary.way_out.amount == Decimal("45.00")  # the two oldest
    assert summary.way_out.invoices[0] == oldest
    assert "Réglez 2 factures au guichet (45,00 € en tout)" in text
    assert (
        "est fermé jusqu’au 7 janvier ; il est ouvert du 7 janvier au 25 janvier"
        in (text.replace("\xa0", " "))
    )
    assert "Horaires du guichet : lundi, mardi, jeudi et vendredi, de 8 h à 12 h" in (
        text.replace("\xa0", " ")
    )
    assert "0590 00 00 00" in text and "restauration@example.org" in text


def test_credit_requests_and_reports_in_progress_are_on_the_home(client, parent):
    invoice(parent.family, 11)
    payment_record_desk(
        family=parent.family,
        method=Payment.Method.CASH,
        amount=Decimal("50.00"),
        allocations={},
        agent=None,
        keep_as_credit="Avance",
    )
    AddressChangeRequest.objects.create(
        family=parent.family,
        address_line1="3 rue des Goyaviers",
        postal_code="97170",
        city="Petit-Bourg",
        request_key="a" * 32,
    )
    report = report_submit(
        family=parent.family,
        user=parent,
        kind="other",
        message="Question",
        request_key="r" * 32,
    ).report

    text = home(client, parent, IN_WINDOW).replace("\xa0", " ")

    assert "Vous avez un avoir de 20,00 €" in text  # 50 - the 30 € invoice
    assert "Votre changement d’adresse envoyé le" in text
    assert f"Signalement {report.reference}" in text
