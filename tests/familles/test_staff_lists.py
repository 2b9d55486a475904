"""The lists agents work from, and changelists without a query per row."""

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from familles.services import family_login_create
from paiements.models import Payment
from paiements.services import payment_record_desk
from tests.factories import (
    FamilyFactory,
    GuardianFactory,
    InvoiceFactory,
    ParentFactory,
)

pytestmark = pytest.mark.django_db


def test_unpaid_invoices_export_to_csv(staff_client):
    family = FamilyFactory(name="Dorville")
    invoice = InvoiceFactory(family=family, total=Decimal("12.60"))

    response = staff_client.post(
        reverse("admin:factures_invoice_changelist") + "?state=to_pay",
        {"action": "export_csv", "_selected_action": [invoice.pk]},
    )

    assert response["Content-Type"].startswith("text/csv")
    text = response.content.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("numéro;famille")
    assert f"{invoice.number};{family.identifier};Dorville" in text
    assert "12,60;12,60;à payer" in text


def test_blocked_families_are_listed_with_their_reason(staff_client):
    blocked = FamilyFactory()
    for month in (5, 6, 9):
        InvoiceFactory(family=blocked, period=datetime.date(2026, month, 1))
    fine = FamilyFactory()
    InvoiceFactory(family=fine)

    page = staff_client.get(reverse("admin:paiements_payment_blocked")).text

    assert blocked.identifier in page and "3 factures impayées" in page
    assert fine.identifier not in page


def test_the_cash_journal_totals_a_local_day_by_agent_and_method(staff_client, staff):
    family = FamilyFactory()
    invoice = InvoiceFactory(family=family, total=Decimal("90.00"))

    def pay(when, amount, method):  # noqa: ANN001, ANN202
        with time_machine.travel(when, tick=False):
            payment_record_desk(
                family=family,
                method=method,
                amount=Decimal(amount),
                allocations={invoice.pk: Decimal(amount)},
                agent=staff,
            )

    pay("2026-11-10 08:00 -04:00", "20.00", Payment.Method.CASH)
    pay("2026-11-10 23:30 -04:00", "15.00", Payment.Method.CASH)  # 11 Nov in UTC
    pay("2026-11-10 12:00 -04:00", "30.00", Payment.Method.CHEQUE)
    pay("2026-11-11 00:30 -04:00", "5.00", Payment.Method.CASH)  # the next local day

    page = staff_client.get(
        reverse("admin:paiements_payment_journal"), {"jour": "2026-11-10"}
    )
    csv = staff_client.get(
        reverse("admin:paiements_payment_journal"),
        {"jour": "2026-11-10", "format": "csv"},
    )

    totals = dict(page.context["totals"])
    assert totals[(staff.username, "espèces")] == Decimal("35.00")
    assert totals[(staff.username, "chèque")] == Decimal("30.00")
    assert page.context["grand_total"] == Decimal("65.00")
    assert len(csv.content.decode("utf-8-sig").strip().splitlines()) == 1 + 3


def test_families_without_an_activated_login_can_be_listed(staff_client, staff):
    none = FamilyFactory()
    never = FamilyFactory()
    family_login_create(family=never, agent=staff)
    active = FamilyFactory()
    login = ParentFactory(family=active)
    login.last_login = datetime.datetime(2026, 11, 1, tzinfo=datetime.UTC)
    login.save()
    url = reverse("admin:familles_family_changelist")

    without = set(staff_client.get(url, {"acces": "aucun"}).context["cl"].result_list)
    not_activated = set(
        staff_client.get(url, {"acces": "jamais"}).context["cl"].result_list
    )

    assert none in without and never not in without
    assert never in not_activated and active not in not_activated


@pytest.mark.parametrize(
    "changelist",
    [
        "admin:familles_family_changelist",
        "admin:factures_invoice_changelist",
        "admin:paiements_payment_changelist",
        "admin:signalements_report_changelist",
        "admin:familles_guardian_changelist",
    ],
)
def test_changelists_do_not_query_once_per_row(staff_client, changelist):
    from signalements.services import report_submit

    def add_rows(count):  # noqa: ANN001, ANN202
        for _ in range(count):
            family = FamilyFactory()
            GuardianFactory(family=family)
            invoice = InvoiceFactory(family=family)
            payment_record_desk(
                family=family,
                method=Payment.Method.CASH,
                amount=Decimal("5"),
                allocations={invoice.pk: Decimal("5")},
                agent=None,
            )
            report_submit(
                family=family,
                user=None,
                kind="other",
                message="Question",
                request_key=f"k{family.pk:031d}",
            )

    def count_queries():  # noqa: ANN202
        with CaptureQueriesContext(connection) as context:
            assert staff_client.get(reverse(changelist)).status_code == 200
        return len(context)

    add_rows(3)
    few = count_queries()
    add_rows(20)
    many = count_queries()

    assert many == few


def test_the_identifier_cannot_be_edited_once_created(staff_client, family):
    page = staff_client.get(reverse("admin:familles_family_change", args=[family.pk]))

    assert "identifier" not in page.context["adminform"].form.fields
