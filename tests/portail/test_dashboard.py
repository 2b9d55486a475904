"""The admin's home page is the agent's day: today's takings, what is
unpaid and how old, who is blocked, what waits for an answer, the runs;
every figure links to the list behind it, in a fixed number of queries."""

import datetime
import re
from decimal import Decimal
from html import unescape

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from factures.models import InvoicingRun
from familles.models import AddressChangeRequest
from paiements.models import Payment
from paiements.services import payment_record_desk, payment_reverse
from portail.dashboard import agent_day
from signalements.models import Report
from tests.clock import LOCAL
from tests.conftest import STAFF_PASSWORD
from tests.factories import FamilyFactory, InvoiceFactory, StaffFactory
from tests.helpers import give_totp, staff_login_with_totp

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 11, 16, 10, 0, tzinfo=LOCAL)
TODAY = NOW.date()


def at(day, hour=10):  # noqa: ANN001, ANN201
    return datetime.datetime.combine(day, datetime.time(hour), LOCAL)


def days_ago(days, hour=10):  # noqa: ANN001, ANN201
    return at(TODAY - datetime.timedelta(days=days), hour)


def pay(family, amount, method, when, invoice=None):  # noqa: ANN001, ANN201
    with time_machine.travel(when, tick=False):
        return payment_record_desk(
            family=family,
            method=method,
            amount=Decimal(amount),
            allocations={invoice.pk: Decimal(amount)} if invoice else {},
            agent=None,
            keep_as_credit="" if invoice else "avance",
        )


def section(sections, key):  # noqa: ANN001, ANN201
    (found,) = [s for s in sections if s.key == key]
    return {
        line.label: [text.replace("\xa0", " ") for text, _url in line.cells]
        for line in found.lines
    }


def text(response) -> str:  # noqa: ANN001
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", response.text)).split())


@pytest.fixture
def superuser():
    return StaffFactory(is_superuser=True)


def test_takings_count_today_and_the_month_by_method(superuser):
    family = FamilyFactory()
    invoices = [InvoiceFactory(family=family, total=Decimal("50.00")) for _ in range(4)]
    pay(family, "12.50", Payment.Method.CASH, at(TODAY, 8), invoices[0])
    pay(family, "20.00", Payment.Method.CHEQUE, at(TODAY, 23), invoices[1])
    mistake = pay(family, "5.00", Payment.Method.CASH, at(TODAY, 9), invoices[2])
    with time_machine.travel(at(TODAY, 11), tick=False):
        payment_reverse(payment=mistake, agent=None, reason="erreur de saisie")
    pay(family, "7.00", Payment.Method.CASH, days_ago(1), invoices[3])
    # Yesterday late in the evening, local time: not today.
    pay(family, "3.00", Payment.Method.CARD_DESK, days_ago(1, hour=23))
    pay(family, "100.00", Payment.Method.CASH, at(datetime.date(2026, 10, 31), 20))

    takings = section(agent_day(superuser, today=TODAY), "takings")

    assert takings["Espèces"] == ["12,50 €", "3", "19,50 €", "4"]
    assert takings["Chèque"] == ["20,00 €", "1", "20,00 €", "1"]
    assert takings["Carte bancaire au guichet"] == ["0,00 €", "0", "3,00 €", "1"]
    assert takings["Total"] == ["32,50 €", "4", "42,50 €", "6"]


def test_unpaid_invoices_are_sorted_by_age(superuser):
    family = FamilyFactory()
    for age, total in [
        (0, "10.00"),
        (30, "11.00"),
        (31, "12.00"),
        (60, "13.00"),
        (61, "14.00"),
        (90, "15.00"),
        (91, "16.00"),
        (400, "17.00"),
    ]:
        InvoiceFactory(family=family, issued_at=days_ago(age), total=Decimal(total))
    partly = InvoiceFactory(
        family=family, issued_at=days_ago(5), total=Decimal("40.00")
    )
    pay(family, "15.00", Payment.Method.CASH, days_ago(2), partly)
    paid = InvoiceFactory(family=family, issued_at=days_ago(5), total=Decimal("9.00"))
    pay(family, "9.00", Payment.Method.CASH, days_ago(2), paid)

    unpaid = section(agent_day(superuser, today=TODAY), "unpaid")

    assert unpaid["0 à 30 jours"] == ["3", "46,00 €"]
    assert unpaid["31 à 60 jours"] == ["2", "25,00 €"]
    assert unpaid["61 à 90 jours"] == ["2", "29,00 €"]
    assert unpaid["plus de 90 jours"] == ["2", "33,00 €"]
    assert unpaid["Total"] == ["9", "133,00 €"]


# The agent logs in on that day too (a session from another day has expired).
@pytest.mark.now("2026-11-16 10:00 -04:00")
def test_each_age_links_to_the_list_of_its_invoices(staff_client):
    family = FamilyFactory()
    young = InvoiceFactory(family=family, issued_at=days_ago(3))
    old = InvoiceFactory(family=family, issued_at=days_ago(45))
    home = staff_client.get(reverse("admin:index"))
    (link,) = set(re.findall(r'href="([^"]*age=31-60[^"]*)"', home.text))
    listed = staff_client.get(unescape(link)).text

    assert f"/{old.pk}/change/" in listed
    assert f"/{young.pk}/change/" not in listed


def test_blocked_families_waiting_requests_and_credit_are_counted(superuser):
    blocked = FamilyFactory()
    for month in (5, 6, 9):
        InvoiceFactory(family=blocked, period=datetime.date(2026, month, 1))
    FamilyFactory()
    holding = FamilyFactory()
    pay(holding, "20.00", Payment.Method.CASH, days_ago(3))
    Report.objects.create(
        family=blocked,
        kind="other",
        message="?",
        reference="S-1",
        request_key="k1",
        created_at=days_ago(10),
    )
    Report.objects.create(
        family=blocked,
        kind="other",
        message="?",
        reference="S-2",
        request_key="k2",
        status=Report.Status.IN_PROGRESS,
        created_at=days_ago(2),
    )
    Report.objects.create(
        family=blocked,
        kind="refund",
        message="?",
        reference="S-3",
        request_key="k3",
        status=Report.Status.RESOLVED,
    )
    AddressChangeRequest.objects.create(
        family=holding,
        address_line1="1 rue",
        postal_code="97170",
        city="Petit-Bourg",
        request_key="a1",
        submitted_at=days_ago(4),
    )

    day = agent_day(superuser, today=TODAY)

    assert section(day, "blocked") == {"Ne peuvent pas payer par carte": ["1"]}
    assert section(day, "credits")["Familles portant un avoir"] == ["1", "20,00 €"]
    assert section(day, "reports") == {
        "Autre chose": ["1", "1", "1", days_ago(10).strftime("%d/%m/%Y")]
    }
    assert section(day, "addresses")["À valider ou refuser"] == [
        "1",
        days_ago(4).strftime("%d/%m/%Y"),
    ]


@pytest.mark.now("2026-11-16 10:00 -04:00")
def test_the_home_page_answers_the_agents_questions(staff_client):
    family = FamilyFactory()
    invoice = InvoiceFactory(family=family, total=Decimal("30.00"))
    pay(family, "30.00", Payment.Method.CASH, NOW, invoice)

    page = text(staff_client.get(reverse("admin:index")))

    assert "Votre journée" in page
    assert "Argent encaissé" in page and "Total 30,00 € 1" in page
    assert "Familles bloquées en ligne" in page
    assert "Aucun(e) disponible" not in page


def test_a_role_sees_only_what_it_may_open(client):
    reader = StaffFactory()
    reader.user_permissions.add(
        Permission.objects.get(codename="view_report"),
    )
    staff_login_with_totp(client, reader, STAFF_PASSWORD, give_totp(reader))

    page = text(client.get(reverse("admin:index")))

    assert "Signalements en attente de réponse" in page
    assert "Argent encaissé" not in page
    assert "Factures impayées par ancienneté" not in page


def test_the_dashboard_reads_the_same_number_of_queries_for_more_families(superuser):
    def grow(count):  # noqa: ANN001, ANN202
        for index in range(count):
            family = FamilyFactory()
            invoice = InvoiceFactory(family=family, issued_at=days_ago(index * 17))
            pay(family, "10.00", Payment.Method.CASH, days_ago(index % 3), invoice)
            InvoiceFactory(family=family, issued_at=days_ago(index * 11))

    def queries() -> int:
        with CaptureQueriesContext(connection) as context:
            agent_day(superuser, today=TODAY)
        return len(context)

    grow(3)
    few = queries()
    grow(12)
    many = queries()

    assert few == many
    assert many <= 14, many


def test_the_last_run_shows_its_progress_then_its_summary(superuser):
    run = InvoicingRun.objects.create(
        period=datetime.date(2026, 10, 1),
        status=InvoicingRun.Status.RUNNING,
        families_total=400,
        families_done=120,
    )
    running = section(agent_day(superuser, today=TODAY), "runs")
    InvoicingRun.objects.filter(pk=run.pk).update(
        status=InvoicingRun.Status.DONE, invoices_issued=398, total_amount="7654.30"
    )
    done = section(agent_day(superuser, today=TODAY), "runs")

    assert running["Dernière facturation"] == [
        "octobre 2026 : en cours, 120 sur 400 familles"
    ]
    assert done["Dernière facturation"] == [
        "octobre 2026 : terminée, 398 factures, 7 654,30 €"
    ]
